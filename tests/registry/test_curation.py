"""Curators' direct work on the registry: edits, curation flags, history and restore, all
through the versioned path and the audit log."""

from __future__ import annotations

import csv
import io
import re

from markupsafe import escape
from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent, Version
from surveyapp.registry.models import CurationFlag, Entry
from surveyapp.vocabulary import ChangeSource, Role
from tests.forms import form_values


def entry_of_row(row: int) -> Entry:
    return db.session.scalars(select(Entry).where(Entry.source_row == row)).one()


def edit_values(client, kind: str, target_id: int) -> dict[str, object]:
    html = client.get(f"/staff/registry/curate/{kind}/{target_id}/edit").get_data(as_text=True)
    return form_values(html, f"/staff/registry/curate/{kind}/{target_id}/edit")


def save(client, kind: str, target_id: int, values: dict[str, object], **changes: str):
    return client.post(
        f"/staff/registry/curate/{kind}/{target_id}/edit", data={**values, **changes}
    )


def test_a_direct_edit_is_a_new_version_with_the_reason(client, staff, table1, ctx):
    entry = entry_of_row(9)
    values = edit_values(client, "entry", entry.id)
    assert values["patients_treated"] == "80"
    response = save(
        client,
        "entry",
        entry.id,
        values,
        patients_treated="approximately 120",
        comment="annual report 2025",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    entry = entry_of_row(9)
    assert (entry.patients_estimate, entry.patients_qualifier.value) == (120, "approximate")
    version = db.session.scalars(
        select(Version).where(Version.entry_id == entry.id).order_by(Version.number.desc())
    ).first()
    assert (version.source, version.actor, version.comment) == (
        ChangeSource.STAFF_EDIT,
        "curator@example.org",
        "annual report 2025",
    )
    assert [c.field for c in version.changes] == ["patients_treated"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.edit")).one()
    assert event.detail["fields"] == ["patients_treated"]


def test_untouched_unmapped_values_stay_as_printed(client, staff, table1, ctx):
    """A field the import could not map is left alone when another field is edited."""
    flagged = db.session.scalars(
        select(CurationFlag).where(CurationFlag.field == "patients_treated")
    ).first()
    entry = db.session.get(Entry, flagged.entry_id)
    printed = entry.texts["patients_treated"]
    values = edit_values(client, "entry", entry.id)
    response = save(client, "entry", entry.id, values, contract_research="Planned")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    entry = db.session.get(Entry, entry.id)
    assert entry.texts["patients_treated"] == printed
    assert entry.contract_research.value == "planned"


def test_an_unreadable_value_is_explained_next_to_its_field_and_nothing_saved(
    client, staff, table1, ctx
):
    institution = entry_of_row(9).institution
    values = edit_values(client, "institution", institution.id)
    response = save(client, "institution", institution.id, values, country="Atlantis")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page
    assert re.search(r'value="Atlantis"', page)
    assert 'aria-invalid="true"' in page
    db.session.expire_all()
    assert entry_of_row(9).institution.country_code == "DE"


def test_resolving_a_flag_keeps_it_with_who_and_when(client, staff, table1, ctx):
    flagged = db.session.scalars(
        select(CurationFlag).where(CurationFlag.entry_id.is_not(None))
    ).first()
    html = client.get(f"/staff/registry/curate/entry/{flagged.entry_id}/edit").get_data(
        as_text=True
    )
    assert str(escape(flagged.reason)) in html
    values = form_values(html, f"/staff/registry/curate/flags/{flagged.id}/resolve")
    response = client.post(f"/staff/registry/curate/flags/{flagged.id}/resolve", data=values)
    assert response.status_code == 302
    db.session.expire_all()
    flagged = db.session.get(CurationFlag, flagged.id)
    assert flagged.resolved_by == "curator@example.org" and flagged.resolved_at is not None
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "registry.flag_resolved")
    ).one()
    curation = client.get("/staff/registry/curation").get_data(as_text=True)
    still_open, resolved = curation.split('id="resolved"')
    assert str(escape(flagged.reason)) not in still_open
    assert str(escape(flagged.reason)) in resolved
    assert "Marked resolved by hand" in resolved


def flagged_entry_field(key: str) -> CurationFlag:
    return db.session.scalars(
        select(CurationFlag)
        .where(CurationFlag.field == key, CurationFlag.entry_id.is_not(None))
        .order_by(CurationFlag.id)
    ).first()


def test_a_staff_edit_replacing_a_flagged_value_closes_the_flag(client, staff, table1, ctx):
    flagged = flagged_entry_field("patients_treated")
    other = db.session.scalars(
        select(CurationFlag).where(
            CurationFlag.entry_id == flagged.entry_id, CurationFlag.field != "patients_treated"
        )
    ).all()
    values = edit_values(client, "entry", flagged.entry_id)
    response = save(client, "entry", flagged.entry_id, values, patients_treated="at least 100")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    flagged = db.session.get(CurationFlag, flagged.id)
    version = db.session.scalars(
        select(Version).where(Version.entry_id == flagged.entry_id).order_by(Version.id.desc())
    ).first()
    assert flagged.resolved_by == "curator@example.org"
    assert flagged.resolution == (
        f"Replaced by staff edit, entry {flagged.entry_id} version {version.number}"
    )
    assert all(db.session.get(CurationFlag, f.id).resolved_at is None for f in other)
    curation = client.get("/staff/registry/curation").get_data(as_text=True)
    resolved = curation.split('id="resolved"')[1]
    assert flagged.resolution in resolved
    assert str(escape(flagged.reason)) in resolved


def test_an_edit_of_another_field_leaves_the_flag_open(client, staff, table1, ctx):
    flagged = flagged_entry_field("patients_treated")
    values = edit_values(client, "entry", flagged.entry_id)
    response = save(client, "entry", flagged.entry_id, values, contract_research="Planned")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CurationFlag, flagged.id).resolved_at is None


def test_history_lists_every_version_and_restores_an_earlier_one(client, staff, table1, ctx):
    entry = entry_of_row(9)
    values = edit_values(client, "entry", entry.id)
    save(client, "entry", entry.id, values, patients_treated="100", diseases_targeted="Gout")
    values = edit_values(client, "entry", entry.id)
    save(client, "entry", entry.id, values, patients_treated="at least 150")
    db.session.expire_all()
    page = client.get(f"/staff/registry/curate/entry/{entry.id}/history").get_data(as_text=True)
    assert "Version 3" in page and "Version 2" in page and "Version 1" in page
    assert "Staff edit" in page and "RESTORE D1.4 Table 1 import" in page
    assert "at least 150" in page and "Gout" in page

    values = form_values(page, f"/staff/registry/curate/entry/{entry.id}/restore/1")
    response = client.post(f"/staff/registry/curate/entry/{entry.id}/restore/1", data=values)
    assert response.status_code == 302
    db.session.expire_all()
    entry = entry_of_row(9)
    assert entry.patients_estimate == 80
    assert "Degenerative cartilage defects" in " ".join(entry.diseases_targeted)
    assert entry.texts["patients_treated"] == entry.printed["patients_treated"]
    restored = db.session.scalars(
        select(Version).where(Version.entry_id == entry.id).order_by(Version.number.desc())
    ).first()
    assert (restored.number, restored.source, restored.source_ref) == (
        4,
        ChangeSource.RESTORE,
        "version 1",
    )
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "registry.restore")
    ).one()

    page = client.get(f"/staff/registry/curate/entry/{entry.id}/history").get_data(as_text=True)
    values = form_values(page, f"/staff/registry/curate/entry/{entry.id}/restore/3")
    client.post(f"/staff/registry/curate/entry/{entry.id}/restore/3", data=values)
    db.session.expire_all()
    assert entry_of_row(9).patients_estimate == 150  # a restore can itself be undone


def test_a_retirement_can_be_undone_by_restoring(client, staff, table1, ctx):
    from surveyapp.history.service import Provenance
    from surveyapp.registry.service import retire_entry

    entry = entry_of_row(10)
    retire_entry(entry, "programme closed", Provenance(ChangeSource.STAFF_EDIT, "test"))
    db.session.commit()
    page = client.get(f"/staff/registry/curate/entry/{entry.id}/history").get_data(as_text=True)
    values = form_values(page, f"/staff/registry/curate/entry/{entry.id}/restore/1")
    client.post(f"/staff/registry/curate/entry/{entry.id}/restore/1", data=values)
    db.session.expire_all()
    entry = entry_of_row(10)
    assert entry.is_active and entry.retired_reason is None


def test_the_second_of_two_editors_sees_what_the_first_changed(
    app, client, staff, make_user, table1, ctx
):
    from tests.conftest import AuthActions

    entry = entry_of_row(9)
    other = app.test_client()
    make_user("second@example.org", Role.CURATOR)
    AuthActions(other).login("second@example.org")
    mine = edit_values(client, "entry", entry.id)
    theirs = edit_values(other, "entry", entry.id)
    assert save(other, "entry", entry.id, theirs, patients_treated="200").status_code == 302
    response = save(client, "entry", entry.id, mine, patients_treated="300")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else was quicker" in page
    assert "second@example.org" in page and "200" in page
    db.session.expire_all()
    assert entry_of_row(9).patients_estimate == 200


def test_the_institution_page_links_curators_to_edit_and_history(client, staff, table1, ctx):
    institution = entry_of_row(9).institution
    page = client.get(f"/institutions/{institution.id}").get_data(as_text=True)
    assert f"/staff/registry/curate/institution/{institution.id}/edit" in page
    assert f"/staff/registry/curate/entry/{entry_of_row(9).id}/history" in page
    assert "Last confirmed by the institution:" in page


def test_admins_export_the_filtered_audit_log_as_csv(client, make_user, auth, table1, ctx):
    from surveyapp.history.service import audit

    audit("review.reject", '=HYPERLINK("http://evil")', target_type="submission", target_id=7)
    audit("review.approve", "curator@example.org", target_type="submission", target_id=8)
    db.session.commit()
    make_user("admin@example.org", Role.ADMIN)
    auth.login("admin@example.org")
    page = client.get("/admin/audit/?action=review.reject").get_data(as_text=True)
    assert "/admin/audit/export.csv?action=review.reject" in page
    response = client.get("/admin/audit/export.csv?action=review.reject")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:4] == ["id", "created_at", "actor", "action"]
    assert len(rows) == 2
    assert rows[1][2].startswith("'=")
    assert rows[1][3] == "review.reject"
    by_target = client.get("/admin/audit/export.csv?target_type=submission&target_id=8")
    assert "review.approve" in by_target.get_data(as_text=True)
    assert "review.reject" not in by_target.get_data(as_text=True)
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.export")).all()
