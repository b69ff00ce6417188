"""Exports that stream (issue 16): the same bytes as before for Table 1, in constant memory,
and XLSX built by the command line as a snapshot the download link serves."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text, update
from werkzeug.http import http_date

from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.registry import export, identifiers
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.service import EntryFilters
from surveyapp.vocabulary import EntryStatus

# Captured from the exports as they were before they streamed (commit 603ebb6), on the
# registry `registry_as_captured` builds: Table 1 with a few answers, a retired entry and a
# published contact. Ids there start at 1. Public ids (added since) are minted at random,
# so the fixture sets them from the order of ids, as `_public_id` spells them.
TODAY = Path(__file__).parent / "export_today"
FIXED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def _public_id(prefix: str, number: int) -> str:
    """A valid public identifier fixed by a record's place: ``prefix`` and six digits,
    then the check digits."""
    symbols = f"{prefix}{number:06d}"
    return symbols + identifiers._check_digits(symbols)  # fixed, not minted


@pytest.fixture
def registry_as_captured(table1, ctx):
    """Table 1 changed as it was when the expected files were captured, with every time
    and public id fixed so the bytes can be compared."""
    for number, institution in enumerate(
        db.session.scalars(select(Institution).order_by(Institution.id)), 1
    ):
        institution.public_id = _public_id("c", number)  # c: centre (no i in base32)
    for number, entry in enumerate(db.session.scalars(select(Entry).order_by(Entry.id)), 1):
        entry.public_id = _public_id("e", number)
    entries = db.session.scalars(select(Entry).order_by(Entry.source_row)).all()
    entries[2].institution.answers = {
        "city": "=Wien",
        "gmp_manufacturing": "yes",
        "gmp_authorisations": ["a", "b"],
        "batches_per_year": 12,
        "biocluster_names": ["Alpha", "-Beta"],
        "facility_access_contact": "Dr Access",
    }
    entries[5].answers = {"hospital_exemption_products": ["P1", "P2"], "authorised_atmps": ["x"]}
    entries[7].status = EntryStatus.RETIRED
    entries[7].retired_reason = "closed"
    entries[9].contact_public = True
    db.session.commit()
    db.session.execute(update(Entry).values(updated_at=FIXED))
    db.session.execute(
        update(Entry).where(Entry.source_row == 3).values(confirmed_at=FIXED, updated_at=FIXED)
    )
    db.session.commit()


def _offsets() -> tuple[int, int]:
    """How far this database's ids are from the captured ones (PostgreSQL's are not 1)."""
    return (
        db.session.scalar(select(func.min(Entry.id))) - 1,
        db.session.scalar(select(func.min(Institution.id))) - 1,
    )


def expected_csv(name: str) -> bytes:
    """A captured CSV with this database's ids, written as the export writes CSV."""
    entry_offset, institution_offset = _offsets()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    reader = csv.reader(io.StringIO((TODAY / name).read_text(encoding="utf-8"), newline=""))
    header = next(reader)
    writer.writerow(header)
    entry_at, institution_at = header.index("entry_id"), header.index("institution_id")
    for row in reader:
        row[entry_at] = str(int(row[entry_at]) + entry_offset)
        row[institution_at] = str(int(row[institution_at]) + institution_offset)
        writer.writerow(row)
    return buffer.getvalue().encode()


def expected_json(name: str) -> bytes:
    """A captured JSON export with this database's ids, written as the export writes JSON
    since orjson writes it: the same records, key for key and in the same order, without
    the white space after separators that the captured files have."""
    entry_offset, institution_offset = _offsets()
    records = json.loads((TODAY / name).read_text(encoding="utf-8"))
    for record in records:
        record["id"] += entry_offset
        record["institution_id"] += institution_offset
    compact = (json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records)
    return ("[" + ",".join(compact) + "]\n").encode()


def test_the_captured_files_are_rebuilt_exactly_by_the_comparison(registry_as_captured):
    if _offsets() == (0, 0):
        for name in ("public.csv", "staff.csv"):
            assert expected_csv(name) == (TODAY / name).read_bytes()
        for name in ("public.json", "staff.json"):
            assert json.loads(expected_json(name)) == json.loads((TODAY / name).read_bytes())


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_public_exports_over_http_are_byte_for_byte_as_before(client, registry_as_captured, fmt):
    response = client.get(f"/registry/export.{fmt}")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == {"csv": "text/csv", "json": "application/json"}[fmt]
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    expected = expected_csv("public.csv") if fmt == "csv" else expected_json("public.json")
    assert response.data == expected


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_cli_exports_with_personal_data_are_byte_for_byte_as_before(
    runner, registry_as_captured, tmp_path, fmt
):
    path = tmp_path / f"registry.{fmt}"
    result = runner.invoke(
        args=["registry", "export", str(path), "--include-personal", "--include-retired"]
    )
    assert result.exit_code == 0, result.output
    assert "55 entries written" in result.output
    expected = expected_csv("staff.csv") if fmt == "csv" else expected_json("staff.json")
    assert path.read_bytes() == expected
    # formulas stay neutralised: a contact printed as "-", a city beginning with "="
    text = path.read_text(encoding="utf-8")
    if fmt == "csv":
        assert ",'-," in text and "'=Wien" in text


def test_export_records_are_the_api_records(registry_as_captured):
    exported = list(export.export_records(EntryFilters(include_retired=True), staff=True))
    entries = {e.id: e for e in db.session.scalars(select(Entry))}
    assert len(exported) == len(entries) == 55
    for record in exported:
        assert record == export.page_records([entries[record["id"]]], staff=True)[0]


def test_export_records_give_every_time_as_the_api_does(registry_as_captured):
    # an export reads times as the database holds them (text on SQLite) and rewrites them
    entries = db.session.scalars(select(Entry).order_by(Entry.source_row)).all()
    entries[0].confirmed_at = datetime(2025, 6, 7, 8, 9, 10, 123456, tzinfo=UTC)
    entries[1].confirmed_at = datetime(2025, 6, 7, 8, 9, 10, tzinfo=UTC)
    entries[2].confirmed_at = datetime(2025, 6, 7, 8, 9, 10, 5, tzinfo=UTC)
    db.session.commit()
    if db.engine.dialect.name == "sqlite":  # as a tool other than SQLAlchemy writes a time
        db.session.execute(
            text("UPDATE entry SET updated_at = '2025-06-07 08:09:10' WHERE id = :id"),
            {"id": entries[3].id},
        )
        db.session.commit()
    exported = {r["id"]: r for r in export.export_records(EntryFilters(), staff=True)}
    for entry in entries[:4]:
        assert exported[entry.id] == export.page_records([entry], staff=True)[0]
    assert exported[entries[0].id]["last_confirmed"] == "2025-06-07T08:09:10.123456+00:00"
    assert exported[entries[1].id]["last_confirmed"] == "2025-06-07T08:09:10+00:00"
    assert exported[entries[2].id]["last_confirmed"] == "2025-06-07T08:09:10.000005+00:00"


def test_an_export_holds_at_most_one_chunk_of_rows_however_many_it_writes(registry_as_captured):
    count = export.ReadCount()
    records = export.export_records(
        EntryFilters(include_retired=True), staff=True, chunk_size=7, count=count
    )
    pieces = export.to_csv(records, include_personal=True, rows_per_piece=3)
    next(pieces)  # the header
    next(pieces)  # three rows
    # rows leave as they are read: only the first chunk has been read so far
    assert count.read == 7
    rest = list(pieces)
    assert sum(piece.count("\r\n") for piece in rest) == 55 - 3
    assert count.read == 55
    assert count.most_held == 7


def test_a_json_export_reads_in_chunks_too(registry_as_captured):
    count = export.ReadCount()
    records = export.export_records(EntryFilters(), staff=False, chunk_size=10, count=count)
    assert len(json.loads("".join(export.to_json(records, records_per_piece=4)))) == 54
    assert (count.read, count.most_held) == (54, 10)


def test_filtered_exports_keep_table1_order_across_chunks(registry_as_captured):
    records = export.export_records(EntryFilters(country="DE"), staff=False, chunk_size=2)
    assert [r["source_row"] for r in records] == [9, 10, 11, 12, 13]


@pytest.fixture
def instance(app, tmp_path, monkeypatch):
    """An instance folder of the test's own, where XLSX snapshots are built."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    return tmp_path / "instance"


def test_the_xlsx_link_explains_until_a_snapshot_is_built(client, table1, instance):
    response = client.get("/registry/export.xlsx")
    assert response.status_code == 404
    assert "flask registry build-xlsx" in response.get_data(as_text=True)
    assert "built nightly" in client.get("/").get_data(as_text=True)


def test_build_xlsx_writes_the_public_snapshot_the_link_serves(
    client, runner, registry_as_captured, instance
):
    result = runner.invoke(args=["registry", "build-xlsx"])
    assert result.exit_code == 0, result.output
    path = instance / "exports" / "registry.xlsx"
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["registry.xlsx"]  # no temp file left
    response = client.get("/registry/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == export.XLSX_MIMETYPE
    assert "attachment" in response.headers["Content-Disposition"]
    built = response.last_modified
    assert built is not None
    again = client.get("/registry/export.xlsx", headers={"If-Modified-Since": http_date(built)})
    assert again.status_code == 304
    sheet = load_workbook(io.BytesIO(response.data)).active
    cells = [
        ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    expected = list(csv.reader(io.StringIO(expected_csv("public.csv").decode(), newline="")))
    assert cells == expected  # the public CSV's cells, formulas neutralised, no contacts
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    page = client.get("/").get_data(as_text=True)
    assert "built nightly" not in page
    assert f"{built.year}" in page and "UTC" in page


def test_the_cli_streams_an_xlsx_export_to_a_file(runner, registry_as_captured, tmp_path):
    path = tmp_path / "all.xlsx"
    result = runner.invoke(args=["registry", "export", str(path), "--include-personal"])
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 54
    assert "Prof. Dr. Johannes Grillari" in {r[1] for r in rows}


def test_staff_xlsx_with_contacts_is_its_own_audited_snapshot(
    client, runner, staff, registry_as_captured, instance
):
    assert client.get("/staff/registry/export.xlsx").status_code == 404
    result = runner.invoke(args=["registry", "build-xlsx", "--include-personal"])
    assert result.exit_code == 0, result.output
    path = instance / "exports" / "registry-with-contacts.xlsx"
    assert path.stat().st_mode & 0o777 == 0o640
    assert not (instance / "exports" / "registry.xlsx").exists()
    response = client.get("/staff/registry/export.xlsx")
    assert response.status_code == 200
    assert response.last_modified is not None
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert "Prof. Dr. Johannes Grillari" in {r[1] for r in sheet.iter_rows(values_only=True)}
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(["registry.build_xlsx", "registry.export"]))
    ).all()
    assert [(e.action, e.detail["include_personal"]) for e in events] == [
        ("registry.build_xlsx", True),
        ("registry.export", True),
    ]
