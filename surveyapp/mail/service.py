"""Queue emails, and send what is due: claim, render, send over SMTP, record the outcome.

Delivery is at least once. A worker claims due rows with a lease (on PostgreSQL with
``SELECT ... FOR UPDATE SKIP LOCKED``, so several workers never claim the same row; on
SQLite, ``BEGIN IMMEDIATE`` serialises the claim), renders them and commits the minted
token hashes, sends them over one SMTP connection per batch and commits each outcome at
once. The only window for a duplicate is a crash between the SMTP server's acceptance and
that commit; the duplicate then carries the same Message-ID. A claimed row whose worker
died is claimed again when its lease runs out, so no message is lost.

Temporary failures (connection refused, timeouts, 4xx replies) are retried with exponential
backoff and jitter; 5xx replies and messages older than the give-up time fail for good.
Time, sleeping and randomness are injectable so tests need not wait.
"""

from __future__ import annotations

import random
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from flask import current_app
from sqlalchemy import and_, or_, select, update

from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.delivery import Undeliverable, delivery_for
from surveyapp.mail.models import OutboxMessage
from surveyapp.vocabulary import MessageKind, OutboxStatus

Clock = Callable[[], datetime]
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 4 * 3600


def queue(
    kind: MessageKind,
    to_address: str,
    *,
    campaign_id: int | None = None,
    contact_id: int | None = None,
    invitation_ids: list[int] | None = None,
    context: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Add an email to the outbox, in the caller's transaction; a worker sends it."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    domain = sender.rpartition("@")[2].strip(">") or "surveyapp.invalid"
    message = OutboxMessage(
        kind=kind,
        to_address=to_address,
        campaign_id=campaign_id,
        contact_id=contact_id,
        invitation_ids=list(invitation_ids or []),
        context=dict(context or {}),
        message_id=make_msgid(domain=domain),
        next_attempt_at=now or utcnow(),
    )
    db.session.add(message)
    return message


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Backoff before retry number ``attempts``: 30 s doubling to 4 h, with ±20 % jitter."""
    base = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * (rng or random).uniform(0.8, 1.2))


@dataclass
class SendReport:
    """What one run of the sender did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line a person can read."""
        line = (
            f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed, "
            f"{self.cancelled} cancelled"
        )
        return line + "".join(f"\n  {e}" for e in self.errors[:20])


class TemporaryFailure(Exception):
    """The SMTP server or the network failed in a way worth retrying."""


class PermanentFailure(Exception):
    """The SMTP server refused the message for good (5xx)."""


def _classify(exc: BaseException) -> Exception:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        return _by_code(code, reply)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, exc.smtp_error)
    return TemporaryFailure(f"{type(exc).__name__}: {exc}")


def _by_code(code: int, reply: bytes | str) -> Exception:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    if 500 <= code < 600:
        return PermanentFailure(f"{code} {text}")
    return TemporaryFailure(f"{code} {text}")


def connect() -> smtplib.SMTP:
    """An SMTP connection with the configured host, port, TLS, login and timeout."""
    config = current_app.config
    timeout = config["MAIL_TIMEOUT"]
    if config["MAIL_USE_SSL"]:
        connection: smtplib.SMTP = smtplib.SMTP_SSL(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout
        )
    else:
        connection = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
        if config["MAIL_USE_TLS"]:
            connection.starttls()
    if config["MAIL_USERNAME"]:
        connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
    return connection


def claim(now: datetime, limit: int) -> list[int]:
    """Claim up to ``limit`` due messages for this worker; commits the claim."""
    lease = timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    due = or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until < now),
    )
    ids = list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(due)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(
                status=OutboxStatus.SENDING,
                lease_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
            )
        )
    db.session.commit()
    return ids


def _give_up(message: OutboxMessage, reason: str, report: SendReport) -> None:
    message.status = OutboxStatus.FAILED
    message.last_error = reason
    message.lease_until = None
    delivery_for(message.kind).on_failed(message, reason)
    report.failed += 1
    report.errors.append(f"{message.to_address}: {reason}")


def _retry_later(
    message: OutboxMessage,
    reason: str,
    now: datetime,
    report: SendReport,
    rng: random.Random | None,
) -> None:
    give_up_after = timedelta(hours=current_app.config["MAIL_GIVE_UP_HOURS"])
    # A message held for a later day (a campaign not open yet) is counted from that day.
    not_before = message.context.get("not_before")
    since = message.created_at
    if not_before:
        since = max(since, datetime.fromisoformat(not_before))
    if now - since >= give_up_after:
        _give_up(message, f"gave up after {message.attempts} attempts: {reason}", report)
        return
    message.status = OutboxStatus.PENDING
    message.last_error = reason
    message.lease_until = None
    message.next_attempt_at = now + retry_delay(message.attempts, rng)
    report.retrying += 1


def _render(ids: list[int], report: SendReport) -> list[tuple[int, EmailMessage]]:
    """Render claimed messages, minting their tokens; commits the token hashes.

    Each message is committed on its own, so the database's write lock (all of SQLite) is
    held for one email's rendering at a time, not for a whole batch.
    """
    rendered = []
    for message_id in ids:
        message = db.session.get(OutboxMessage, message_id)
        try:
            rendered.append((message_id, delivery_for(message.kind).render(message)))
        except Undeliverable as exc:
            message.status = OutboxStatus.CANCELLED
            message.last_error = str(exc)
            message.lease_until = None
            report.cancelled += 1
        except Exception as exc:  # a bug must not stop the other messages of the batch
            current_app.logger.exception("could not build outbox message %s", message_id)
            _give_up(message, f"could not build the email: {exc}", report)
        db.session.commit()
    return rendered


def send_pending(
    *,
    now: Clock = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    limit: int | None = None,
) -> SendReport:
    """Send every message that is due, batch by batch, and return what happened."""
    config = current_app.config
    report = SendReport()
    batch_size = limit or config["MAIL_BATCH_SIZE"]
    pause = 60 / config["MAIL_RATE_PER_MINUTE"] if config["MAIL_RATE_PER_MINUTE"] else 0
    while True:
        ids = claim(now(), batch_size)
        if not ids:
            return report
        _send_batch(_render(ids, report), now, sleep, pause, rng, report)
        if limit:
            return report


def _send_batch(
    batch: list[tuple[int, EmailMessage]],
    now: Clock,
    sleep: Callable[[float], None],
    pause: float,
    rng: random.Random | None,
    report: SendReport,
) -> None:
    try:
        connection = connect()
    except (OSError, smtplib.SMTPException) as exc:
        # Connecting, TLS and login failures say nothing about the messages (a wrong
        # password is fixed by the operator): every message waits for a retry.
        reason = f"cannot connect to the mail server: {_classify(exc)}"
        for message_id, _email in batch:
            _retry_later(db.session.get(OutboxMessage, message_id), reason, now(), report, rng)
        db.session.commit()
        return
    try:
        for index, (message_id, email) in enumerate(batch):
            if index and pause:
                sleep(pause)
            message = db.session.get(OutboxMessage, message_id)
            db.session.commit()  # no transaction (and no lock) is held while the server talks
            try:
                connection.send_message(email)
            except (OSError, smtplib.SMTPException) as exc:
                failure = _classify(exc)
                if isinstance(failure, PermanentFailure):
                    _give_up(message, str(failure), report)
                else:
                    _retry_later(message, str(failure), now(), report, rng)
                db.session.commit()
                answered = isinstance(
                    exc, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)
                )
                if not answered:  # the connection is gone: the rest waits for a retry
                    _release_rest(batch[index + 1 :], str(failure), now, report, rng)
                    return
                continue
            message.status = OutboxStatus.SENT
            message.sent_at = now()
            message.lease_until = None
            message.last_error = None
            delivery_for(message.kind).on_sent(message)
            report.sent += 1
            db.session.commit()
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()


def _release_rest(
    rest: list[tuple[int, EmailMessage]],
    reason: str,
    now: Clock,
    report: SendReport,
    rng: random.Random | None,
) -> None:
    for message_id, _email in rest:
        _retry_later(db.session.get(OutboxMessage, message_id), reason, now(), report, rng)
    db.session.commit()
