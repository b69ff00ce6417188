"""Loading RESTORE D1.4 Table 1: every row, every character, grouped, flagged, idempotent."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from surveyapp.definitions import table1 as definition
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent, Version
from surveyapp.registry import export
from surveyapp.registry.models import CurationFlag, Entry, Institution
from surveyapp.tabular import unneutralise
from surveyapp.vocabulary import (
    Answer,
    AtmpType,
    ChangeSource,
    DiseaseArea,
    FlagKind,
    PatientsQualifier,
)
from tests.conftest import TABLE1_CSV


def seed_rows() -> list[dict[str, str]]:
    with TABLE1_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def entry_at(row: int) -> Entry:
    return db.session.scalars(select(Entry).where(Entry.source_row == row)).one()


def open_flags(row: int, kind: FlagKind | None = None) -> list[CurationFlag]:
    entry = entry_at(row)
    query = select(CurationFlag).where(
        (CurationFlag.entry_id == entry.id)
        | ((CurationFlag.institution_id == entry.institution_id) & CurationFlag.entry_id.is_(None))
    )
    if kind:
        query = query.where(CurationFlag.kind == kind)
    return list(db.session.scalars(query))


def test_every_row_is_imported(table1, ctx):
    assert table1.rows == 55
    assert table1.entries_created == 55
    assert db.session.scalar(select(func.count(Entry.id))) == 55
    assert sorted(db.session.scalars(select(Entry.source_row))) == list(range(1, 56))


def test_printed_text_of_every_row_comes_back_through_the_api(table1, client):
    seed = {int(r["source_row"]): r for r in seed_rows()}
    items = client.get("/api/v1/entries?per_page=500").get_json()["items"]
    assert len(items) == 55
    public = [f.key for f in definition().fields if f.in_table1 and not f.personal]
    for item in items:
        row = seed[item["source_row"]]
        for column in public:
            assert item[column] == row[column], (item["source_row"], column)


def test_printed_text_of_every_row_comes_back_through_the_csv_export(table1, runner, tmp_path):
    target = tmp_path / "registry.csv"
    result = runner.invoke(args=["registry", "export", str(target), "--include-personal"])
    assert result.exit_code == 0, result.output
    exported = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(exported) == 55
    for printed, row in zip(seed_rows(), exported, strict=True):
        for column in definition().table1_columns:
            assert unneutralise(row[column]) == printed[column], (printed["source_row"], column)
        assert row["source_row"] == printed["source_row"]


def test_entries_keep_the_printed_row_verbatim(table1, ctx):
    for printed in seed_rows():
        entry = entry_at(int(printed["source_row"]))
        assert entry.printed == {c: printed[c] for c in definition().table1_columns}


def test_rows_9_to_11_are_one_institution_with_three_entries(table1, ctx):
    institution = entry_at(9).institution
    assert [e.source_row for e in institution.entries] == [9, 10, 11]
    assert institution.name == "Translational Center Regenerative Medicine TLC-RT Würzburg"
    assert institution.country_code == "DE"
    assert [t for e in institution.entries for t in e.atmp_types] == [
        AtmpType.TISSUE_ENGINEERED,
        AtmpType.SOMATIC_CELL_THERAPY,
        AtmpType.GENE_THERAPY,
    ]
    assert db.session.scalar(select(func.count(Institution.id))) == 52


def test_disagreeing_rows_of_one_institution_are_flagged(table1, ctx):
    conflicts = open_flags(10, FlagKind.INSTITUTION_CONFLICT)
    assert [f.field for f in conflicts] == ["website"]
    assert "https://www.regenerative-'" in conflicts[0].reason
    assert "row 9" in conflicts[0].reason
    # Each row still shows the website it printed.
    assert export.page_records([entry_at(10)], staff=False)[0]["website"] == (
        "https://www.regenerative-"
    )
    assert export.page_records([entry_at(9)], staff=False)[0]["website"] == (
        "https://www.regenerative-therapien.fraunhofer.de/en/fields-"
    )


def test_values_are_mapped_to_controlled_vocabularies(table1, ctx):
    herlev = entry_at(4)
    assert herlev.institution.country_code == "DK"
    assert herlev.atmp_types == [AtmpType.SOMATIC_CELL_THERAPY]
    assert (herlev.patients_estimate, herlev.patients_qualifier) == (114, PatientsQualifier.EXACT)
    assert herlev.contract_research == Answer.YES
    assert herlev.routine_application == Answer.NO
    assert DiseaseArea.ONCOLOGY in herlev.disease_areas
    assert entry_at(54).institution.country_code == "US"
    assert entry_at(3).institution.country_code == "CZ"
    assert entry_at(51).routine_application == Answer.CLINICAL_TRIALS_ONLY
    assert entry_at(36).routine_application == Answer.CLINICAL_TRIALS_ONLY
    assert entry_at(19).diseases_targeted == [
        "CDKL5",
        "FOXG1",
        "IQSEC2)",
        "Parkinson (LRRK2)",
        "Pompe disease",
    ]
    omics = entry_at(14)
    assert omics.atmp_types == []
    assert omics.atmp_other == "Omics; bioinformatics; biomarkers discovery"


def test_unmappable_values_are_kept_and_flagged_with_a_reason(table1, ctx):
    expectations = {
        (39, "country"): "Republic of",
        (39, "contact_person"): "'-'",
        (34, "patients_treated"): "100s",
        (52, "patients_treated"): "Currently GMP R&D",
        (7, "website"): "cut off",
        (43, "website"): "cut off",
        (45, "institution"): "cut at its start",
        (48, "contact_person"): "surname is cut",
    }
    for (row, field), fragment in expectations.items():
        reasons = [f.reason for f in open_flags(row) if f.field == field]
        assert any(fragment in reason for reason in reasons), (row, field, reasons)
    republic = entry_at(39)
    assert republic.institution.country_code is None
    assert export.page_records([republic], staff=True)[0]["country"] == "Republic of"
    assert export.page_records([republic], staff=True)[0]["contact_person"] == "-"
    assert entry_at(34).patients_estimate is None


def test_likely_duplicates_are_flagged_never_merged(table1, ctx):
    def related(row: int) -> set[int]:
        flags = open_flags(row, FlagKind.POSSIBLE_DUPLICATE)
        return {db.session.get(Entry, f.related_entry_id).source_row for f in flags}

    assert 16 in related(17)
    assert 49 in related(52)
    assert 24 in related(30)
    assert {24, 30} <= related(31)
    for row in (16, 17, 49, 52, 24, 30, 31):
        assert entry_at(row).is_active
    assert entry_at(16).institution_id != entry_at(17).institution_id


def test_a_second_import_changes_nothing(table1, runner, ctx):
    before = (
        db.session.scalar(select(func.count(Version.id))),
        db.session.scalar(select(func.count(CurationFlag.id))),
        db.session.scalar(select(func.count(Institution.id))),
    )
    result = runner.invoke(args=["registry", "import-table1"])
    assert result.exit_code == 0, result.output
    assert "0 entries created" in result.output
    assert "55 unchanged" in result.output
    after = (
        db.session.scalar(select(func.count(Version.id))),
        db.session.scalar(select(func.count(CurationFlag.id))),
        db.session.scalar(select(func.count(Institution.id))),
    )
    assert after == before


def test_if_empty_skips_a_registry_that_has_entries(table1, runner):
    result = runner.invoke(args=["registry", "import-table1", "--if-empty"])
    assert result.exit_code == 0
    assert "already has entries" in result.output


def test_the_import_writes_versions_and_an_audit_event(table1, ctx):
    entry = entry_at(4)
    versions = db.session.scalars(select(Version).where(Version.entry_id == entry.id)).all()
    assert len(versions) == 1
    assert versions[0].source == ChangeSource.TABLE1_IMPORT
    assert versions[0].source_ref == "restore_d14_table1.csv"
    changed = {c.field: c for c in versions[0].changes}
    assert changed["patients_treated"].old_value == {"estimate": None, "qualifier": None}
    assert changed["patients_treated"].new_value == {"estimate": 114, "qualifier": "exact"}
    assert changed["patients_treated"].new_text == "114"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "registry.import_table1")
    ).one()
    assert event.detail["entries_created"] == 55


def test_import_cli_reports_what_it_did(runner):
    result = runner.invoke(args=["registry", "import-table1", "--verbose"])
    assert result.exit_code == 0, result.output
    assert "55 rows read" in result.output
    assert "52 institutions and 55 entries created" in result.output
    assert "Table 1 row 39, country: no country is named 'Republic of'" in result.output
