"""Suggestion spam (issue 17): 49 public suggestions once entered the review queue in
seconds. The form is limited per address and across all addresses, the honeypot still
turns bots away, and a suggestion giving an email address reaches the curators only once
its sender confirms it by the emailed link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.campaigns.models import Nomination
from surveyapp.extensions import db, limiter
from surveyapp.mail.models import OutboxMessage
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire.models import Submission
from surveyapp.review.service import QueueFilters, review_queue
from surveyapp.vocabulary import MessageKind, SubmissionStatus
from tests.conftest import csrf_token
from tests.questionnaire.test_widening import SUGGESTION

ANONYMOUS = {**SUGGESTION, "your_name": "", "your_email": "", "consent_store": ""}


@pytest.fixture
def limits(app, monkeypatch):
    """Set the two suggestion limits for one test, starting from clean counters."""

    def set_limits(per_address: str, everyone: str) -> None:
        monkeypatch.setitem(app.config, "SUGGESTION_RATE_LIMIT", per_address)
        monkeypatch.setitem(app.config, "SUGGESTION_GLOBAL_RATE_LIMIT", everyone)
        limiter.reset()

    yield set_limits
    limiter.reset()


def queued() -> int:
    """How many submissions the curators' queue shows."""
    db.session.expire_all()
    return review_queue(QueueFilters()).total


def post_from(client, address: str, data: dict[str, str]):
    return client.post("/suggest/", data=data, environ_base={"REMOTE_ADDR": address})


def test_49_rapid_suggestions_from_one_address_stop_at_the_limit(client, table1, ctx, limits):
    limits("5 per hour", "100 per hour")
    data = {**ANONYMOUS, "csrf_token": csrf_token(client, "/suggest/")}
    codes = [post_from(client, "203.0.113.7", data).status_code for _ in range(49)]
    assert codes == [200] * 5 + [429] * 44
    assert queued() == 5
    # another address is not held back by this one
    assert post_from(client, "198.51.100.1", data).status_code == 200


def test_49_rapid_suggestions_from_49_addresses_stop_at_the_global_limit(
    client, table1, ctx, limits
):
    limits("5 per hour", "20 per hour")
    data = {**ANONYMOUS, "csrf_token": csrf_token(client, "/suggest/")}
    codes = [post_from(client, f"203.0.113.{n}", data).status_code for n in range(1, 50)]
    assert codes == [200] * 20 + [429] * 29
    assert queued() == 20


def test_a_limited_sender_gets_the_form_back_with_what_they_typed(client, table1, ctx, limits):
    limits("1 per hour", "100 per hour")
    client.get("/?lang=de")
    data = {**ANONYMOUS, "csrf_token": csrf_token(client, "/suggest/")}
    assert post_from(client, "203.0.113.7", data).status_code == 200
    response = post_from(client, "203.0.113.7", {**data, "note": "Gene therapy unit, 12 beds"})
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert '<html lang="de">' in html  # the person's language
    assert "Gene therapy unit, 12 beds" in html and "Malta Cell Therapy Unit" in html
    assert "In kurzer Zeit sind zu viele Vorschläge eingegangen" in html
    assert queued() == 1


def test_bots_caught_by_the_honeypot_cannot_use_up_the_global_limit(client, table1, ctx, limits):
    limits("1000 per hour", "3 per hour")
    token = csrf_token(client, "/suggest/")
    bot = {**ANONYMOUS, "homepage": "http://spam.example", "csrf_token": token}
    assert all(post_from(client, f"192.0.2.{n}", bot).status_code == 200 for n in range(30))
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
    person = {**ANONYMOUS, "csrf_token": token}
    assert post_from(client, "198.51.100.1", person).status_code == 200
    assert queued() == 1


def test_the_honeypot_still_keeps_bots_out_with_an_email_address_too(client, table1, ctx):
    data = {**SUGGESTION, "homepage": "x", "csrf_token": csrf_token(client, "/suggest/")}
    assert client.post("/suggest/", data=data).status_code == 200
    assert db.session.scalars(select(Submission)).all() == []
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_without_an_email_a_suggestion_enters_the_queue_unverified(client, table1, ctx):
    data = {**ANONYMOUS, "csrf_token": csrf_token(client, "/suggest/")}
    response = client.post("/suggest/", data=data)
    assert "A curator will check it" in response.get_data(as_text=True)
    submission = db.session.scalars(select(Submission)).one()
    assert (submission.status, submission.unverified) == (SubmissionStatus.SUBMITTED, True)
    assert submission.submitter_email is None
    assert review_queue(QueueFilters(unverified="yes")).total == 1
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_a_name_or_address_needs_the_consent_to_store_it(client, table1, ctx):
    data = {**SUGGESTION, "consent_store": "", "csrf_token": csrf_token(client, "/suggest/")}
    response = client.post("/suggest/", data=data)
    assert response.status_code == 400
    assert "Please agree that we store your name and email" in response.get_data(as_text=True)
    assert db.session.scalars(select(Submission)).all() == []


def confirmation_link(message) -> str:
    body = message.get_body(("plain",)).get_content()
    return re.search(r"http\S+(/suggest/confirm/\S+)", body).group(1)


def test_a_suggestion_with_an_email_reaches_curators_only_once_confirmed(
    client, table1, ctx, mailbox
):
    client.get("/?lang=de")
    data = {**SUGGESTION, "csrf_token": csrf_token(client, "/suggest/")}
    response = client.post("/suggest/", data=data)
    assert response.status_code == 200
    submission = db.session.scalars(select(Submission)).one()
    assert submission.status == SubmissionStatus.DRAFT
    assert queued() == 0
    assert db.session.scalars(select(Nomination)).all() == []  # nor the coordinators' list

    assert send_pending().sent == 1
    message = mailbox.messages[-1]
    assert message["To"] == "ann@example.org"
    assert "Guten Tag Ann Example," in message.get_body(("plain",)).get_content()  # page language
    link = confirmation_link(message)

    page = client.get(link)
    assert page.status_code == 200
    assert "<button" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Submission, submission.id).status == SubmissionStatus.DRAFT
    assert queued() == 0  # opening the link (or a mail scanner) changes nothing

    response = client.post(link, data={"csrf_token": csrf_token(client, link)})
    assert response.status_code == 200
    db.session.expire_all()
    confirmed = db.session.get(Submission, submission.id)
    assert confirmed.status == SubmissionStatus.SUBMITTED
    assert confirmed.email_confirmed_at is not None and confirmed.unverified is True
    assert [v.number for v in confirmed.versions] == [1]
    assert queued() == 1
    assert review_queue(QueueFilters(unverified="confirmed")).total == 1
    assert review_queue(QueueFilters(unverified="yes")).total == 0
    assert db.session.scalars(select(Nomination)).one().submission_id == submission.id

    # the page speaks the language the suggestion was written in (German here)
    already = "Sie haben diesen Vorschlag bereits bestätigt"
    assert already in client.get(link).get_data(as_text=True)
    again = client.post(link, data={"csrf_token": csrf_token(client, "/suggest/")})
    assert again.status_code == 200
    assert already in again.get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(Submission, submission.id).versions) == 1


def test_the_confirmation_needs_a_csrf_token(client, table1, ctx, mailbox):
    client.post("/suggest/", data={**SUGGESTION, "csrf_token": csrf_token(client, "/suggest/")})
    send_pending()
    link = confirmation_link(mailbox.messages[-1])
    assert client.post(link, data={}).status_code == 400
    assert queued() == 0


def test_a_forged_or_cut_link_gets_a_clear_page(client, table1, ctx, mailbox):
    client.post("/suggest/", data={**SUGGESTION, "csrf_token": csrf_token(client, "/suggest/")})
    send_pending()
    link = confirmation_link(mailbox.messages[-1])
    for bad in (link[:-3], "/suggest/confirm/not-a-token", link + "x"):
        response = client.get(bad)
        assert response.status_code == 404
        assert "This link is not valid" in response.get_data(as_text=True)
        assert (
            client.post(bad, data={"csrf_token": csrf_token(client, "/suggest/")}).status_code
            == 404
        )
    assert queued() == 0


def test_an_expired_link_gets_a_clear_page_and_confirms_nothing(
    app, client, table1, ctx, mailbox, runner
):
    client.post("/suggest/", data={**SUGGESTION, "csrf_token": csrf_token(client, "/suggest/")})
    send_pending()
    link = confirmation_link(mailbox.messages[-1])
    submission = db.session.scalars(select(Submission)).one()
    days = app.config["SUGGESTION_CONFIRM_DAYS"]
    submission.created_at -= timedelta(days=days, minutes=1)
    db.session.commit()

    response = client.get(link)
    assert response.status_code == 410
    assert "This link has expired" in response.get_data(as_text=True)
    token = csrf_token(client, "/suggest/")
    assert client.post(link, data={"csrf_token": token}).status_code == 410
    assert queued() == 0

    result = runner.invoke(args=["review", "purge-unconfirmed"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 unconfirmed suggestion" in result.output
    db.session.expire_all()
    assert db.session.scalars(select(Submission)).all() == []


def test_an_unconfirmed_suggestion_still_in_time_is_not_purged(client, table1, ctx, runner):
    client.post("/suggest/", data={**SUGGESTION, "csrf_token": csrf_token(client, "/suggest/")})
    result = runner.invoke(args=["review", "purge-unconfirmed"])
    assert "Deleted 0 unconfirmed" in result.output
    db.session.expire_all()
    assert db.session.scalars(select(Submission)).one().status == SubmissionStatus.DRAFT


def test_the_request_to_confirm_is_not_sent_once_confirmed(client, table1, ctx, mailbox):
    from tests.questionnaire.test_widening import confirm_suggestion

    client.post("/suggest/", data={**SUGGESTION, "csrf_token": csrf_token(client, "/suggest/")})
    confirm_suggestion(client, db.session.scalars(select(Submission)).one())
    report = send_pending()
    assert (report.sent, mailbox.messages) == (0, [])
    assert (
        db.session.scalars(select(OutboxMessage)).one().kind == MessageKind.SUGGESTION_CONFIRMATION
    )
