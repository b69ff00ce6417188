"""Curators who ask for it get one email a day listing answers that arrived for review."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from surveyapp.auth.models import User
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.models import OutboxMessage
from surveyapp.mail.service import send_pending
from surveyapp.review import digest
from surveyapp.vocabulary import MessageKind, OutboxStatus, Role
from tests.conftest import csrf_token
from tests.review.conftest import take
from tests.review.test_review import two_changes


def opt_in(email: str, wanted: bool = True) -> None:
    user = db.session.scalars(select(User).where(User.email == email)).one()
    user.review_digest = wanted
    db.session.commit()


def digests() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == MessageKind.REVIEW_DIGEST)
            .order_by(OutboxMessage.id)
        )
    )


def review_links(message) -> list[str]:
    body = message.get_body(("plain",)).get_content()
    return re.findall(r"/staff/review/(\d+)", body)


def test_a_curator_opts_in_on_the_account_page(client, staff, ctx):
    page = client.get("/account/").get_data(as_text=True)
    assert "Review digest" in page
    assert 'name="review_digest"' in page
    response = client.post(
        "/staff/review/digest",
        data={"csrf_token": csrf_token(client, "/account/"), "review_digest": "y"},
    )
    assert response.status_code == 302
    user = db.session.scalars(select(User).where(User.email == staff)).one()
    assert user.review_digest is True
    page = client.get("/account/").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*name="review_digest"', page), page
    client.post("/staff/review/digest", data={"csrf_token": csrf_token(client, "/account/")})
    db.session.refresh(user)
    assert user.review_digest is False


def test_coordinators_are_not_offered_the_digest(client, make_user, auth):
    auth.login(make_user("coordinator@example.org", Role.COORDINATOR))
    assert "Review digest" not in client.get("/account/").get_data(as_text=True)
    response = client.post(
        "/staff/review/digest",
        data={"csrf_token": csrf_token(client, "/account/"), "review_digest": "y"},
    )
    assert response.status_code == 403


def test_the_daily_digest_goes_through_the_outbox_once_a_day(
    app, runner, make_user, submit_for, mailbox
):
    curator = make_user("cura@example.org", Role.CURATOR)
    make_user("quiet@example.org", Role.CURATOR)
    gone = make_user("gone@example.org", Role.CURATOR)
    opt_in(curator)
    opt_in(gone)
    db.session.scalars(select(User).where(User.email == gone)).one().active = False
    db.session.commit()
    first = submit_for("a@example.org", 9, edit=two_changes)
    second = submit_for("b@example.org", 49, nothing_changed=True)

    result = runner.invoke(args=["review", "send-digest"])
    assert result.exit_code == 0, result.output
    assert "digests queued: 1;" in result.output
    (queued,) = digests()
    assert (queued.to_address, queued.contact_id, queued.campaign_id) == (curator, None, None)
    assert send_pending().sent >= 1
    (email,) = [m for m in mailbox.messages if m["To"] == curator]
    assert email["Subject"] == "2 submissions arrived for review"
    assert review_links(email) == [str(first.id), str(second.id)]
    assert "nothing has changed" in email.get_body(("plain",)).get_content()
    assert "/account/" in email["List-Unsubscribe"]

    again = runner.invoke(args=["review", "send-digest"])
    assert "digests queued: 0;" in again.output
    assert "who had today's digest already: 1" in again.output
    assert len(digests()) == 1

    tomorrow = utcnow() + timedelta(days=1)
    db.session.expire_all()
    assert digest.queue_digests(tomorrow).nothing_new == 1
    third = submit_for("c@example.org", 4)
    assert digest.queue_digests(tomorrow).queued == 1
    db.session.commit()
    mailbox.messages.clear()
    send_pending(now=lambda: tomorrow)
    (email,) = [m for m in mailbox.messages if m["To"] == curator]
    assert email["Subject"] == "1 submission arrived for review"
    assert review_links(email)[:1] == [str(third.id)]
    assert "In all, 3 submissions wait to be taken into review." in email.get_body(
        ("plain",)
    ).get_content().replace("\n", " ")


def test_no_digest_when_nothing_waits(runner, make_user, table1, ctx):
    opt_in(make_user("cura@example.org", Role.CURATOR))
    result = runner.invoke(args=["review", "send-digest"])
    assert "digests queued: 0; curators with nothing new: 1;" in result.output
    assert digests() == []


def test_a_digest_whose_answers_were_all_taken_meanwhile_is_not_sent(
    client, staff, submit_for, mailbox
):
    opt_in(staff)
    submission = submit_for("a@example.org", 9, edit=two_changes)
    assert digest.queue_digests().queued == 1
    db.session.commit()
    assert take(client, submission.id).status_code == 302
    send_pending()
    assert not [m for m in mailbox.messages if m["To"] == staff]
    db.session.expire_all()
    assert digests()[0].status == OutboxStatus.CANCELLED
