"""Answers that arrived after the link closed: coordinators see them, accept or reopen."""

from __future__ import annotations

import copy
from datetime import timedelta

from sqlalchemy import select

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Invitation
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire import service as questionnaire
from surveyapp.vocabulary import SubmissionStatus
from tests.campaigns.test_invitations import html, plain, tokens_in
from tests.campaigns.test_views import coordinator
from tests.conftest import csrf_token
from tests.review.conftest import visible_text


def late_answer(campaign, make_contact, *, consent: bool = True):
    """A contact for Table 1 row 4 whose link closed while they typed a new website."""
    contact = make_contact("svane@example.org", 4, name="Dr. Inge Marie Svane")
    service.invite(campaign, actor="test", contact_ids=[contact.id])
    invitation = db.session.scalars(select(Invitation)).one()
    submission = questionnaire.submission_for(invitation)
    invitation.expires_at = utcnow() - timedelta(hours=1)
    answers = copy.deepcopy(submission.answers)
    answers["institution"]["website"] = "https://late.example.dk"
    questionnaire.keep_late(
        submission, invitation, answers, consent_store=consent, consent_publish=False
    )
    db.session.commit()
    return invitation, submission


def test_coordinators_see_a_late_answer_and_accept_it_into_review(
    app, campaign, make_contact, make_user, ctx
):
    invitation, submission = late_answer(campaign, make_contact)
    client = coordinator(app, make_user)
    page = visible_text(client.get(f"/campaigns/{campaign.id}").get_data(as_text=True))
    assert "Late answers" in page and "svane@example.org" in page
    detail = f"/campaigns/{campaign.id}/invitations/{invitation.id}"
    assert "Late answer received" in client.get(detail).get_data(as_text=True)

    response = client.post(f"{detail}/late/accept", data={"csrf_token": csrf_token(client, detail)})
    assert response.status_code == 302
    db.session.expire_all()
    assert submission.status == SubmissionStatus.SUBMITTED
    assert [v.number for v in submission.versions] == [1]
    assert submission.versions[0].answers["institution"]["website"] == "https://late.example.dk"
    assert submission.late_at is not None  # the record that it came late stays
    assert "waits for review" in client.get(detail).get_data(as_text=True)
    assert "Late answers" not in client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert (
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "questionnaire.late_draft_accepted")
        )
        .one()
        .actor
        == "coord@example.org"
    )


def test_reopening_emails_a_fresh_link_that_works_and_keeps_the_answers(
    app, campaign, make_contact, make_user, mailbox, client, ctx
):
    invitation, submission = late_answer(campaign, make_contact)
    staff = coordinator(app, make_user)
    url = f"/campaigns/{campaign.id}"
    response = staff.post(
        f"{url}/invitations/{invitation.id}/late/reopen",
        data={"csrf_token": csrf_token(staff, url), "back": "campaign"},
    )
    assert response.headers["Location"].endswith(url)
    assert "works again until" in staff.get(url).get_data(as_text=True)
    db.session.expire_all()
    assert invitation.expires_at > utcnow() + timedelta(days=13)
    send_pending()
    message = next(m for m in mailbox.messages if "please finish" in m["Subject"])
    assert "arrived after your link had closed" in plain(message)
    assert "works again until" in html(message)
    (token,) = tokens_in(message)
    form = client.get(f"/i/{token}/form")
    assert form.status_code == 200
    assert "https://late.example.dk" in form.get_data(as_text=True)
    assert submission.status == SubmissionStatus.DRAFT
    assert (
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "invitation.late_draft_reopened")
        )
        .one()
        .actor
        == "coord@example.org"
    )


def test_a_late_answer_without_consent_can_only_be_reopened(
    app, campaign, make_contact, make_user, ctx
):
    invitation, submission = late_answer(campaign, make_contact, consent=False)
    client = coordinator(app, make_user)
    detail = f"/campaigns/{campaign.id}/invitations/{invitation.id}"
    response = client.post(f"{detail}/late/accept", data={"csrf_token": csrf_token(client, detail)})
    assert "reopen the link" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert submission.status == SubmissionStatus.DRAFT
