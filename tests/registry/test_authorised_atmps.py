"""`flask vocabulary import-atmps`: the EU-authorised ATMPs follow the world through
versions recorded in the database, checked whole, audited, never losing a product."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from surveyapp.definitions.models import VocabularyVersion
from surveyapp.definitions.vocabularies import (
    VOCABULARIES_DIR,
    codes,
    load_vocabulary,
    parse_vocabulary,
)
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.registry.authorised_atmps import (
    COLUMNS,
    SHIPPED_CSV,
    AtmpFileError,
    import_products,
    product_code,
    read_products,
)

Rows = list[dict[str, str]]


def shipped_rows() -> Rows:
    with SHIPPED_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def products_file(tmp_path: Path, edit: Callable[[Rows], None] = lambda rows: None) -> Path:
    """The shipped products CSV, edited as a test says, written to a file."""
    rows = shipped_rows()
    edit(rows)
    path = tmp_path / "atmps.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


def row_of(rows: Rows, product: str) -> dict[str, str]:
    return next(row for row in rows if row["product"] == product)


NEW_PRODUCT = {
    "product": "Qfitlia Cell-X",
    "active_substance": "autologous test cells",
    "atmp_class": "somatic cell therapy",
    "first_authorised": "2026-03-02",
    "status": "authorised",
    "status_changed": "",
    "therapeutic_area": "a test indication",
    "marketing_authorisation_holder": "Test Pharma B.V.",
    "sources": "https://example.org/a; https://example.org/b",
    "confidence": "medium",
}


def the_world_moved(rows: Rows) -> None:
    """A new product authorised, Kymriah withdrawn, and Glybera left out of the file."""
    rows.append(dict(NEW_PRODUCT))
    kymriah = row_of(rows, "Kymriah")
    kymriah["status"], kymriah["status_changed"] = "withdrawn", "2026-02-15"
    rows.remove(row_of(rows, "Glybera"))


def import_atmps(runner, path: Path, *options: str):
    return runner.invoke(args=["vocabulary", "import-atmps", str(path), *options])


def recorded_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(VocabularyVersion))


def import_events() -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "vocabulary.import"))
    )


def test_codes_come_from_product_names_as_the_shipped_ones_did():
    assert product_code("ChondroCelect") == "chondrocelect"
    assert product_code("Qfitlia Cell-X") == "qfitlia_cell_x"
    assert product_code("  MACI (EU) ") == "maci_eu"


def test_converting_the_shipped_csv_gives_exactly_the_shipped_vocabulary():
    shipped = parse_vocabulary(
        (VOCABULARIES_DIR / "authorised_atmps-v1.toml").read_text(encoding="utf-8")
    )
    assert read_products(SHIPPED_CSV.read_text(encoding="utf-8")) == list(shipped.terms)
    assert len(shipped.terms) == 31
    assert shipped.details["cut_off"] == "2026-01"


def test_an_import_records_the_next_version_with_added_changed_and_kept_products(
    ctx, runner, tmp_path
):
    path = products_file(tmp_path, the_world_moved)
    result = import_atmps(runner, path, "--note", "EMA update of March 2026")
    assert result.exit_code == 0, result.output
    assert "Recorded authorised_atmps version 2: 1 added, 1 changed, 29 unchanged, 1 kept" in (
        result.output
    )
    assert "+ Qfitlia Cell-X" in result.output
    assert "~ Kymriah: status 'authorised' -> 'withdrawn'" in result.output
    assert "~ Kymriah: status_changed '' -> '2026-02-15'" in result.output
    assert "= Glybera kept" in result.output

    latest = load_vocabulary("authorised_atmps")
    assert latest.version == 2
    assert latest.details["cut_off"] == "2026-01"
    terms = {term.code: term for term in latest.terms}
    assert len(terms) == 32
    assert terms["qfitlia_cell_x"].extra["sources"] == [
        "https://example.org/a",
        "https://example.org/b",
    ]
    assert terms["qfitlia_cell_x"].extra["holder"] == "Test Pharma B.V."
    assert terms["kymriah"].extra["status"] == "withdrawn"
    assert terms["glybera"] == load_vocabulary("authorised_atmps-v1").terms[1]
    row = db.session.scalars(select(VocabularyVersion)).one()
    assert (row.version, row.note, row.created_by.startswith("cli:")) == (
        2,
        "EMA update of March 2026",
        True,
    )
    assert load_vocabulary("authorised_atmps-v1").version == 1


def test_a_withdrawn_product_stays_answerable_and_is_marked_by_its_status(ctx, runner, tmp_path):
    assert import_atmps(runner, products_file(tmp_path, the_world_moved)).exit_code == 0
    assert {"kymriah", "glybera", "zynteglo", "qfitlia_cell_x"} <= codes("authorised_atmps")
    statuses = {t.code: t.extra["status"] for t in load_vocabulary("authorised_atmps").terms}
    assert (statuses["kymriah"], statuses["zynteglo"]) == ("withdrawn", "withdrawn")


def test_the_import_is_audited_with_its_counts_and_version(ctx, runner, tmp_path):
    assert import_atmps(runner, products_file(tmp_path, the_world_moved)).exit_code == 0
    [event] = import_events()
    assert event.target_type == "vocabulary_version"
    assert event.target_id == db.session.scalars(select(VocabularyVersion.id)).one()
    detail = event.detail
    assert (detail["vocabulary"], detail["version"], detail["previous_version"]) == (
        "authorised_atmps",
        2,
        1,
    )
    assert (detail["added"], detail["changed"], detail["unchanged"], detail["kept"]) == (
        1,
        1,
        29,
        1,
    )


def test_a_file_that_changes_nothing_records_nothing(ctx, runner, tmp_path):
    result = import_atmps(runner, products_file(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Nothing changed: the file matches authorised_atmps version 1" in result.output
    assert recorded_rows() == 0
    assert import_events() == []


def test_a_second_import_compares_with_the_version_the_first_recorded(ctx, runner, tmp_path):
    path = products_file(tmp_path, the_world_moved)
    assert import_atmps(runner, path).exit_code == 0
    again = import_atmps(runner, path)
    assert "Nothing changed: the file matches authorised_atmps version 2" in again.output
    assert "1 kept that the file does not list" in again.output

    def withdraw_the_new_one(rows: Rows) -> None:
        the_world_moved(rows)
        row_of(rows, "Qfitlia Cell-X")["status"] = "expired"
        row_of(rows, "Qfitlia Cell-X")["status_changed"] = "2027"

    third = import_atmps(runner, products_file(tmp_path, withdraw_the_new_one))
    assert "Recorded authorised_atmps version 3: 0 added, 1 changed" in third.output
    assert load_vocabulary("authorised_atmps").version == 3
    assert len(import_events()) == 2


def test_a_new_cut_off_alone_is_a_new_version(ctx, runner, tmp_path):
    result = import_atmps(runner, products_file(tmp_path), "--cut-off", "2026-04")
    assert "Recorded authorised_atmps version 2: 0 added, 0 changed" in result.output
    assert "cut-off '2026-01' -> '2026-04'" in result.output
    assert load_vocabulary("authorised_atmps").details["cut_off"] == "2026-04"


def test_a_malformed_file_is_refused_naming_every_problem_and_changes_nothing(
    ctx, runner, tmp_path
):
    def break_it(rows: Rows) -> None:
        the_world_moved(rows)  # good changes in the same file are not recorded either
        rows[0]["product"] = ""
        rows[1]["atmp_class"] = "cell therapy"
        rows[2]["status"] = "suspended"
        rows[3]["first_authorised"] = "06/09/2013"
        rows[4]["status_changed"] = "2015-13"
        rows[5]["confidence"] = "certain"
        rows[6]["product"] = "kymriah"

    result = import_atmps(runner, products_file(tmp_path, break_it))
    assert result.exit_code == 1
    assert "atmps.csv was not imported:" in result.output
    for line in (
        "row 2, column product: empty",
        "row 3, column atmp_class: 'cell therapy' is not one of gene therapy, "
        "somatic cell therapy, tissue engineered, combined",
        "row 4, column status: 'suspended' is not one of authorised, withdrawn, expired, "
        "not renewed",
        "row 5, column first_authorised: '06/09/2013' is not a date written YYYY, "
        "YYYY-MM or YYYY-MM-DD",
        "row 6, column status_changed: '2015-13' is not a date of the calendar",
        "row 7, column confidence: 'certain' is not one of high, medium, low",
        "row 11, column product: 'Kymriah' is already in row 8",
    ):
        assert line in result.output
    assert recorded_rows() == 0
    assert import_events() == []
    assert load_vocabulary("authorised_atmps").version == 1


def test_a_file_without_a_column_is_refused_naming_it(ctx, runner, tmp_path):
    def drop_confidence(rows: Rows) -> None:
        for row in rows:
            del row["confidence"]

    result = import_atmps(runner, products_file(tmp_path, drop_confidence))
    assert result.exit_code == 1
    assert "row 1, column confidence: missing" in result.output
    assert recorded_rows() == 0


def test_a_bad_cut_off_is_refused():
    with pytest.raises(AtmpFileError, match="--cut-off: 'spring' is not a date"):
        import_products(SHIPPED_CSV.read_text(encoding="utf-8"), "test", cut_off="spring")
