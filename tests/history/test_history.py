"""Versions record every change with old and new values; the audit log is append-only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent, AuditLogIsAppendOnly, Version
from surveyapp.history.service import Provenance, audit
from surveyapp.registry.models import Entry, RegistryInvariantError
from surveyapp.registry.service import (
    FieldUpdate,
    RegistryError,
    change_fields,
    history,
    retire_entry,
    shown_text,
)
from surveyapp.vocabulary import ChangeSource, EntryStatus

EDIT = Provenance(ChangeSource.STAFF_EDIT, "curator@example.org", comment="checked by phone")


def test_a_change_is_a_new_version_with_old_and_new_values(table1, ctx):
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 34)).one()
    version = change_fields(
        entry,
        {
            "patients_treated": FieldUpdate(
                {"estimate": 300, "qualifier": "at_least"}, "at least 300"
            )
        },
        EDIT,
    )
    db.session.commit()
    assert version.number == 2
    assert version.actor == "curator@example.org"
    assert version.source == ChangeSource.STAFF_EDIT
    (change,) = version.changes
    assert (change.old_text, change.new_text) == ("100s", "at least 300")
    assert change.old_value == {"estimate": None, "qualifier": None}
    assert shown_text(entry, "patients_treated") == "at least 300"
    assert entry.printed["patients_treated"] == "100s"
    assert [v.number for v in history(entry)] == [2, 1]


def test_an_unchanged_value_writes_no_version(table1, ctx):
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 4)).one()
    update = {"patients_treated": FieldUpdate({"estimate": 114, "qualifier": "exact"}, "114")}
    assert change_fields(entry, update, EDIT) is None


def test_an_institution_change_replaces_the_printed_text_of_all_its_entries(table1, ctx):
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 10)).one()
    change_fields(
        entry.institution,
        {"website": FieldUpdate("https://www.tlc-rt.example/", "https://www.tlc-rt.example/")},
        EDIT,
    )
    for sibling in entry.institution.entries:
        assert shown_text(sibling, "website") == "https://www.tlc-rt.example/"
    assert entry.printed["website"] == "https://www.regenerative-"


def test_entries_are_retired_with_a_reason_never_deleted(table1, ctx):
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 7)).one()
    with pytest.raises(RegistryError, match="needs a reason"):
        retire_entry(entry, "  ", EDIT)
    version = retire_entry(entry, "Programme closed in 2024", EDIT)
    db.session.commit()
    assert entry.status == EntryStatus.RETIRED
    assert version.changes[0].new_text == "Programme closed in 2024"
    with pytest.raises(RegistryError, match="already retired"):
        retire_entry(entry, "again", EDIT)


def test_printed_text_cannot_be_rewritten_nor_entries_deleted(table1, ctx):
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 34)).one()
    entry.printed = {**entry.printed, "patients_treated": "200"}
    with pytest.raises(RegistryInvariantError, match="kept as printed"):
        db.session.flush()
    db.session.rollback()
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 34)).one()
    db.session.delete(entry)
    with pytest.raises(RegistryInvariantError, match="retire it"):
        db.session.flush()
    db.session.rollback()


def test_the_audit_log_cannot_be_changed_or_deleted(ctx):
    event = audit("registry.export", "cli:test", format="csv")
    db.session.commit()
    event.action = "something else"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()


def test_exports_from_the_command_line_are_audited(table1, runner, tmp_path, ctx):
    result = runner.invoke(args=["registry", "export", str(tmp_path / "r.json")])
    assert result.exit_code == 0
    assert "55 entries written as json" in result.output
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "registry.export")
    ).one()
    assert event.detail == {"format": "json", "entries": 55, "include_personal": False}


def test_versions_need_exactly_one_target(ctx):
    db.session.add(Version(number=1, source=ChangeSource.STAFF_EDIT, actor="x"))
    with pytest.raises(Exception, match=r"(?i)check|constraint"):
        db.session.flush()
    db.session.rollback()
