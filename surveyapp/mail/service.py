"""Queue emails, and send what is due: claim, render, send over SMTP, record the outcome.

Delivery is at least once. A worker claims due rows with a lease (on PostgreSQL with
``SELECT ... FOR UPDATE SKIP LOCKED``, so several workers never claim the same row; on
SQLite, ``BEGIN IMMEDIATE`` serialises the claim), renders the batch and commits the minted
token hashes, then sends it over one SMTP connection, holding no transaction (and no lock)
while the server talks.

Outcomes are recorded in batches: what the server answered is kept in memory and written
in one short transaction every :data:`RECORD_EVERY` messages, at the end of the batch, and
before the batch gives up on a lost connection (at once after each message when a send rate
is configured, since the pause dominates then). The window for a duplicate is therefore
the same kind as before, only wider: a crash between the server's acceptance of a message
and the commit of its outcome, which may now cover up to :data:`RECORD_EVERY` accepted
messages instead of one. Such a message is claimed again when its lease runs out and sent
again with the same Message-ID (its new links work too), as is every claimed row of a
worker that died; no message is lost.

Rendering reads in a reading transaction (on SQLite it takes no write lock, so several
workers render side by side); kinds sent in bulk render a whole batch from a few queries
(see :mod:`surveyapp.mail.delivery`), so a batch costs a constant number of statements in
short write transactions: the claim, the token hashes, and the outcomes every
:data:`RECORD_EVERY` messages. With a send rate configured, a batch is cut so that its
pauses end within half its lease: a live worker's claims never run out under it.

Temporary failures (connection refused, timeouts, 4xx replies) are retried with exponential
backoff and jitter; 5xx replies and messages older than the give-up time fail for good.
Time, sleeping and randomness are injectable so tests need not wait.
"""

from __future__ import annotations

import random
import smtplib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError

from surveyapp.database import reading_only, utcnow
from surveyapp.extensions import db
from surveyapp.mail.delivery import (
    BatchRendering,
    Outgoing,
    Rendered,
    Sent,
    Undeliverable,
    delivery_for,
)
from surveyapp.mail.models import OutboxMessage
from surveyapp.vocabulary import MessageKind, OutboxStatus

Clock = Callable[[], datetime]
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 4 * 3600
# How many outcomes (accepted or refused messages) wait in memory before they are written.
RECORD_EVERY = 50


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
    """Claim up to ``limit`` due messages for this worker; commits the claim.

    Due are pending rows whose time has come and claimed rows whose lease ran out. Each
    kind is read by its own query, in the order of the (status, next attempt) index and
    stopping at ``limit``: one query with OR made SQLite sort every pending row of the
    outbox on each claim."""
    lease = timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    due = []
    for condition in (
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until < now),
    ):
        due += db.session.execute(
            select(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .where(condition)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    ids = [message_id for _at, message_id in sorted(due)[:limit]]
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


@dataclass(frozen=True)
class Prepared:
    """A claimed message rendered and ready to send (what the send loop needs of its row,
    which is not touched while the server talks)."""

    id: int
    kind: MessageKind
    message_id: str
    invitation_ids: tuple[int, ...]
    email: Rendered


def _messages(ids: Iterable[int]) -> dict[int, OutboxMessage]:
    """Outbox rows by id, in one query."""
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(set(ids))))
    return {message.id: message for message in rows}


def _render(ids: list[int], report: SendReport) -> list[Prepared]:
    """Render claimed messages, minting their tokens; commits the token hashes.

    Kinds with a batch renderer are rendered together inside a reading transaction (no
    write lock on SQLite) and their token hashes written in one short transaction after
    it. Other kinds are rendered one by one, each committed on its own, so the write lock
    is held for one email's rendering at a time, not for a whole batch.
    """
    rendered: dict[int, Rendered] = {}
    rows: dict[int, tuple[MessageKind, str, tuple[int, ...]]] = {}
    stopped: dict[int, Exception] = {}
    saves = []
    one_by_one = []
    with reading_only():
        messages = _messages(ids)
        by_kind: dict[MessageKind, list[OutboxMessage]] = defaultdict(list)
        for message in messages.values():
            by_kind[message.kind].append(message)
            rows[message.id] = (message.kind, message.message_id, tuple(message.invitation_ids))
        for kind, group in by_kind.items():
            render_many = delivery_for(kind).render_many
            if render_many is None:
                one_by_one += [message.id for message in group]
                continue
            try:
                rendering = render_many(group)
            except SQLAlchemyError:
                raise  # the database failed, not the messages: their leases bring them back
            except Exception as exc:  # a bug must not stop the other kinds of the batch
                current_app.logger.exception("could not build outbox messages of %s", kind)
                rendering = BatchRendering([exc] * len(group), lambda: None)
            saves.append(rendering.save)
            for message, result in zip(group, rendering.results, strict=True):
                if isinstance(result, Exception):
                    stopped[message.id] = result
                else:
                    rendered[message.id] = result
        db.session.commit()  # ends the reading transaction; nothing was changed in it
    for save in saves:
        save()
    if stopped:
        messages = _messages(stopped)
        for message_id, problem in stopped.items():
            _stop(messages[message_id], problem, report)
    db.session.commit()
    for message_id in one_by_one:
        message = db.session.get(OutboxMessage, message_id)
        try:
            rendered[message_id] = delivery_for(message.kind).render(message)
        except SQLAlchemyError:
            raise
        except Exception as exc:  # a bug must not stop the other messages of the batch
            _stop(message, exc, report)
        db.session.commit()
    return [Prepared(n, *rows[n], rendered[n]) for n in ids if n in rendered]


def _stop(message: OutboxMessage, problem: Exception, report: SendReport) -> None:
    """A message that cannot be built: cancelled when it must not be sent any more, failed
    for good (and logged) when building it went wrong."""
    if isinstance(problem, Undeliverable):
        message.status = OutboxStatus.CANCELLED
        message.last_error = str(problem)
        message.lease_until = None
        report.cancelled += 1
        return
    current_app.logger.error("could not build outbox message %s", message.id, exc_info=problem)
    _give_up(message, f"could not build the email: {problem}", report)


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
    if pause:  # a paced batch ends well within its lease, or another worker sends it too
        batch_size = max(1, min(batch_size, int(config["MAIL_LEASE_SECONDS"] / pause / 2)))
    while True:
        ids = claim(now(), batch_size)
        if not ids:
            return report
        outcomes = Outcomes(now, rng, report, record_every=1 if pause else RECORD_EVERY)
        _send_batch(_render(ids, report), outcomes, sleep, pause)
        if limit:
            return report


class Outcomes:
    """What the SMTP server answered, kept until :meth:`record` writes it in one short
    transaction: the sent rows with one executemany UPDATE and their kinds' batch hooks,
    the few failures row by row."""

    def __init__(
        self,
        now: Clock,
        rng: random.Random | None,
        report: SendReport,
        *,
        record_every: int = RECORD_EVERY,
    ) -> None:
        self.now = now
        self.rng = rng
        self.report = report
        self.record_every = record_every
        self.sent: list[Sent] = []
        self.failed: list[tuple[int, Exception]] = []

    def accepted(self, prepared: Prepared) -> None:
        """The server accepted a message (recorded at once when enough are waiting)."""
        self.sent.append(
            Sent(
                prepared.id, prepared.kind, prepared.message_id, prepared.invitation_ids, self.now()
            )
        )
        if len(self.sent) + len(self.failed) >= self.record_every:
            self.record()

    def refused(self, message_id: int, failure: Exception) -> None:
        """A message failed (a reply, or the connection); recorded with the next batch."""
        self.failed.append((message_id, failure))

    def record(self) -> None:
        """Write every outcome kept so far and commit."""
        if not (self.sent or self.failed):
            return
        if self.sent:
            _record_sent(self.sent)
        if self.failed:
            messages = _messages(n for n, _failure in self.failed)
            for message_id, failure in self.failed:
                message = messages.get(message_id)
                if message is None:  # erased meanwhile
                    continue
                if isinstance(failure, PermanentFailure):
                    _give_up(message, str(failure), self.report)
                else:
                    _retry_later(message, str(failure), self.now(), self.report, self.rng)
        db.session.commit()
        self.report.sent += len(self.sent)
        self.sent, self.failed = [], []


_MARK_SENT = (
    update(OutboxMessage.__table__)
    .where(OutboxMessage.__table__.c.id == bindparam("sent_id"))
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("sent_at"),
        lease_until=None,
        last_error=None,
    )
)


def _record_sent(sent: list[Sent]) -> None:
    """Mark accepted rows sent in one executemany UPDATE, then call their kinds' hooks:
    the batch hook with what was read at the claim, else the one-message hook with each
    row (loaded in one query)."""
    db.session.execute(_MARK_SENT, [{"sent_id": s.id, "sent_at": s.sent_at} for s in sent])
    by_kind: dict[MessageKind, list[Sent]] = defaultdict(list)
    for accepted in sent:
        by_kind[accepted.kind].append(accepted)
    for kind, group in by_kind.items():
        delivery = delivery_for(kind)
        if delivery.on_sent_many is not None:
            delivery.on_sent_many(group)
            continue
        messages = _messages(accepted.id for accepted in group)
        for accepted in group:
            if accepted.id in messages:
                delivery.on_sent(messages[accepted.id])


def _send_batch(
    batch: list[Prepared], outcomes: Outcomes, sleep: Callable[[float], None], pause: float
) -> None:
    try:
        connection = connect()
    except (OSError, smtplib.SMTPException) as exc:
        # Connecting, TLS and login failures say nothing about the messages (a wrong
        # password is fixed by the operator): every message waits for a retry.
        failure = TemporaryFailure(f"cannot connect to the mail server: {_classify(exc)}")
        for prepared in batch:
            outcomes.refused(prepared.id, failure)
        outcomes.record()
        return
    try:
        for index, prepared in enumerate(batch):
            if index and pause:
                sleep(pause)
            try:
                _transmit(connection, prepared.email)
            except (OSError, smtplib.SMTPException) as exc:
                failure = _classify(exc)
                outcomes.refused(prepared.id, failure)
                answered = isinstance(
                    exc, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)
                )
                if not answered:  # the connection is gone: the rest waits for a retry
                    for rest in batch[index + 1 :]:
                        outcomes.refused(rest.id, TemporaryFailure(str(failure)))
                    break
                continue
            outcomes.accepted(prepared)
        outcomes.record()
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()


def _transmit(connection: smtplib.SMTP, email: Rendered) -> None:
    """Hand one message to the server: bytes as they are, an EmailMessage flattened."""
    if isinstance(email, Outgoing):
        connection.sendmail(email.sender, list(email.recipients), email.data)
    else:
        connection.send_message(email)
