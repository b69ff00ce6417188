"""Importing CSV and XLSX files: updates by entry_id, new rows, malformed files rejected whole."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from surveyapp.definitions import table1 as definition
from surveyapp.extensions import db
from surveyapp.history.models import Version
from surveyapp.registry.models import CurationFlag, Entry, Institution
from surveyapp.vocabulary import Answer, ChangeSource, FlagKind
from tests.conftest import write_csv

HEADER = [*definition().table1_columns]


def counts() -> tuple[int, int, int, int]:
    return (
        db.session.scalar(select(func.count(Institution.id))),
        db.session.scalar(select(func.count(Entry.id))),
        db.session.scalar(select(func.count(Version.id))),
        db.session.scalar(select(func.count(CurationFlag.id))),
    )


def row(**cells: str) -> list[str]:
    return [cells.get(column, "") for column in HEADER]


def export_csv(client) -> str:
    response = client.get("/registry/export.csv")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_an_export_reimports_without_any_change(table1, client, runner, tmp_path, ctx):
    path = tmp_path / "export.csv"
    path.write_text(export_csv(client), encoding="utf-8")
    before = counts()
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "55 unchanged" in result.output
    assert counts() == before


def test_an_xlsx_export_reimports_without_any_change(
    table1, client, runner, tmp_path, ctx, xlsx_snapshot
):
    xlsx_snapshot()  # over HTTP the XLSX is the snapshot flask registry build-xlsx builds
    path = tmp_path / "export.xlsx"
    path.write_bytes(client.get("/registry/export.xlsx").data)
    before = counts()
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert counts() == before


def test_a_row_with_entry_id_updates_that_entry_as_a_new_version(
    table1, client, runner, tmp_path, ctx
):
    rows = list(csv.DictReader(io.StringIO(export_csv(client))))
    herlev = next(r for r in rows if r["source_row"] == "4")
    herlev["patients_treated"] = "at least 150"
    herlev["routine_application"] = "Yes"
    path = tmp_path / "update.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(herlev))
        writer.writeheader()
        writer.writerow(herlev)
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 entry and 0 institutions updated" in result.output
    entry = db.session.get(Entry, int(herlev["entry_id"]))
    db.session.refresh(entry)
    assert entry.patients_estimate == 150
    assert entry.routine_application == Answer.YES
    assert entry.printed["patients_treated"] == "114"
    latest = db.session.scalars(
        select(Version).where(Version.entry_id == entry.id).order_by(Version.number.desc())
    ).first()
    assert latest.number == 2
    assert latest.source == ChangeSource.FILE_IMPORT
    assert {c.field: (c.old_text, c.new_text) for c in latest.changes} == {
        "patients_treated": ("114", "at least 150"),
        "routine_application": ("No", "Yes"),
    }
    again = runner.invoke(args=["registry", "import", str(path)])
    assert "0 entries and 0 institutions updated; 1 unchanged" in again.output


def test_an_empty_cell_in_an_update_leaves_the_field_alone(table1, runner, tmp_path, ctx):
    entry_id = db.session.scalar(select(Entry.id).where(Entry.source_row == 4))
    path = write_csv(
        tmp_path / "blank.csv",
        ["entry_id", *HEADER],
        [[str(entry_id), *row(institution="x")[:1], *[""] * (len(HEADER) - 1)]],
    )
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 0, result.output
    entry = db.session.get(Entry, entry_id)
    assert entry.patients_estimate == 114
    assert entry.institution.name == "x"


def test_new_rows_are_added_and_checked_for_duplicates(table1, runner, tmp_path, ctx):
    path = write_csv(
        tmp_path / "new.csv",
        HEADER,
        [
            row(
                institution="CCMI Galway",
                country="Ireland",
                website="https://www.nuigalway.ie/ccmi",
                atmp_type="Cell therapy",
                patients_treated="~40",
                contract_research="Possible",
            ),
            row(institution="Brand New Gene Lab", country="FR", atmp_type="Gene therapy"),
        ],
    )
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 institutions and 2 entries created" in result.output
    ccmi = db.session.scalars(select(Institution).where(Institution.name == "CCMI Galway")).one()
    entry = ccmi.entries[0]
    assert entry.patients_estimate == 40
    assert entry.printed is None
    duplicates = db.session.scalars(
        select(CurationFlag).where(
            CurationFlag.entry_id == entry.id, CurationFlag.kind == FlagKind.POSSIBLE_DUPLICATE
        )
    ).all()
    related_rows = {db.session.get(Entry, f.related_entry_id).source_row for f in duplicates}
    assert {15, 16, 17} <= related_rows
    again = runner.invoke(args=["registry", "import", str(path)])
    assert "0 institutions and 0 entries created" in again.output
    assert "2 unchanged" in again.output


def test_a_new_row_for_a_known_institution_joins_it(table1, runner, tmp_path, ctx):
    name = "Translational Center Regenerative Medicine TLC-RT Würzburg"
    path = write_csv(
        tmp_path / "wue.csv",
        HEADER,
        [row(institution=name, country="Germany", atmp_type="Combined ATMP")],
    )
    assert runner.invoke(args=["registry", "import", str(path)]).exit_code == 0
    institution = db.session.scalars(select(Institution).where(Institution.name == name)).one()
    assert len(institution.entries) == 4


def xlsx(path, rows: list[list[object]]):
    workbook = Workbook()
    for values in rows:
        workbook.active.append(values)
    workbook.save(path)
    return path


GOOD = ",".join(["Good Row Institute", "", "France", *[""] * 7])


def with_good_row(bad_row: str, header: str = ",".join(HEADER)) -> str:
    """A file whose row 2 is fine and row 3 is not: the good row must not be imported."""
    return f"{header}\n{GOOD}\n{bad_row}\n"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "header.csv",
            "institution,country,color\nX,DE,red\n",
            "row 1, column color: unknown column",
        ),
        ("missing.csv", "institution,country\nX,DE\n", "row 1: missing columns: atmp_type"),
        (
            "latin1.csv",
            with_good_row("M\xfcnchen,,DE" + "," * 7).encode("latin-1"),
            "row 3: not UTF-8 text: byte 0xfc",
        ),
        (
            "answer.csv",
            with_good_row("X,,Germany,,,,,,Maybe,"),
            "row 3, column contract_research: 'Maybe' is not one of Yes, No",
        ),
        (
            "country.csv",
            with_good_row("X,,Atlantis,,,,,,,"),
            "row 3, column country: no country is named 'Atlantis'",
        ),
        (
            "long.csv",
            with_good_row("X,,DE,,,,,,,,extra"),
            "row 3: 11 cells, but the header has 10 columns",
        ),
        (
            "cell.csv",
            with_good_row("X" * 501 + ",,DE,,,,,,,"),
            "row 3, column institution: 501 characters, at most 500 allowed",
        ),
        (
            "entry.csv",
            with_good_row("999999,X,,DE,,,,,,,", "entry_id," + ",".join(HEADER)).replace(
                GOOD, "," + GOOD
            ),
            "row 3, column entry_id: no entry has id '999999'",
        ),
        (
            "huge_id.csv",
            with_good_row("9" * 30 + ",X,,DE,,,,,,,", "entry_id," + ",".join(HEADER)).replace(
                GOOD, "," + GOOD
            ),
            "row 3, column entry_id: no entry has id '" + "9" * 30 + "'",
        ),
        ("quote.csv", with_good_row('"X,,DE,,,,,,,'), "row 3: unexpected end of data"),
        ("notes.txt", "hello", "only .csv and .xlsx files can be imported"),
    ],
)
def test_a_malformed_file_is_rejected_whole_naming_row_and_column(
    table1, runner, tmp_path, ctx, name, content, expected
):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    before = counts()
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 1
    assert f"{name} was not imported" in result.output
    assert expected in result.output
    assert counts() == before
    good = select(Institution.id).where(Institution.name == "Good Row Institute")
    assert db.session.scalar(good) is None


def test_a_malformed_xlsx_names_row_and_column(table1, runner, tmp_path, ctx):
    path = xlsx(
        tmp_path / "bad.xlsx",
        [HEADER, ["Fine", "", "Italy"], ["Bad", "", "Italy", "", "", "", "", "", "Often"]],
    )
    before = counts()
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 1
    assert "row 3, column contract_research: 'Often'" in result.output
    assert counts() == before


def test_xlsx_numbers_are_read_as_text(table1, runner, tmp_path, ctx):
    path = xlsx(
        tmp_path / "numbers.xlsx", [HEADER, ["Number Clinic", "", "Italy", "", "Cell therapy", 25]]
    )
    assert runner.invoke(args=["registry", "import", str(path)]).exit_code == 0
    entry = db.session.scalars(
        select(Entry).join(Entry.institution).where(Institution.name == "Number Clinic")
    ).one()
    assert entry.patients_estimate == 25
    assert entry.texts["patients_treated"] == "25"
