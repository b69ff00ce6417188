"""Access and erasure after a full journey: the export holds everything stored about the
address; after erasure no text or JSON column of any table names the person, except the
erasure's own audit record, which holds a salted hash of the address."""

from __future__ import annotations

import json

from sqlalchemy import JSON, Enum, String, Text, select

from surveyapp.auth.models import User
from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Contact, Invitation
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.history.service import audit
from surveyapp.people.erasure import address_hash, is_erased
from surveyapp.registry import export
from surveyapp.registry.models import Entry
from surveyapp.vocabulary import Role
from tests.conftest import csrf_token
from tests.people.conftest import ADMIN, EMAIL, NAME
from tests.review.conftest import suggest


def rows_naming(*needles: str) -> list[tuple[str, str, object]]:
    """Every (table, column, value) of every text and JSON column that contains a needle,
    read independently of the code under test."""
    found = []
    for table in db.metadata.sorted_tables:
        columns = [
            c
            for c in table.columns
            if isinstance(c.type, String | Text | JSON) and not isinstance(c.type, Enum)
        ]
        for row in db.session.execute(select(*columns)) if columns else []:
            for column, value in zip(columns, row, strict=True):
                text = json.dumps(value, ensure_ascii=False) if value is not None else ""
                if any(n.lower() in text.lower() for n in needles):
                    found.append((table.name, column.name, value))
    return found


def test_the_export_holds_everything_the_journey_stored(runner, journey):
    result = runner.invoke(args=["people", "export", EMAIL])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["contact"]["email"] == EMAIL and document["contact"]["name"] == NAME
    (invitation,) = document["invitations"]
    assert invitation["campaign"] == "Registry update 2026"
    assert {e["status"] for e in invitation["events"]} >= {"sent", "submitted", "approved"}
    submissions = {s["id"]: s for s in document["submissions"]}
    answered = submissions[journey.submission_id]
    assert answered["status"] == "approved" and answered["versions"]
    assert answered["reviews"][0]["decision"] == "approved"
    suggestion = next(s for s in submissions.values() if s["submitter_email"])
    assert suggestion["submitter_name"] == NAME
    assert {n["name"] for n in document["nominations"]} >= {"Rizzoli Orthopaedic Institute"}
    assert len(document["registry_entries"]) == 3
    assert all(e["contact_email"] == EMAIL for e in document["registry_entries"])
    assert any(c["new_value"] == EMAIL for v in document["history"] for c in v["changes"])
    assert any(a["action"] == "invitation.opt_out" for a in document["audit"])
    assert any(m["kind"] == "confirmation" for m in document["emails"])
    # every place the scan finds is in the export, so nothing stored escapes it
    assert len(document["mentions"]) >= len(rows_naming(EMAIL)) > 0


def test_the_export_names_others_records_only_by_excerpt(runner, journey, client):
    # a colleague's suggestion names the person: it is the colleague's record, not theirs
    suggest(client, your_name="Eva Colleague", your_email="eva@example.org", note=f"Ask {NAME}")
    result = runner.invoke(args=["people", "export", EMAIL])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert not any(s["submitter_email"] == "eva@example.org" for s in document["submissions"])
    assert "eva@example.org" not in result.output
    assert any(NAME in excerpt for m in document["mentions"] for excerpt in m["excerpts"])


def test_the_staff_page_exports_for_admins_only(client, journey, auth, make_user):
    page = "/admin/people/"
    response = client.post(
        page, data={"csrf_token": csrf_token(client, page), "email": EMAIL, "export": "y"}
    )
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.get_json()["contact"]["email"] == EMAIL
    exported = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "people.export")
    ).one()
    assert exported.detail == {"address_hash": address_hash(EMAIL)}

    auth.logout()
    make_user("curator@example.org")
    auth.login("curator@example.org")
    assert client.get(page).status_code == 403


def test_erasure_leaves_no_trace_of_the_person_but_a_hashed_audit_record(
    runner, journey, xlsx_snapshot
):
    assert rows_naming(EMAIL, NAME)
    assert runner.invoke(args=["registry", "build-xlsx", "--include-personal"]).exit_code == 0
    staff_snapshot = export.snapshot_path(include_personal=True)
    assert staff_snapshot.exists()
    result = runner.invoke(args=["people", "erase", EMAIL, "--yes"])
    assert result.exit_code == 0, result.output
    assert not staff_snapshot.exists(), "the staff's XLSX named the person"
    db.session.expire_all()

    assert rows_naming(EMAIL, NAME) == []
    (record,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "people.erase"))
    assert record.detail["address_hash"] == address_hash(EMAIL)
    assert record.actor.startswith("cli:") and record.created_at is not None
    # the institutions and their programmes stay, without the person as contact
    entries = db.session.scalars(select(Entry).where(Entry.source_row.in_([9, 10, 11]))).all()
    assert len(entries) == 3 and all(e.is_active for e in entries)
    assert all(e.contact_email is None and e.contact_person is None for e in entries)
    assert not any(e.contact_public for e in entries)
    assert all(e.diseases_targeted for e in entries)
    assert entries[0].institution.name.startswith("Translational Center")


def test_an_erased_address_is_never_emailed_again(runner, journey, campaign, mailbox):
    assert runner.invoke(args=["people", "erase", EMAIL, "--yes"]).exit_code == 0
    assert is_erased(EMAIL)
    db.session.expire_all()
    invitation = db.session.get(Invitation, journey.invitation_id)
    assert invitation.revoked_at is not None
    assert not campaigns.is_reachable(invitation.contact)

    contact, outcome = campaigns.upsert_contact(EMAIL, source="a later import", name=NAME)
    db.session.flush()
    assert outcome == "created"
    assert not campaigns.is_reachable(contact)
    other, _ = campaigns.upsert_contact("someone.else@example.org", source="a later import")
    db.session.flush()
    assert campaigns.is_reachable(other)


def test_the_staff_page_erases_after_the_address_is_typed_again(client, journey):
    page = "/admin/people/"
    confirm = client.post(
        page, data={"csrf_token": csrf_token(client, page), "email": EMAIL, "erase": "y"}
    )
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert "Erase for good" in html
    token = csrf_token(client, page)
    wrong = client.post(
        "/admin/people/erase",
        data={"csrf_token": token, "email": EMAIL, "confirmation": "other@example.org"},
    )
    assert wrong.status_code == 400
    assert db.session.scalar(select(Contact).where(Contact.email == EMAIL)) is not None

    done = client.post(
        "/admin/people/erase",
        data={"csrf_token": token, "email": EMAIL, "confirmation": EMAIL.upper()},
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert rows_naming(EMAIL, NAME) == []
    record = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "people.erase")).one()
    assert record.actor == ADMIN


def test_an_admin_cannot_erase_their_own_account_while_using_it(client, admin):
    page = "/admin/people/"
    token = csrf_token(client, page)
    response = client.post(
        "/admin/people/erase", data={"csrf_token": token, "email": ADMIN, "confirmation": ADMIN}
    )
    assert response.status_code == 302
    assert "cannot erase your own" in client.get(page).get_data(as_text=True)


def test_erasing_a_staff_member_closes_their_account_and_wipes_their_name_from_history(
    runner, journey, make_user
):
    curator = make_user("leaving.curator@example.org", Role.CURATOR)
    audit("registry.note", curator, detail=f"checked by {curator}")
    db.session.commit()
    result = runner.invoke(args=["people", "erase", curator, "--yes"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert rows_naming(curator) == []
    (account,) = db.session.scalars(select(User).where(User.email.like("erased-%"))).all()
    assert not account.active


def test_erasure_keeps_the_institution_even_when_it_bears_the_persons_name(runner, make_entry, ctx):
    entry_id = make_entry(
        "Fondazione Anna Rossi",
        "IT",
        contact_person="Anna Rossi",
        contact_email="anna.rossi@example.it",
        diseases_targeted="Leukaemia",
    )
    audit("registry.note", "curator@example.org", note="Called Fondazione Anna Rossi today")
    db.session.commit()
    result = runner.invoke(args=["people", "erase", "anna.rossi@example.it", "--yes"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    entry = db.session.get(Entry, entry_id)
    assert entry.institution.name == "Fondazione Anna Rossi"
    # wherever else the institution's name is written, it stays whole too
    assert "Fondazione Anna Rossi" in json.dumps(entry.institution.texts, ensure_ascii=False)
    assert rows_naming("Fondazione [erased]") == []
    assert rows_naming("Called Fondazione Anna Rossi today")  # another's note, unchanged
    assert "fondazione anna rossi" in entry.search_text
    assert entry.contact_person is None and entry.contact_email is None
    assert entry.diseases_targeted
    # never a contact, yet a later import of the address stays unreachable
    contact, _ = campaigns.upsert_contact("anna.rossi@example.it", source="a later import")
    db.session.flush()
    assert not campaigns.is_reachable(contact)


def test_the_erase_command_asks_first_and_a_no_changes_nothing(runner, journey):
    result = runner.invoke(args=["people", "erase", EMAIL], input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    assert db.session.scalar(select(Contact).where(Contact.email == EMAIL)) is not None


def test_a_short_name_is_erased_wherever_a_field_holds_exactly_it(runner, make_entry, ctx):
    # too short to look for inside free text, but a field holding exactly it holds the person
    entry_id = make_entry(
        "Shanghai Cell Therapy Centre",
        "CN",
        contact_person="Li Wei",
        contact_email="li.wei@example.cn",
        diseases_targeted="Lymphoma",
    )
    assert rows_naming("Li Wei")
    result = runner.invoke(args=["people", "erase", "li.wei@example.cn", "--yes"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert rows_naming("li.wei@example.cn", "Li Wei") == []
    assert db.session.get(Entry, entry_id).institution.name == "Shanghai Cell Therapy Centre"
