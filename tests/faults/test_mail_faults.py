"""The mail worker under faults, each with a named point of failure: nothing is lost, and
the only duplicate possible (accepted by the server, worker dead before recording it)
carries the same Message-ID (tested in tests/mail/test_worker.py)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.mail import service as mail
from surveyapp.mail.models import OutboxMessage
from surveyapp.vocabulary import OutboxStatus
from tests.mail.test_worker import Clock, queued


def test_killed_after_claiming_the_batch_is_sent_once_the_lease_ends(
    app, campaign, make_contact, mailbox
):
    queued(campaign, make_contact, count=3)
    clock = Clock()
    assert len(mail.claim(clock(), 10)) == 3  # ... and the worker dies here
    db.session.expire_all()
    assert mail.send_pending(now=clock).sent == 0  # another worker respects the lease
    clock.advance(seconds=app.config["MAIL_LEASE_SECONDS"] + 1)
    assert mail.send_pending(now=clock).sent == 3
    assert len(mailbox.messages) == 3


def test_killed_after_the_commit_nothing_is_sent_again(app, campaign, make_contact, mailbox):
    queued(campaign, make_contact, count=2)
    clock = Clock()
    assert mail.send_pending(now=clock).sent == 2  # recorded and committed, then killed
    clock.advance(seconds=app.config["MAIL_LEASE_SECONDS"] + 1)
    assert mail.send_pending(now=clock).sent == 0
    assert len(mailbox.messages) == 2
    statuses = set(db.session.scalars(select(OutboxMessage.status)))
    assert statuses == {OutboxStatus.SENT}


def test_a_slow_smtp_server_delays_but_loses_nothing(
    app, campaign, make_contact, mailbox, monkeypatch
):
    """The server answers after the client's timeout: the message waits for a retry."""
    queued(campaign, make_contact, count=1)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 1)
    original = type(mailbox).handle_DATA

    async def slow(self, server, session, envelope):
        await asyncio.sleep(2)
        return await original(self, server, session, envelope)

    monkeypatch.setattr(type(mailbox), "handle_DATA", slow)
    clock = Clock()
    report = mail.send_pending(now=clock)
    assert report.sent == 0 and report.retrying == 1
    monkeypatch.setattr(type(mailbox), "handle_DATA", original)
    mailbox.messages.clear()  # a late acceptance of the slow attempt is possible
    clock.advance(hours=1)
    assert mail.send_pending(now=clock).sent == 1
    assert mailbox.messages
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.status == OutboxStatus.SENT
