"""The mail worker against a real SMTP server: retries, failures, crashes, parallel workers."""

from __future__ import annotations

import random
import sqlite3
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

import config
from surveyapp import create_app
from surveyapp.campaigns import service
from surveyapp.campaigns.models import Invitation
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail import service as mail
from surveyapp.mail.models import OutboxMessage
from surveyapp.vocabulary import InvitationStatus, OutboxStatus
from tests.conftest import free_port


class Clock:
    """An injectable clock that tests move forward by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def queued(campaign, make_contact, count: int = 1) -> list[OutboxMessage]:
    for number in range(count):
        make_contact(f"person{number}@example.org", 4 if number == 0 else 3)
    service.invite(campaign, actor="test")
    db.session.commit()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_smtp_down_then_up_delivers_every_message(
    app, campaign, make_contact, mailbox, monkeypatch
):
    queued(campaign, make_contact, 3)
    port = app.config["MAIL_PORT"]
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    clock = Clock()
    report = mail.send_pending(now=clock)
    assert (report.sent, report.retrying) == (0, 3)
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert all(
        r.status == OutboxStatus.PENDING and "Connection refused" in r.last_error for r in rows
    )
    assert mail.send_pending(now=clock).sent == 0  # not due yet
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    clock.advance(minutes=2)
    assert mail.send_pending(now=clock).sent == 3
    assert len(mailbox.messages) == 3
    assert {m["To"].addresses[0].addr_spec for m in mailbox.messages} == {
        "person0@example.org",
        "person1@example.org",
        "person2@example.org",
    }


def test_a_4xx_reply_is_retried_with_growing_backoff(campaign, make_contact, mailbox):
    (message,) = queued(campaign, make_contact)
    mailbox.reply = "451 4.3.0 Mailbox busy, try again later"
    clock = Clock()
    rng = random.Random(1)
    delays = []
    for _ in range(3):
        report = mail.send_pending(now=clock, rng=rng)
        assert report.retrying == 1
        db.session.refresh(message)
        delays.append((message.next_attempt_at - clock.now).total_seconds())
        clock.now = message.next_attempt_at
    assert 24 <= delays[0] <= 36  # first retry within a minute
    assert 48 <= delays[1] <= 72
    assert 96 <= delays[2] <= 144
    assert "451" in message.last_error
    mailbox.reply = None
    assert mail.send_pending(now=clock).sent == 1
    db.session.refresh(message)
    assert (message.status, message.attempts) == (OutboxStatus.SENT, 4)


def test_backoff_grows_to_hours():
    assert mail.retry_delay(1, random.Random(0)) < timedelta(minutes=1)
    assert timedelta(hours=3) < mail.retry_delay(20, random.Random(0)) <= timedelta(hours=4.8)


def test_a_5xx_reply_fails_the_invitation_with_the_servers_reply(campaign, make_contact, mailbox):
    (message,) = queued(campaign, make_contact)
    mailbox.reply = "550 5.1.1 No such user here"
    report = mail.send_pending()
    assert report.failed == 1
    db.session.refresh(message)
    assert message.status == OutboxStatus.FAILED
    invitation = db.session.scalars(select(Invitation)).one()
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.FAILED
    assert "550 5.1.1 No such user here" in invitation.failure_reason


def test_temporary_failures_give_up_after_the_configured_time(app, campaign, make_contact, mailbox):
    (message,) = queued(campaign, make_contact)
    mailbox.reply = "421 4.7.0 Too many connections"
    clock = Clock()
    clock.advance(hours=app.config["MAIL_GIVE_UP_HOURS"] + 1)
    report = mail.send_pending(now=clock)
    assert report.failed == 1
    db.session.refresh(message)
    assert message.status == OutboxStatus.FAILED
    assert "gave up" in message.last_error


def test_a_crash_after_acceptance_resends_once_with_the_same_message_id(
    app, campaign, make_contact, mailbox, client
):
    queued(campaign, make_contact)
    clock = Clock()
    ids = mail.claim(clock(), 10)
    rendered = mail._render(ids, mail.SendReport())
    connection = mail.connect()
    mail._transmit(connection, rendered[0].email)  # the server accepts ...
    connection.quit()  # ... and the worker dies before recording it
    db.session.expire_all()
    assert mail.send_pending(now=clock).sent == 0  # the lease still holds
    clock.advance(seconds=app.config["MAIL_LEASE_SECONDS"] + 1)
    assert mail.send_pending(now=clock).sent == 1
    assert len(mailbox.messages) == 2
    assert mailbox.messages[0]["Message-ID"] == mailbox.messages[1]["Message-ID"]
    from tests.campaigns.test_invitations import tokens_in

    for delivered in mailbox.messages:  # both copies' links work
        assert client.get(f"/i/{tokens_in(delivered)[0]}").status_code == 200


def test_the_rate_limit_paces_sending(app, campaign, make_contact, mailbox, monkeypatch):
    queued(campaign, make_contact, 3)
    monkeypatch.setitem(app.config, "MAIL_RATE_PER_MINUTE", 30)
    pauses = []
    assert mail.send_pending(sleep=pauses.append).sent == 3
    assert pauses == [2.0, 2.0]


def test_a_message_whose_invitations_were_revoked_is_cancelled(campaign, make_contact, mailbox):
    queued(campaign, make_contact)
    service.revoke(db.session.scalars(select(Invitation)).one(), actor="test")
    db.session.commit()
    assert mail.send_pending().cancelled == 1
    assert mailbox.messages == []


@pytest.mark.committed
def test_two_workers_in_parallel_deliver_each_message_once(app, smtp_server, monkeypatch):
    controller, recorder = smtp_server
    recorder.messages.clear()
    recorder.reply = None
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
    monkeypatch.setitem(app.config, "MAIL_BATCH_SIZE", 5)
    with app.app_context():
        campaign = service.create_campaign(
            "Parallel", (utcnow() + timedelta(days=9)).date(), actor="test"
        )
        for number in range(40):
            service.upsert_contact(f"p{number}@example.org", source="test")
        service.invite(campaign, actor="test")
        db.session.commit()
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            with app.app_context():
                start.wait()
                mail.send_pending()
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    ids = [m["Message-ID"] for m in recorder.messages]
    assert len(ids) == 40
    assert len(set(ids)) == 40
    with app.app_context():
        sent = db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.status == OutboxStatus.SENT)
        )
        assert sent == 40


def test_send_pending_command_reports_and_exits_non_zero_on_failure(
    campaign, make_contact, mailbox, runner
):
    queued(campaign, make_contact)
    mailbox.reply = "554 5.7.1 Rejected"
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 1
    assert "0 sent, 0 to retry, 1 failed" in result.output
    assert "554 5.7.1 Rejected" in result.output


def test_the_worker_command_sends_what_is_due_and_stops_when_idle(
    campaign, make_contact, mailbox, runner
):
    queued(campaign, make_contact, 2)
    result = runner.invoke(args=["mail", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "2 sent, 0 to retry, 0 failed" in result.output
    assert result.output.strip().endswith("mail worker stopped")
    assert len(mailbox.messages) == 2


def test_a_login_failure_at_the_mail_server_keeps_every_message(
    app, campaign, make_contact, mailbox, monkeypatch
):
    queued(campaign, make_contact, 2)
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "registry")  # the test server has no AUTH
    report = mail.send_pending()
    assert (report.sent, report.retrying, report.failed) == (0, 2, 0)
    assert all(
        "cannot connect to the mail server" in m.last_error
        for m in db.session.scalars(select(OutboxMessage))
    )


@pytest.mark.committed
def test_the_worker_outlives_a_locked_database_and_then_sends(
    app, campaign, make_contact, mailbox, tmp_path
):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("reproduces SQLite's database-wide write lock held by a long write")
    queued(campaign, make_contact, 2)
    db.session.rollback()  # the test's own transaction ends: only the writer below holds the lock

    class Impatient(config.TestingConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        SQLITE_BUSY_TIMEOUT_MS = 50
        MAIL_WORKER_POLL_SECONDS = 0.05
        MAIL_SERVER = app.config["MAIL_SERVER"]
        MAIL_PORT = app.config["MAIL_PORT"]
        MAIL_TIMEOUT = 5

    worker_app = create_app(Impatient)
    # another process's long write (an import) holds the write lock for a while
    writer = sqlite3.connect(
        make_url(Impatient.SQLALCHEMY_DATABASE_URI).database, check_same_thread=False
    )
    writer.isolation_level = None
    writer.execute("BEGIN IMMEDIATE")
    release = threading.Timer(1.0, writer.rollback)
    release.start()
    try:
        with worker_app.app_context():  # else the command would run in the test's own app
            result = worker_app.test_cli_runner().invoke(args=["mail", "worker", "--once"])
    finally:
        release.join()
        writer.close()
        with worker_app.app_context():
            db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert "the database could not be used (database is locked); trying again in" in result.output
    assert "2 sent, 0 to retry, 0 failed" in result.output
    assert result.output.strip().endswith("mail worker stopped")
    assert len(mailbox.messages) == 2
