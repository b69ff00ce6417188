"""Decisions that reach the respondent: a request for changes through a real email and link,
a rejection's reason by email, and consent deciding what the public sees after approval."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire.models import Submission
from surveyapp.registry.models import Entry
from surveyapp.review.models import Review
from surveyapp.vocabulary import Decision, InvitationStatus, SubmissionStatus
from tests.campaigns.test_invitations import html, plain
from tests.questionnaire.test_form import post
from tests.review.conftest import comment, decide, suggest, visible_text

FORM_LINK = re.compile(r"http://127\.0\.0\.1:5000/i/([A-Za-z0-9_-]{43})/form")


def close_campaign(submission: Submission) -> None:
    """The campaign ended yesterday, so the invitation's links no longer work."""
    invitation = submission.invitation
    invitation.campaign.closes_on = (utcnow() - timedelta(days=1)).date()
    invitation.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()


def test_request_changes_round_trip_after_the_campaign_closed(client, staff, submit_for, mailbox):
    submission = submit_for("pullig@example.org", 9)
    close_campaign(submission)
    send_pending()  # the confirmation cannot go out any more: its link is closed
    mailbox.messages.clear()

    response = decide(
        client,
        submission.id,
        "request_changes",
        comment="Please check the number of patients.",
        **{comment("entries.0.patients_treated"): "Is 80 still right?"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    submission = db.session.get(Submission, submission.id)
    assert submission.status == SubmissionStatus.CHANGES_REQUESTED
    assert submission.invitation.status == InvitationStatus.CHANGES_REQUESTED
    assert submission.invitation.expires_at > utcnow() + timedelta(days=13)

    report = send_pending()
    assert report.sent == 1, report.summary()
    message = mailbox.messages[-1]
    assert message["To"].addresses[0].addr_spec == "pullig@example.org"
    body = plain(message)
    assert "Please check the number of patients." in body
    assert "Programme 1: Number of patients treated: Is 80 still right?" in body
    assert "Is 80 still right?" in html(message)
    token = FORM_LINK.search(body).group(1)

    page = client.get(f"/i/{token}/form").get_data(as_text=True)
    assert "Our curator asks you to look at your answers again" in page
    assert "Is 80 still right?" in page
    response = post(client, token, {"entries-0-patients_treated": "85"}, button="submit")
    assert response.status_code == 302, response.get_data(as_text=True)

    db.session.expire_all()
    submission = db.session.get(Submission, submission.id)
    assert submission.status == SubmissionStatus.SUBMITTED
    assert [v.number for v in submission.versions] == [1, 2]
    assert submission.invitation.status == InvitationStatus.SUBMITTED
    queue = client.get("/staff/review/").get_data(as_text=True)
    assert f"/staff/review/{submission.id}" in queue
    assert "version 2" in visible_text(queue)
    review_page = visible_text(client.get(f"/staff/review/{submission.id}").get_data(as_text=True))
    assert "Changes requested" in review_page
    assert "85" in review_page


def test_request_changes_needs_something_to_say(client, staff, submit_for):
    submission = submit_for("pullig@example.org", 9)
    response = decide(client, submission.id, "request_changes")
    assert response.status_code == 400
    assert "Say what should change" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Submission, submission.id).status == SubmissionStatus.SUBMITTED


def test_a_rejection_reason_can_be_sent(client, staff, submit_for, mailbox):
    submission = submit_for("pullig@example.org", 9)
    send_pending()
    mailbox.messages.clear()
    response = decide(
        client, submission.id, "reject", reason="We could not verify this facility.", notify="y"
    )
    assert response.status_code == 302
    assert send_pending().sent == 1
    body = plain(mailbox.messages[-1])
    assert "We could not verify this facility." in body
    review = db.session.scalars(select(Review)).one()
    assert review.decision == Decision.REJECTED and review.notified


def test_a_public_suggestion_cannot_be_sent_back_but_can_be_rejected_with_a_mail(
    client, staff, mailbox, table1, ctx
):
    submission = suggest(client)
    response = decide(client, submission.id, "request_changes", comment="which city?")
    assert response.status_code == 400
    assert "A public suggestion has no link to send back" in response.get_data(as_text=True)
    response = decide(client, submission.id, "reject", reason="Not an ATMP facility.", notify="y")
    assert response.status_code == 302
    assert send_pending().sent == 1
    assert mailbox.messages[-1]["To"].addresses[0].addr_spec == submission.submitter_email


def test_consent_to_publish_reaches_public_output_only_when_given(client, staff, auth, submit_for):
    """Issue 5's consent: a respondent's contact becomes public through approval, and only
    with the separate consent to show it."""
    shown = submit_for("pullig@example.org", 9, consent_publish=True)
    hidden = submit_for("grillari@example.org", 1, consent_publish=False)
    for submission in (shown, hidden):
        assert decide(client, submission.id, "approve").status_code == 302
    auth.logout()

    def public_entry(row: int) -> dict:
        entry = db.session.scalars(select(Entry).where(Entry.source_row == row)).one()
        return client.get(f"/api/v1/entries/{entry.id}").get_json()

    assert public_entry(9)["contact_person"] == "PD Dr. Oliver Pullig"
    assert public_entry(1)["contact_person"] is None
    csv_export = client.get("/registry/export.csv").get_data(as_text=True)
    assert "PD Dr. Oliver Pullig" in csv_export
    assert "Grillari" not in csv_export
    page = client.get("/").get_data(as_text=True)
    assert "Grillari" not in page
