"""A release freezes the public registry as it is at that moment into files that never
change, hashed, described by a data package and a citation file, with a changelog since
the previous release read from the two releases' files."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import stat
import time

import frictionless
import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import select

from surveyapp.definitions import table1 as table1_definition
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.history.service import Provenance
from surveyapp.registry import export, service
from surveyapp.registry.merging import merge_institutions
from surveyapp.registry.models import Entry
from surveyapp.registry.service import EntryFilters
from surveyapp.releases import changelog, publishing
from surveyapp.releases.models import Release, ReleaseFile, ReleasesAreImmutable
from surveyapp.vocabulary import ChangeSource
from tests.conftest import institution_of_row

CURATOR = Provenance(ChangeSource.STAFF_EDIT, "curator@example.org")
FILES = {
    "registry.csv",
    "registry.json",
    "registry.xlsx",
    "institutions.csv",
    "institutions.json",
    "datapackage.json",
    "changelog.json",
    "CHANGELOG.md",
    "CITATION.cff",
    "SHA256SUMS",
}


def entry_of_row(row: int) -> Entry:
    return db.session.scalars(select(Entry).where(Entry.source_row == row)).one()


def csv_rows(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_release_holds_the_public_registry_as_the_export_writes_it(table1, release):
    made = release("1.0", "First citable release")
    folder = publishing.release_dir("1.0")
    assert {f.name for f in made.files} == FILES == {p.name for p in folder.iterdir()}
    public = "".join(
        export.to_csv(export.export_records(EntryFilters(include_retired=True), staff=False), False)
    )
    assert (folder / "registry.csv").read_bytes().decode() == public
    assert json.loads((folder / "registry.json").read_text(encoding="utf-8")) == list(
        export.export_records(EntryFilters(include_retired=True), staff=False)
    )
    sheet = load_workbook(folder / "registry.xlsx", read_only=True)["registry"]
    with (folder / "registry.csv").open(encoding="utf-8", newline="") as handle:
        assert [[c or "" for c in row] for row in sheet.iter_rows(values_only=True)] == list(
            csv.reader(handle)
        )
    assert made.entry_count == 55 and made.institution_count == table1.institutions_created
    assert made.notes == "First citable release" and made.previous_version is None
    institutions = csv_rows(folder / "institutions.csv")
    assert len(institutions) == made.institution_count
    assert {row["public_id"] for row in institutions} == {
        row["institution_public_id"] for row in csv_rows(folder / "registry.csv")
    }


def test_a_release_holds_no_personal_data_even_where_the_contact_consented(table1, release):
    """The live registry shows a consented contact; a release, which can never be changed,
    holds none, so a later withdrawal of consent or an erasure never meets a frozen copy."""
    consenting = entry_of_row(1)
    consenting.contact_public = True
    db.session.commit()
    release("1.0")
    folder = publishing.release_dir("1.0")
    rows = {r["source_row"]: r for r in csv_rows(folder / "registry.csv")}
    assert consenting.texts["contact_person"] and rows["1"]["contact_person"] == ""
    assert all(row["contact_person"] == "" for row in rows.values())
    assert '"contact_person":null' in (folder / "registry.json").read_text(encoding="utf-8")
    assert consenting.texts["contact_person"] not in "".join(
        path.read_text(encoding="utf-8", errors="replace") for path in folder.iterdir()
    )


def test_every_file_is_hashed_read_only_and_listed_in_sha256sums(table1, release):
    made = release("1.0")
    folder = publishing.release_dir("1.0")
    for published in made.files:
        path = folder / published.name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == published.sha256
        assert published.size == path.stat().st_size
        assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    listed = dict(
        reversed(line.split("  ")) for line in (folder / "SHA256SUMS").read_text().splitlines()
    )
    assert listed == {f.name: f.sha256 for f in made.files if f.name != "SHA256SUMS"}
    assert (
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "release.create"))
        .one()
        .detail["version"]
        == "1.0"
    )


def test_the_data_package_validates_with_the_frictionless_library(table1, release):
    release("1.0")
    folder = publishing.release_dir("1.0")
    report = frictionless.validate(folder / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = json.loads((folder / "datapackage.json").read_text())
    assert package["version"] == "1.0" and package["licenses"][0]["name"] == "CC-BY-4.0"
    assert "RESTORE" in package["sources"][0]["title"] and package["contributors"]
    fields = {f["name"]: f for f in package["resources"][0]["schema"]["fields"]}
    assert [
        f["name"] for f in package["resources"][0]["schema"]["fields"]
    ] == export.export_columns(False)
    assert fields["batches_per_year"]["type"] == "integer"
    assert fields["institution"]["title"] and fields["public_id"]["constraints"]["unique"]


def test_the_schema_follows_the_definitions_and_checks_their_values(
    test_questionnaires, table1, release
):
    """The test-only definitions add fields of every generic type; a value of each type
    is stored, and the package still validates with typed columns."""
    entry = entry_of_row(9)
    service.change_fields(
        entry.institution,
        {
            "gmp": service.FieldUpdate("yes", ""),
            "lots_per_year": service.FieldUpdate(12, ""),
            "cleanroom_area": service.FieldUpdate("12.5", ""),
            "authorised_on": service.FieldUpdate("2025-03-01", ""),
        },
        CURATOR,
    )
    service.change_fields(
        entry,
        {
            "platforms": service.FieldUpdate(["car_t", "aav"], ""),
            "partners": service.FieldUpdate(["Uni A", "=cmd|' /C calc'!A0"], ""),
        },
        CURATOR,
    )
    db.session.commit()
    release("1.0")
    folder = publishing.release_dir("1.0")
    schema = json.loads((folder / "datapackage.json").read_text())["resources"][0]["schema"]
    types = {f["name"]: f["type"] for f in schema["fields"]}
    assert types["lots_per_year"] == "integer" and types["cleanroom_area"] == "number"
    assert types["authorised_on"] == "date" and types["platforms"] == "string"
    report = frictionless.validate(folder / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    row = {r["public_id"]: r for r in csv_rows(folder / "registry.csv")}[entry.public_id]
    assert row["lots_per_year"] == "12" and row["authorised_on"] == "2025-03-01"
    assert row["partners"] == "Uni A; =cmd|' /C calc'!A0"  # a list's cell starts harmlessly


def test_the_citation_file_is_valid_cff(table1, release, app):
    made = release("1.0")
    cff = yaml.safe_load(
        (publishing.release_dir("1.0") / "CITATION.cff").read_text(encoding="utf-8")
    )
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "dataset"
    assert cff["version"] == "1.0" and cff["license"] == "CC-BY-4.0"
    assert str(cff["date-released"]) == made.created_at.date().isoformat()
    assert cff["authors"] == [{"name": name} for name in app.config["RELEASE_AUTHORS"]]


def test_a_change_after_a_release_is_not_in_it_and_is_in_the_next_changelog(table1, release):
    first = release("1.0")
    before = {f.name: f.sha256 for f in first.files}
    entry = entry_of_row(3)
    old_text = entry.texts["patients_treated"]
    updates, _ = service.updates_from_text(
        table1_definition().level_fields("entry"), {"patients_treated": "250"}
    )
    service.change_fields(entry, updates, CURATOR)
    db.session.commit()

    second = release("1.1")
    assert publishing.verify_release("1.0") and all(
        c.intact for c in publishing.verify_release("1.0")
    )
    assert {f.name: f.sha256 for f in publishing.get_release("1.0").files} == before
    old = {r["public_id"]: r for r in csv_rows(publishing.release_dir("1.0") / "registry.csv")}
    assert old[entry.public_id]["patients_treated"] == old_text
    changes = changelog.read(publishing.release_dir("1.1"))
    changed = {item["public_id"]: item for item in changes["entries"]["changed"]}
    fields = {c["field"]: c for c in changed[entry.public_id]["changes"]}
    assert fields["patients_treated"] == {
        "field": "patients_treated",
        "old": old_text,
        "new": "250",
    }
    assert second.previous_version == "1.0" and second.changes["entries_changed"] == 1
    assert "patients_treated" in (publishing.release_dir("1.1") / "CHANGELOG.md").read_text()


def test_the_changelog_names_additions_retirements_and_merges(table1, release, make_entry):
    release("1.0")
    keep, retire = institution_of_row(9), institution_of_row(12)
    merge_institutions(keep, retire, "curator@example.org")
    retired = entry_of_row(5)
    service.retire_entry(retired, "Closed in 2026", CURATOR)
    added = db.session.get(Entry, make_entry("Nova Cell Centre", "AT"))
    db.session.commit()

    made = release("1.1")
    changes = changelog.read(publishing.release_dir("1.1"))
    assert [i["public_id"] for i in changes["entries"]["retired"]] == [retired.public_id]
    assert changes["entries"]["retired"][0]["reason"] == "Closed in 2026"
    assert {"field": "status", "old": "active", "new": "retired"} in changes["entries"]["retired"][
        0
    ]["changes"]
    assert [i["public_id"] for i in changes["entries"]["added"]] == [added.public_id]
    merged = changes["institutions"]["merged"]
    assert [(i["public_id"], i["label"], i["into"]) for i in merged] == [
        (retire.public_id, retire.name, keep.public_id)
    ]
    moved = {i["public_id"]: i for i in changes["entries"]["changed"]}
    assert all(
        {"field": "institution_public_id", "old": retire.public_id, "new": keep.public_id}
        in moved[e.public_id]["changes"]
        for e in keep.entries
        if e.source_row == 12
    )
    assert made.changes["entries_retired"] == 1 and made.changes["institutions_merged"] == 1


def test_identifiers_stay_the_same_from_release_to_release(table1, release):
    release("1.0")
    release("1.1")
    ids = [
        [
            (r["entry_id"], r["public_id"])
            for r in csv_rows(publishing.release_dir(v) / "registry.csv")
        ]
        for v in ("1.0", "1.1")
    ]
    assert ids[0] == ids[1]
    assert changelog.read(publishing.release_dir("1.1"))["counts"] == dict.fromkeys(
        changelog.read(publishing.release_dir("1.1"))["counts"], 0
    )


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("v1", "is not a release version"),
        ("1", "is not a release version"),
        ("1.0-beta", "is not a release version"),
        ("1.0", "needs a higher version than 1.0"),
        ("0.9", "needs a higher version than 1.0"),
    ],
)
def test_a_version_must_be_numbers_above_the_latest(table1, release, version, message):
    release("1.0")
    with pytest.raises(publishing.ReleaseError, match=message):
        publishing.make_release(version, "", "curator@example.org")


def test_1_10_comes_after_1_9(table1, release):
    release("1.9")
    assert release("1.10").previous_version == "1.9"
    assert publishing.latest_release().version == "1.10"
    assert publishing.next_version(publishing.latest_release()) == "1.11"


def test_a_release_can_never_be_changed_or_deleted(table1, release):
    made = release("1.0")
    made.notes = "rewritten"
    with pytest.raises(ReleasesAreImmutable):
        db.session.flush()
    db.session.rollback()
    made = publishing.get_release("1.0")
    db.session.delete(made.files[0])
    with pytest.raises(ReleasesAreImmutable):
        db.session.flush()
    db.session.rollback()
    db.session.delete(publishing.get_release("1.0"))
    with pytest.raises(ReleasesAreImmutable):
        db.session.flush()
    db.session.rollback()
    publishing.get_release("1.0").files.append(
        ReleaseFile(name="extra.csv", media_type="text/csv", size=1, sha256="0" * 64)
    )
    with pytest.raises(ReleasesAreImmutable):
        db.session.flush()
    db.session.rollback()
    db.session.add(
        ReleaseFile(
            release_id=publishing.get_release("1.0").id,
            name="extra.csv",
            media_type="text/csv",
            size=1,
            sha256="0" * 64,
        )
    )
    with pytest.raises(ReleasesAreImmutable, match="gains no file"):
        db.session.flush()


def test_a_release_published_meanwhile_makes_a_draft_start_again(table1, release):
    release("1.0")
    first = publishing.prepare_release("1.1", "")
    second = publishing.prepare_release("1.2", "")
    publishing.publish_release(first, "curator@example.org")
    db.session.commit()
    with pytest.raises(publishing.ReleaseError, match=r"1\.1 was published meanwhile"):
        publishing.publish_release(second, "curator@example.org")
    db.session.rollback()
    publishing.discard_draft_folder(second.folder)
    assert release("1.2").previous_version == "1.1"


def test_folders_of_builds_abandoned_a_day_ago_are_swept(table1, release, releases_dir):
    releases_dir.mkdir(parents=True)
    abandoned, running = releases_dir / ".1.0-killed", releases_dir / ".1.0-running"
    for folder in (abandoned, running):
        folder.mkdir()
        (folder / "registry.csv").write_text("half")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(abandoned, (two_days_ago, two_days_ago))
    release("1.0")
    assert not abandoned.exists() and running.exists()


def test_a_failed_publication_leaves_no_folder_behind(table1, ctx, releases_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(publishing.metadata, "write_citation", broken)
    with pytest.raises(OSError, match="disk full"):
        publishing.make_release("1.0", "", "curator@example.org")
    assert list(releases_dir.iterdir()) == []
    assert db.session.scalar(select(Release)) is None


def test_verify_release_finds_a_tampered_or_missing_file(table1, release, runner):
    release("1.0")
    ok = runner.invoke(args=["registry", "verify-release", "1.0"])
    assert ok.exit_code == 0 and "all 10 files are as published" in ok.output
    folder = publishing.release_dir("1.0")
    tampered = folder / "registry.csv"
    tampered.chmod(0o644)
    tampered.write_text(tampered.read_text() + "forged,row\r\n")
    (folder / "CITATION.cff").unlink()
    broken = runner.invoke(args=["registry", "verify-release", "1.0"])
    assert broken.exit_code == 1
    assert "CHANGED  registry.csv" in broken.output and "MISSING  CITATION.cff" in broken.output
    assert "2 of 10 files differ" in broken.output
    unknown = runner.invoke(args=["registry", "verify-release", "7.0"])
    assert unknown.exit_code == 1 and "There is no release 7.0." in unknown.output


def test_the_command_makes_a_release_and_explains_refusals(table1, runner, ctx):
    made = runner.invoke(args=["registry", "release", "1.0", "--notes", "For the CoE call"])
    assert made.exit_code == 0, made.output
    assert "Release 1.0: 55 entries" in made.output
    assert publishing.get_release("1.0").notes == "For the CoE call"
    again = runner.invoke(args=["registry", "release", "1.0"])
    assert again.exit_code == 1 and "needs a higher version" in again.output
    second = runner.invoke(args=["registry", "release", "1.1"])
    assert "Since 1.0: 0 entries added, 0 changed, 0 retired" in second.output
