"""The curator's review: queue, comparison, per-field merge with provenance, decisions."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent, Version
from surveyapp.questionnaire.models import Submission
from surveyapp.registry.models import Entry
from surveyapp.review import service
from surveyapp.review.models import Review
from surveyapp.vocabulary import ChangeSource, Decision, InvitationStatus, SubmissionStatus
from tests.conftest import institution_of_row
from tests.review.conftest import choice, comment, custom, decide, take, visible_text


def entry_of_row(row: int) -> Entry:
    return db.session.scalars(select(Entry).where(Entry.source_row == row)).one()


def two_changes(answers):
    """Row 9's institution gets a new website; its first programme a new patient count."""
    answers["institution"]["website"] = "https://www.tlc-rt.example.org"
    answers["entries"][0]["fields"]["patients_treated"] = {"estimate": 95, "qualifier": "at_least"}


# The queue ------------------------------------------------------------------------------


def test_every_submitted_answer_lands_in_the_queue_with_counts(client, staff, submit_for):
    submit_for("a@example.org", 9, edit=two_changes)
    submit_for("b@example.org", 49, nothing_changed=True)
    html = client.get("/staff/review/").get_data(as_text=True)
    text = visible_text(html)
    assert "Translational Center Regenerative Medicine TLC-RT Würzburg" in text
    assert 'LLC "Medical Center "HEMAFUND"' in text or "HEMAFUND" in text
    assert "nothing has changed" in text
    assert re.search(r"Submitted\s*: 2", text)
    counts = service.status_counts()
    assert counts[SubmissionStatus.SUBMITTED] == 2


def test_the_queue_filters_by_country_status_age_source_and_campaign(
    client, staff, submit_for, campaign
):
    german = submit_for("a@example.org", 9)
    ukrainian = submit_for("b@example.org", 49)

    def listed(query: str) -> set[int]:
        filters = service.QueueFilters(**query) if isinstance(query, dict) else None
        return {s.id for s in service.review_queue(filters).items}

    assert listed({"country": "DE"}) == {german.id}
    assert listed({"country": "UA"}) == {ukrainian.id}
    assert listed({"campaign_id": campaign.id}) == {german.id, ukrainian.id}
    assert listed({"campaign_id": campaign.id + 1}) == set()
    assert listed({"unverified": "yes"}) == set()
    assert listed({"unverified": "no"}) == {german.id, ukrainian.id}
    assert listed({"older_than_days": 3}) == set()
    later = utcnow() + timedelta(days=5)
    assert {
        s.id for s in service.review_queue(service.QueueFilters(older_than_days=3), now=later).items
    } == {
        german.id,
        ukrainian.id,
    }
    assert listed({"status": "approved"}) == set()
    newest = service.review_queue(service.QueueFilters(sort="newest")).items
    assert [s.id for s in newest] == [ukrainian.id, german.id]
    response = client.get("/staff/review/?country=DE&status=open&sort=country")
    assert response.status_code == 200
    assert "TLC-RT" in response.get_data(as_text=True)
    assert "HEMAFUND" not in response.get_data(as_text=True)


def test_bad_filter_values_are_ignored_with_the_rest_kept(client, staff, submit_for):
    submit_for("a@example.org", 9)
    response = client.get("/staff/review/?older_than=banana&country=DE&status=nonsense")
    assert response.status_code == 200
    assert "TLC-RT" in response.get_data(as_text=True)


def test_two_contacts_of_one_institution_are_shown_together(client, staff, submit_for):
    """Table 1 rows 1 and 2 are one institution with two contacts."""

    def first(answers):
        answers["institution"]["website"] = "https://first.example.org"

    def second(answers):
        answers["institution"]["website"] = "https://second.example.org"

    one = submit_for("grillari@example.org", 1, edit=first)
    two = submit_for("redl@example.org", 2, edit=second)
    assert one.institution_id == two.institution_id
    queue_html = client.get("/staff/review/").get_data(as_text=True)
    assert f'/staff/review/{two.id}">#{two.id}' in queue_html
    page = visible_text(client.get(f"/staff/review/{one.id}").get_data(as_text=True))
    assert "Other submissions about this institution are waiting" in page
    assert f"submission #{two.id} says: https://second.example.org" in page


# The comparison -------------------------------------------------------------------------


def test_the_comparison_pairs_blocks_by_entry_id(ctx, submit_for):
    def edit(answers):
        two_changes(answers)
        answers["entries"][2]["active"] = False
        answers["entries"].append(
            {
                "entry_id": None,
                "active": True,
                "fields": {
                    "atmp_type": {"types": ["combined"], "other": None},
                    "diseases_targeted": ["Osteoarthritis"],
                },
            }
        )

    submission = submit_for("a@example.org", 9, edit=edit)
    comparison = service.compare(submission)
    kinds = [(b.kind, b.entry.source_row if b.entry else None) for b in comparison.blocks]
    assert kinds == [("changed", 9), ("unchanged", 10), ("retire", 11), ("new", None)]
    website = next(r for r in comparison.institution_rows if r.field.key == "website")
    assert website.changed
    assert website.submitted_text == "https://www.tlc-rt.example.org"
    assert website.printed.startswith("https://www.regenerative-therapien.fraunhofer.de")
    patients = next(r for r in comparison.blocks[0].rows if r.field.key == "patients_treated")
    assert patients.changed
    assert patients.submitted_text == "at least 95"
    assert patients.registry_text == "80"
    assert [r.field.key for r in comparison.blocks[0].changed_rows] == ["patients_treated"]
    name = next(r for r in comparison.institution_rows if r.field.key == "institution")
    assert not name.changed


def test_the_review_page_shows_changes_and_folds_the_rest(client, staff, submit_for):
    submission = submit_for("a@example.org", 9, edit=two_changes)
    html = client.get(f"/staff/review/{submission.id}").get_data(as_text=True)
    changed = " ".join(re.findall(r'<tr class="changed">(.*?)</tr>', html, re.S))
    folded = " ".join(re.findall(r'<details class="unchanged">(.*?)</details>', html, re.S))
    assert "https://www.tlc-rt.example.org" in changed
    assert "at least 95" in changed
    assert "Keep registry" in changed
    assert "Degenerative cartilage defects" not in changed
    assert "Degenerative cartilage defects" in folded
    assert "unchanged field" in html


# Decisions ------------------------------------------------------------------------------


def test_per_field_choices_land_in_the_registry_with_provenance(client, staff, submit_for):
    def edit(answers):
        two_changes(answers)
        answers["entries"][0]["fields"]["contract_research"] = "no"

    submission = submit_for("a@example.org", 9, edit=edit)
    entry = entry_of_row(9)
    website_before = institution_of_row(9).website
    assert take(client, submission.id).status_code == 302
    response = decide(
        client,
        submission.id,
        "approve",
        **{
            choice("institution.website"): "registry",
            choice("entries.0.patients_treated"): "submitted",
            choice("entries.0.contract_research"): "custom",
            custom("entries.0.contract_research"): "Planned",
            comment("entries.0.contract_research"): "phone call with the lab head",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert institution_of_row(9).website == website_before
    entry = entry_of_row(9)
    assert (entry.patients_estimate, entry.patients_qualifier.value) == (95, "at_least")
    assert entry.contract_research.value == "planned"
    assert entry.texts["patients_treated"] == "at least 95"
    version = db.session.scalars(
        select(Version).where(Version.entry_id == entry.id).order_by(Version.number.desc())
    ).first()
    assert version.source == ChangeSource.SUBMISSION
    assert version.source_ref == f"submission {submission.id} v1"
    assert version.actor == "curator@example.org"
    assert {c.field for c in version.changes} == {
        "patients_treated",
        "contract_research",
        "contact_public",
    }
    assert entry.confirmed_at is not None
    submission = db.session.get(Submission, submission.id)
    assert submission.status == SubmissionStatus.APPROVED
    assert submission.invitation.status == InvitationStatus.APPROVED
    review = db.session.scalars(select(Review)).one()
    assert review.decision == Decision.APPROVED
    assert review.field_comments == {"entries.0.contract_research": "phone call with the lab head"}
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "review.approve")).one()


def test_an_unreadable_corrected_value_is_refused_and_nothing_is_merged(client, staff, submit_for):
    submission = submit_for("a@example.org", 9, edit=two_changes)
    response = decide(
        client,
        submission.id,
        "approve",
        **{choice("institution.website"): "custom", custom("institution.website"): "not a url"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Website" in page and "cannot be read" in page
    assert 'value="not a url"' in page
    db.session.expire_all()
    assert db.session.get(Submission, submission.id).status == SubmissionStatus.SUBMITTED
    assert entry_of_row(9).patients_estimate == 80


def test_added_and_retired_entries_need_the_curators_confirmation(client, staff, submit_for):
    def edit(answers):
        answers["entries"][2]["active"] = False
        answers["entries"].append(
            {
                "entry_id": None,
                "active": True,
                "fields": {
                    "atmp_type": {"types": ["combined"], "other": None},
                    "diseases_targeted": ["Osteoarthritis"],
                    "contact_person": "Dr. New Person",
                },
            }
        )

    submission = submit_for("a@example.org", 9, edit=edit)
    institution = institution_of_row(9)
    response = decide(
        client, submission.id, "approve", **{"retire__2": "y", "retire_reason__2": "ended 2025"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert not entry_of_row(11).is_active
    assert entry_of_row(11).retired_reason == "ended 2025"
    added = [e for e in institution_of_row(9).entries if e.source_row is None]
    assert len(added) == 1
    assert [t.value for t in added[0].atmp_types] == ["combined"]
    assert added[0].diseases_targeted == ["Osteoarthritis"]
    first = db.session.scalars(select(Version).where(Version.entry_id == added[0].id)).one()
    assert first.source_ref == f"submission {submission.id} v1"
    assert institution.id == added[0].institution_id


def test_an_unconfirmed_retirement_and_an_unticked_new_entry_change_nothing(
    client, staff, submit_for
):
    def edit(answers):
        answers["entries"][2]["active"] = False
        answers["entries"].append(
            {"entry_id": None, "active": True, "fields": {"diseases_targeted": ["Gout"]}}
        )

    submission = submit_for("a@example.org", 9, edit=edit)
    values = {"add__3": ""}
    response = decide(client, submission.id, "approve", **values)
    assert response.status_code == 302
    db.session.expire_all()
    assert entry_of_row(11).is_active
    assert len(institution_of_row(9).entries) == 3


def test_nothing_has_changed_sets_the_confirmation_date(client, staff, submit_for):
    submission = submit_for("a@example.org", 9, nothing_changed=True)
    assert all(e.confirmed_at is None for e in institution_of_row(9).entries)
    versions_before = db.session.scalar(select(Version.id).order_by(Version.id.desc()).limit(1))
    assert decide(client, submission.id, "approve").status_code == 302
    db.session.expire_all()
    entries = institution_of_row(9).entries
    assert all(e.confirmed_at is not None for e in entries)
    assert all(e.confirmed_at.date() == utcnow().date() for e in entries)
    new_versions = db.session.scalars(select(Version).where(Version.id > versions_before)).all()
    assert {c.field for v in new_versions for c in v.changes} <= {"contact_public"}
    api = client.get(f"/api/v1/entries/{entries[0].id}").get_json()
    assert api["last_confirmed"].startswith(utcnow().date().isoformat())


def test_taking_a_submission_closes_it_to_the_respondent(client, staff, submit_for):
    submission = submit_for("a@example.org", 9)
    assert take(client, submission.id).status_code == 302
    db.session.expire_all()
    taken = db.session.get(Submission, submission.id)
    assert taken.status == SubmissionStatus.IN_REVIEW
    assert taken.assigned_to.email == "curator@example.org"
    assert taken.invitation.status == InvitationStatus.IN_REVIEW
    assert "assigned to curator@example.org" in client.get(
        f"/staff/review/{submission.id}"
    ).get_data(as_text=True)


def test_rejection_needs_a_reason_which_is_kept(client, staff, submit_for):
    submission = submit_for("a@example.org", 9)
    response = decide(client, submission.id, "reject", reason="  ")
    assert response.status_code == 400
    assert "A rejection needs a reason." in response.get_data(as_text=True)
    response = decide(client, submission.id, "reject", reason="Duplicate of submission 3")
    assert response.status_code == 302
    db.session.expire_all()
    review = db.session.scalars(select(Review)).one()
    assert (review.decision, review.reason, review.notified) == (
        Decision.REJECTED,
        "Duplicate of submission 3",
        False,
    )
    rejected = db.session.get(Submission, submission.id)
    assert rejected.status == SubmissionStatus.REJECTED
    assert rejected.invitation.status == InvitationStatus.REJECTED
    assert entry_of_row(9).patients_estimate == 80


def test_a_decided_submission_cannot_be_decided_again(client, staff, submit_for):
    submission = submit_for("a@example.org", 9)
    assert decide(client, submission.id, "reject", reason="spam").status_code == 302
    response = decide(client, submission.id, "approve")
    assert response.status_code in (400, 409)
    db.session.expire_all()
    assert db.session.get(Submission, submission.id).status == SubmissionStatus.REJECTED


def test_drafts_are_not_in_the_queue_and_have_no_review_page(client, staff, campaign, make_contact):
    from surveyapp.campaigns import service as campaigns
    from surveyapp.campaigns.models import Invitation
    from surveyapp.questionnaire import service as questionnaire

    contact = make_contact("a@example.org", 9)
    campaigns.invite(campaign, actor="test", contact_ids=[contact.id])
    invitation = db.session.scalars(select(Invitation)).one()
    draft = questionnaire.submission_for(invitation)
    db.session.commit()
    assert client.get(f"/staff/review/{draft.id}").status_code == 404
    assert "No submission matches." in client.get("/staff/review/").get_data(as_text=True)


def test_coordinators_cannot_review(client, make_user, auth, submit_for):
    from surveyapp.vocabulary import Role

    submission = submit_for("a@example.org", 9)
    make_user("coordinator@example.org", Role.COORDINATOR)
    auth.login("coordinator@example.org")
    assert client.get(f"/staff/review/{submission.id}").status_code == 403
