"""Unverified public suggestions have their own view of the review queue, where a curator
clears spam in bulk: exactly the suggestions listed (or ticked) are rejected, after a
confirmation step, audited once, and nobody is emailed."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from surveyapp.campaigns.models import Nomination
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.mail.models import OutboxMessage
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire.models import Submission
from surveyapp.review.models import Review
from surveyapp.vocabulary import NominationStatus, SubmissionStatus
from tests.forms import form_values
from tests.review.conftest import suggest

UNVERIFIED = "/staff/review/?unverified=yes"
DISMISS = "/staff/review/unverified/dismiss"


def spam(client, count: int) -> list[int]:
    """Suggestions sent without an email address, as the spam was."""
    fields = {"your_name": "", "your_email": "", "consent_store": ""}
    return [
        suggest(client, institution=f"Cheap pills {n}", note="buy now", **fields).id
        for n in range(count)
    ]


def listed(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'name="listed" value="(\d+)"', html)]


def status(submission_id: int) -> SubmissionStatus:
    db.session.expire_all()
    return db.session.get(Submission, submission_id).status


def test_unverified_suggestions_have_their_own_view(client, staff, table1, ctx, submit_for):
    invited = submit_for("respondent@example.org", 4)
    confirmed = suggest(client, institution="Confirmed Centre")
    spammed = spam(client, 3)
    page = client.get("/staff/review/").get_data(as_text=True)
    assert 'href="/staff/review/?unverified=yes"' in page
    assert "Unverified suggestions (3)" in page
    assert 'id="bulk-dismiss"' not in page  # the bulk action belongs to its own view

    view = client.get(UNVERIFIED).get_data(as_text=True)
    assert sorted(listed(view)) == sorted(spammed)
    assert f">{invited.id}</a>" not in view and f">{confirmed.id}</a>" not in view
    assert "Dismiss all listed (3)" in view


def test_dismissing_all_listed_clears_exactly_those_and_emails_nobody(
    client, staff, table1, ctx, submit_for, mailbox
):
    invited = submit_for("respondent@example.org", 4)
    confirmed = suggest(client, institution="Confirmed Centre")
    spammed = spam(client, 3)
    send_pending()
    mailbox.messages.clear()
    outbox_before = len(db.session.scalars(select(OutboxMessage)).all())
    form = form_values(client.get(UNVERIFIED).get_data(as_text=True), DISMISS)
    late = spam(client, 1)[0]  # arrives after the page was shown

    asked = client.post(DISMISS, data={**form, "listed": spammed, "scope": "listed"})
    assert asked.status_code == 200
    question = asked.get_data(as_text=True)
    assert "3 unverified suggestions will be rejected as spam. Nobody is emailed." in question
    assert all(status(i) == SubmissionStatus.SUBMITTED for i in spammed)  # not yet

    confirm = form_values(question, DISMISS)
    done = client.post(DISMISS, data={**confirm, "selected": spammed})
    assert done.status_code == 302
    assert all(status(i) == SubmissionStatus.REJECTED for i in spammed)
    assert status(late) == SubmissionStatus.SUBMITTED
    assert status(invited.id) == SubmissionStatus.SUBMITTED
    assert status(confirmed.id) == SubmissionStatus.SUBMITTED
    reviews = db.session.scalars(select(Review)).all()
    assert sorted(r.submission_id for r in reviews) == sorted(spammed)
    assert not any(r.notified for r in reviews)
    dismissed = db.session.scalars(
        select(Nomination).where(Nomination.status == NominationStatus.DISMISSED)
    ).all()
    assert sorted(n.submission_id for n in dismissed) == sorted(spammed)

    assert len(db.session.scalars(select(OutboxMessage)).all()) == outbox_before
    send_pending()
    assert mailbox.messages == []
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "review.dismiss_unverified")
    ).all()
    assert len(events) == 1 and events[0].detail["count"] == 3
    assert sorted(listed(client.get(UNVERIFIED).get_data(as_text=True))) == [late]


def test_dismissing_the_selected_ones_leaves_the_others(client, staff, table1, ctx):
    first, second, third = spam(client, 3)
    form = form_values(client.get(UNVERIFIED).get_data(as_text=True), DISMISS)
    asked = client.post(DISMISS, data={**form, "scope": "selected", "selected": [second]})
    confirm = form_values(asked.get_data(as_text=True), DISMISS)
    client.post(DISMISS, data={**confirm, "selected": [second]})
    assert [status(i) for i in (first, second, third)] == [
        SubmissionStatus.SUBMITTED,
        SubmissionStatus.REJECTED,
        SubmissionStatus.SUBMITTED,
    ]


def test_nothing_selected_dismisses_nothing(client, staff, table1, ctx):
    (only,) = spam(client, 1)
    form = form_values(client.get(UNVERIFIED).get_data(as_text=True), DISMISS)
    response = client.post(DISMISS, data={**form, "scope": "selected"}, follow_redirects=True)
    assert "Tick the suggestions to dismiss" in response.get_data(as_text=True)
    assert status(only) == SubmissionStatus.SUBMITTED


def test_a_bulk_dismissal_never_touches_invited_answers_or_confirmed_suggestions(
    client, staff, table1, ctx, submit_for
):
    invited = submit_for("respondent@example.org", 4)
    confirmed = suggest(client, institution="Confirmed Centre")
    form = form_values(client.get(UNVERIFIED).get_data(as_text=True), DISMISS)
    forged = [invited.id, confirmed.id]
    client.post(DISMISS, data={**form, "scope": "listed", "listed": forged, "confirmed": "yes"})
    assert status(invited.id) == SubmissionStatus.SUBMITTED
    assert status(confirmed.id) == SubmissionStatus.SUBMITTED


def test_the_bulk_dismissal_deletes_suggestions_never_confirmed_in_time(
    app, client, staff, table1, ctx
):
    (spammed,) = spam(client, 1)
    client.post(
        "/suggest/",
        data={
            **form_values(client.get("/suggest/").get_data(as_text=True), "/suggest/"),
            "institution": "Never confirmed",
            "country": "MT",
            "note": "x",
            "your_email": "ghost@example.org",
            "consent_store": "y",
        },
    )
    ghost = db.session.scalars(
        select(Submission).where(Submission.status == SubmissionStatus.DRAFT)
    ).one()
    ghost.created_at -= timedelta(days=app.config["SUGGESTION_CONFIRM_DAYS"] + 1)
    db.session.commit()
    ghost_id = ghost.id
    assert "ghost@example.org" not in client.get("/staff/review/?status=all").get_data(as_text=True)

    form = form_values(client.get(UNVERIFIED).get_data(as_text=True), DISMISS)
    asked = client.post(DISMISS, data={**form, "scope": "listed", "listed": [spammed]})
    assert "deleted too" in asked.get_data(as_text=True)
    confirm = form_values(asked.get_data(as_text=True), DISMISS)
    client.post(DISMISS, data={**confirm, "selected": [spammed]})
    db.session.expire_all()
    assert db.session.get(Submission, ghost_id) is None
    assert status(spammed) == SubmissionStatus.REJECTED
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "review.dismiss_unverified")
    ).one()
    assert (event.detail["count"], event.detail["purged_unconfirmed"]) == (1, 1)
