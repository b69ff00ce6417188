"""Export benchmark: generate 10,000 and 100,000 entries, then time each export format by
each path (the ``flask registry export`` command and HTTP through the test client) and
measure its peak memory above the process's baseline; then time two releases
(``flask registry release``: CSV, JSON, XLSX, data package, changelog and hashes), the second
with a changelog comparing every row with the first.

Prints figures; asserts nothing. Usage (from the project root, inside .venv):

    python benchmarks/export.py
    python benchmarks/export.py --sizes 100000 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

The PostgreSQL run drops and recreates the public schema of that database.

Each measurement runs in a fresh Python process of its own (this script with
``--measure``), so one export's memory never counts towards another's. That process builds
the application, warms up (one small export), then reads its resident set size (VmRSS) as
the baseline and resets the kernel's high-water mark (``/proc/self/clear_refs``); after the
export, the figure is the high-water mark (VmHWM) minus the baseline. On SQLite that figure
includes up to 64 MiB of SQLite's own page cache (``PRAGMA cache_size`` in
surveyapp/database.py), which a long export fills and which stays at that bound however
many entries there are. XLSX is timed through
the command line only: over HTTP it is a snapshot file built by ``flask registry
build-xlsx``, which is the same code as the command.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import insert, text

import config
from surveyapp import create_app
from surveyapp.extensions import db
from surveyapp.registry.models import Entry, EntryAtmpType, EntryDiseaseArea, Institution
from surveyapp.vocabulary import Answer, AtmpType, DiseaseArea, PatientsQualifier

COUNTRIES = [("Germany", "DE"), ("France", "FR"), ("Italy", "IT"), ("Spain", "ES")]
COUNTRIES += [("Netherlands", "NL"), ("Poland", "PL"), ("Sweden", "SE"), ("Austria", "AT")]
WORDS = ["Cell", "Gene", "Tissue", "Regenerative", "Translational", "Clinical", "Stem"]
WORDS += ["Biomedical", "Immunotherapy", "Cancer", "Orthopaedic", "Neuro", "Cardio"]
DISEASES = ["Melanoma", "GvHD", "Osteoarthritis", "Parkinson", "Hemophilia A", "Burn wounds"]
PLATFORMS = ["car_t", "aav", "lentiviral", "ipsc", "msc"]
BATCH = 5000


def _config(url: str) -> type[config.Config]:
    class BenchConfig(config.Config):
        SQLALCHEMY_DATABASE_URI = url

    return BenchConfig


def generate(url: str, entries: int, seed: int = 7) -> float:
    """A fresh database with ``entries`` entries, two per institution, their texts printed
    as Table 1 prints them and some answers beyond Table 1; returns seconds taken. Rows are
    inserted in bulk (the importer's duplicate checks would dominate the run)."""
    rng = random.Random(seed)
    app = create_app(_config(url))
    start = time.perf_counter()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        now = datetime.now(UTC)
        for first in range(0, entries, BATCH):
            numbers = range(first, min(first + BATCH, entries))
            institutions, rows, types, areas = [], [], [], []
            for number in numbers:
                if number % 2 == 0:
                    country, code = rng.choice(COUNTRIES)
                    name = " ".join(rng.sample(WORDS, 3)) + f" Centre {number // 2}"
                    texts = {
                        "institution": name,
                        "country": country,
                        "website": f"https://site{number // 2}.example.org/",
                    }
                    institutions.append(
                        {
                            "id": number // 2 + 1,
                            "name": name,
                            "country_code": code,
                            "website": texts["website"],
                            "website_domain": f"site{number // 2}.example.org",
                            "printed": texts,
                            "texts": texts,
                            "answers": {
                                "city": f"City {number % 97}",
                                "gmp_manufacturing": rng.choice(["yes", "no", "planned"]),
                                "technology_platforms": rng.sample(PLATFORMS, 2),
                                "batches_per_year": rng.randint(0, 400),
                            },
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                atmp = rng.choice(list(AtmpType))
                diseases = rng.sample(DISEASES, 2)
                answer = rng.choice(list(Answer))
                patients = rng.randint(0, 500)
                texts = {
                    "contact_person": f"Dr. Person {number}",
                    "atmp_type": atmp.value.replace("_", " ").capitalize(),
                    "patients_treated": str(patients),
                    "diseases_targeted": ", ".join(diseases),
                    "diseases_pipeline": "",
                    "contract_research": answer.value.capitalize(),
                    "routine_application": "No",
                }
                rows.append(
                    {
                        "id": number + 1,
                        "institution_id": number // 2 + 1,
                        "source_row": number + 1,
                        "contact_person": texts["contact_person"],
                        "contact_email": f"person{number}@site{number // 2}.example.org",
                        "contact_public": number % 10 == 0,
                        "patients_estimate": patients,
                        "patients_qualifier": PatientsQualifier.EXACT,
                        "diseases_targeted": diseases,
                        "diseases_pipeline": [],
                        "contract_research": answer,
                        "routine_application": Answer.NO,
                        "printed": texts,
                        "texts": texts,
                        "answers": {"hospital_exemption_products": ["Product A"]}
                        if number % 5 == 0
                        else {},
                        "search_text": " ".join(texts.values()).lower(),
                        "disease_text": ", ".join(diseases).lower(),
                        "country_code": institutions[-1]["country_code"] if institutions else None,
                        "filled_fields": 9,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                types.append({"entry_id": number + 1, "atmp_type": atmp})
                areas.append(
                    {"entry_id": number + 1, "disease_area": rng.choice(list(DiseaseArea))}
                )
            if institutions:
                db.session.execute(insert(Institution), institutions)
            db.session.execute(insert(Entry), rows)
            db.session.execute(insert(EntryAtmpType), types)
            db.session.execute(insert(EntryDiseaseArea), areas)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            for table in ("institution", "entry"):
                db.session.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")  # noqa: S608 - fixed names
                )
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
        db.engine.dispose()
    return time.perf_counter() - start


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise SystemExit(f"/proc/self/status has no {field}")


def measure(url: str, path: str, fmt: str, workdir: Path) -> dict[str, float]:
    """One export in this process: seconds (wall clock, and of CPU: on a shared machine
    the gap between them is time other processes took) and peak MB above the baseline."""
    app = create_app(_config(url))
    app.config["RELEASES_DIR"] = workdir / "releases"
    target = workdir / f"export.{fmt}"
    runner = app.test_cli_runner()
    client = app.test_client()

    def run() -> int:
        if path == "release":  # fmt is the version; each size's database has its own folder
            result = runner.invoke(args=["registry", "release", fmt])
            if result.exit_code != 0:
                raise SystemExit(result.output)
            folder = Path(app.config["RELEASES_DIR"]) / fmt
            return sum(f.stat().st_size for f in folder.iterdir())
        if path == "cli":
            result = runner.invoke(args=["registry", "export", str(target), "--format", fmt])
            if result.exit_code != 0:
                raise SystemExit(result.output)
            return target.stat().st_size
        response = client.get(f"/registry/export.{fmt}", buffered=False)
        if response.status_code != 200:
            raise SystemExit(f"HTTP {response.status_code}")
        size = sum(len(piece) for piece in response.response)
        response.close()
        return size

    with app.app_context():  # warm up: imports, definitions, the first connection
        db.session.execute(text("SELECT 1"))
    if path == "http":
        client.get("/registry/export.csv?country=XX")
    baseline = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    start, cpu_start = time.perf_counter(), time.process_time()
    size = run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = _status_kb("VmHWM")
    return {"s": seconds, "cpu_s": cpu, "mb": (peak - baseline) / 1024, "bytes": size}


def _measure_in_child(url: str, path: str, fmt: str, workdir: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--measure", path, fmt, "--database-url", url]
    command += ["--workdir", str(workdir)]
    result = subprocess.run(  # noqa: S603 - this script, an argument list, no shell
        command, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def _line(fmt: str, path: str, size: int, got: dict[str, float]) -> str:
    """One measurement as a line of the report."""
    return (
        f"  {fmt:<4} {path:<4} {size:>7} entries: {got['s']:6.2f} s ({got['cpu_s']:5.2f} s CPU), "
        f"peak {got['mb']:6.1f} MB above baseline, {got['bytes'] / 1e6:6.1f} MB out"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="entries, comma-separated")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--measure", nargs=2, metavar=("PATH", "FORMAT"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        figures = measure(args.database_url, *args.measure, Path(args.workdir))
        print(json.dumps(figures))
        return

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for size in [int(s) for s in args.sizes.split(",")]:
            url = args.database_url or f"sqlite:///{workdir}/bench-{size}.sqlite"
            seconds = generate(url, size)
            print(f"{url.split(':')[0]}: generated {size} entries in {seconds:.1f} s")
            print(f"  (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
            for fmt, paths in (("csv", ("cli", "http")), ("json", ("cli", "http"))):
                for path in paths:
                    got = _measure_in_child(url, path, fmt, Path(workdir))
                    print(_line(fmt, path, size, got))
                    if size == 100000:
                        key = f"export_{fmt}_100k"
                        figures[f"{key}_s"] = max(figures.get(f"{key}_s", 0), got["s"])
                        figures[f"{key}_mb"] = max(figures.get(f"{key}_mb", 0), got["mb"])
            got = _measure_in_child(url, "cli", "xlsx", Path(workdir))
            print(_line("xlsx", "cli", size, got))
            # The first release, then a second whose changelog compares every row with it.
            releases = Path(workdir) / f"size-{size}"  # this database's releases folder
            releases.mkdir()
            for version in ("1.0", "1.1"):
                got = _measure_in_child(url, "release", version, releases)
                print(_line(version, "release", size, got).replace(" MB out", " MB of files"))
                if size == 100000:
                    figures["release_100k_s"] = max(figures.get("release_100k_s", 0), got["s"])
    print("(RESULT: the slower and larger of the CLI and HTTP paths for each format; the")
    print(" slower of the two releases, each writing CSV, JSON, XLSX and the rest)")
    print("RESULT " + " ".join(f"{k}={v:.2f}" for k, v in figures.items()))


if __name__ == "__main__":
    os.environ.setdefault("FLASK_APP", "surveyapp")
    main()
