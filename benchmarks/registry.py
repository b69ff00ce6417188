"""Registry benchmark: import N synthetic rows, then time the registry page, API and stats.

Prints figures; asserts nothing. Usage (from the project root, inside .venv):

    python benchmarks/registry.py --entries 20000
    python benchmarks/registry.py --entries 20000 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

The PostgreSQL run drops and recreates the public schema of that database.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import text
from timing import median_ms  # benchmarks/timing.py, beside this script

import config
from surveyapp import create_app
from surveyapp.extensions import db
from surveyapp.registry.importer import import_file

COUNTRIES = ["Germany", "France", "Italy", "Spain", "Netherlands", "Poland", "Sweden", "Austria"]
TYPES = ["Gene therapy", "Somatic cell therapy", "Tissue engineering", "Cell and gene therapy"]
WORDS = [
    "Cell",
    "Gene",
    "Tissue",
    "Regenerative",
    "Translational",
    "Clinical",
    "Biomedical",
    "Immunotherapy",
    "Stem",
    "Cancer",
    "Orthopaedic",
    "Neuro",
    "Paediatric",
    "Cardio",
]
DISEASES = ["Melanoma", "GvHD", "Osteoarthritis", "Parkinson", "Hemophilia A", "Burn wounds"]
ANSWERS = ["Yes", "No", "Possible", ""]


def synthetic_csv(path: Path, entries: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    header = [
        "institution",
        "contact_person",
        "country",
        "website",
        "atmp_type",
        "patients_treated",
        "diseases_targeted",
        "diseases_pipeline",
        "contract_research",
        "routine_application",
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for number in range(entries):
            words = random.Random(number // 2).sample(WORDS, 3)
            institute = f"{words[0]} {words[1]} {words[2]} Centre {number // 2}"
            writer.writerow(
                [
                    institute,
                    f"Dr. Person {number}",
                    rng.choice(COUNTRIES),
                    f"https://site{number // 2}.example.org/",
                    rng.choice(TYPES),
                    str(rng.randint(0, 500)),
                    ", ".join(rng.sample(DISEASES, 2)),
                    "",
                    rng.choice(ANSWERS),
                    rng.choice(ANSWERS),
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir:
        url = args.database_url or f"sqlite:///{workdir}/bench.sqlite"

        class BenchConfig(config.Config):
            SQLALCHEMY_DATABASE_URI = url

        app = create_app(BenchConfig)
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as connection:
                    connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            upgrade()
            source = Path(workdir) / "synthetic.csv"
            synthetic_csv(source, args.entries)
            start = time.perf_counter()
            report = import_file(source, actor="benchmark", max_rows=args.entries + 1)
            db.session.commit()
            seconds = time.perf_counter() - start
            print(
                f"{db.engine.dialect.name}: imported {report.entries_created} entries in "
                f"{seconds:.1f} s ({report.entries_created / seconds:.0f} rows/s)"
            )
        client = app.test_client()
        for label, path in [
            ("registry page 1", "/"),
            ("registry page 100", "/?page=100"),
            ("search q=melanoma", "/?q=melanoma"),
            ("filter country+type", "/?country=DE&atmp_type=gene_therapy"),
            ("api entries per_page=500", "/api/v1/entries?per_page=500"),
            ("api stats", "/api/v1/stats"),
        ]:
            print(f"  {label:<28} {median_ms(client, path):8.1f} ms (median of 5)")


if __name__ == "__main__":
    main()
