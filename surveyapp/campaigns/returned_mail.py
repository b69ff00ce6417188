"""What a message that came back means for the registry's contacts and invitations.

A hard bounce (5.x.x) marks the matching invitations bounced and the contact unreachable
at once; soft bounces (4.x.x) are counted per address and do so when they reach
``MAILBOX_SOFT_BOUNCE_LIMIT``. An unsubscribe by email opts the contact out exactly as the
one-click link does. Anything else is kept for a person to read. Each message is recorded
in :class:`ReturnedMail` before anything changes, under its key and recipient, so a message
read twice (a second poll, two pollers, a file ingested again) changes nothing the second
time. Functions here flush and the caller commits, except :func:`poll`, which commits each
message before it moves it out of the mailbox.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from surveyapp.campaigns import opt_out_tokens
from surveyapp.campaigns.models import Campaign, Contact, Invitation, ReturnedMail
from surveyapp.campaigns.service import InvalidLink, mark_bounced, opt_out
from surveyapp.database import alone, utcnow
from surveyapp.extensions import db
from surveyapp.mail.models import OutboxMessage
from surveyapp.mail.return_mailbox import MailboxSettings, MailboxUnavailable, ReturnMailbox
from surveyapp.mail.returns import Failure, Returned, read_returned
from surveyapp.vocabulary import ReturnedKind

POLL_PURPOSE = "poll the return mailbox"
# Bounces may arrive days after a campaign's last email (servers retry for up to five).
LATE_BOUNCE_DAYS = 7


@dataclass
class Taken:
    """What reading some returned messages did, for the command's summary."""

    bounced: int = 0
    soft_counted: int = 0
    unmatched: int = 0
    opted_out: int = 0
    to_read: int = 0
    already_read: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.bounced} invitations marked bounced, {self.soft_counted} soft bounces "
            f"counted, {self.opted_out} unsubscribes, {self.to_read} messages to read, "
            f"{self.unmatched} bounces matched nothing, {self.already_read} already read"
        )


def _record(returned: Returned, kind: ReturnedKind, recipient: str = "", **details: Any) -> bool:
    """Record one returned message (or one of its recipients); False when it was already
    recorded, by an earlier read or by another poller at the same moment."""
    row = ReturnedMail(
        message_key=returned.key,
        recipient=recipient,
        kind=kind,
        subject=returned.subject[:500],
        **details,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True


def _bounced_email(returned: Returned, failure: Failure) -> OutboxMessage | None:
    """The email of ours a failure is about: by the original's Message-ID, else the last
    campaign email sent to that address before the bounce, within its campaign's
    sending window (from its opening to a few days after it closed)."""
    if returned.original_message_id:
        found = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.message_id == returned.original_message_id)
        )
        if found is not None:
            return found
    bounced = returned.sent_at or utcnow()
    day = bounced.date()
    return db.session.scalar(
        select(OutboxMessage)
        .join(Campaign, Campaign.id == OutboxMessage.campaign_id)
        .where(
            func.lower(OutboxMessage.to_address) == failure.recipient,
            OutboxMessage.sent_at <= bounced,
            Campaign.opens_on <= day,
            Campaign.closes_on >= day - timedelta(days=LATE_BOUNCE_DAYS),
        )
        .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
        .limit(1)
    )


def _take_failure(returned: Returned, failure: Failure, taken: Taken, actor: str) -> None:
    kind = ReturnedKind.HARD_BOUNCE if failure.permanent else ReturnedKind.SOFT_BOUNCE
    contact = db.session.scalar(
        select(Contact).where(func.lower(Contact.email) == failure.recipient)
    )
    recorded = _record(
        returned,
        kind,
        failure.recipient,
        status=failure.status[:16],
        reason=failure.reason[:2000],
        contact_id=contact.id if contact else None,
    )
    if not recorded:
        taken.already_read += 1
        return
    message = _bounced_email(returned, failure)
    if message is None or not message.invitation_ids:
        taken.unmatched += 1
        taken.notes.append(f"no email of ours matches the bounce for {failure.recipient}")
        return
    reason = f"{failure.status} {failure.reason}".strip()
    if not failure.permanent:
        soft = db.session.scalar(
            select(func.count(ReturnedMail.id)).where(
                ReturnedMail.recipient == failure.recipient,
                ReturnedMail.kind == ReturnedKind.SOFT_BOUNCE,
            )
        )
        limit = current_app.config["MAILBOX_SOFT_BOUNCE_LIMIT"]
        taken.soft_counted += 1
        if soft < limit:
            return
        reason = f"{soft} soft bounces; the last: {reason}"
    invitations = list(
        db.session.scalars(select(Invitation).where(Invitation.id.in_(message.invitation_ids)))
    )
    taken.bounced += mark_bounced(invitations, reason, actor=actor)


def take_in(returned: Returned, taken: Taken, *, actor: str) -> bool:
    """Act on one returned message (see the module's docstring); True when it is for a
    person to read (neither a bounce nor a valid unsubscribe)."""
    if returned.kind == "bounce":
        for failure in returned.failures:
            _take_failure(returned, failure, taken, actor)
        return False
    if returned.kind == "unsubscribe":
        try:
            invitation = opt_out_tokens.invitation_to_opt_out(returned.subject)
        except InvalidLink:
            invitation = None
        if invitation is not None:
            if _record(returned, ReturnedKind.UNSUBSCRIBE, contact_id=invitation.contact_id):
                opt_out(invitation, everything=False)
                taken.opted_out += 1
            else:
                taken.already_read += 1
            return False
    if _record(returned, ReturnedKind.OTHER, reason=returned.problem or ""):
        taken.to_read += 1
    else:
        taken.already_read += 1
    return True


def poll(settings: MailboxSettings, *, actor: str) -> Taken:
    """Read every message waiting in the return mailbox, act on each and file it away;
    while one server polls, another's poll leaves the mailbox to it (two would both move
    a message, and its copy would land in the processed folder twice).

    Each message is acted on and committed before it is moved: a poll stopped between
    the two reads it again next time, and its record makes that change nothing. Raises
    :class:`MailboxUnavailable` when the mailbox cannot be reached or refuses the login;
    nothing has changed then.
    """
    taken = Taken()
    with alone(db.engine, POLL_PURPOSE) as first:
        if not first:
            taken.notes.append("another poller is reading the return mailbox; left to it")
            return taken
        with ReturnMailbox(settings) as box:
            for uid, raw in box.waiting():
                to_read = take_in(read_returned(raw), taken, actor=actor)
                db.session.commit()
                box.file_away(uid, to_read=to_read)
    return taken


def returned_for(contact_id: int) -> list[ReturnedMail]:
    """Every bounce and emailed unsubscribe recorded for a contact, newest first (for an
    invitation's page: soft bounces show there before they add up to undeliverable)."""
    return list(
        db.session.scalars(
            select(ReturnedMail)
            .where(ReturnedMail.contact_id == contact_id)
            .order_by(ReturnedMail.read_at.desc(), ReturnedMail.id.desc())
        )
    )


def waiting_to_read() -> int:
    """How many returned messages were neither a bounce nor an unsubscribe: they wait in
    the mailbox's folder for a person to read."""
    return int(
        db.session.scalar(
            select(func.count(ReturnedMail.id)).where(ReturnedMail.kind == ReturnedKind.OTHER)
        )
        or 0
    )


# The longest the mail worker waits before trying an unreachable mailbox again, in seconds.
MAX_MAILBOX_BACKOFF = 3600


@dataclass
class ScheduledPoll:
    """The mail worker's poll of the return mailbox every ``every`` seconds
    (``MAILBOX_POLL_SECONDS``): a mailbox that cannot be reached, a refused login or a
    database error is logged and tried again after a pause that doubles up to an hour,
    and never stops the worker sending."""

    every: float
    next_at: float = 0.0
    failures: int = 0

    def __str__(self) -> str:
        return "reading the return mailbox"

    def __call__(self) -> str | None:
        now = time.monotonic()
        if now < self.next_at:
            return None
        try:
            settings = MailboxSettings.from_config(current_app.config)
            if settings is None:
                self.next_at = now + self.every
                return None
            taken = poll(settings, actor="mail worker")
        except (MailboxUnavailable, SQLAlchemyError) as exc:
            db.session.rollback()
            self.failures += 1
            pause = min(max(self.every, 1.0) * 2 ** (self.failures - 1), MAX_MAILBOX_BACKOFF)
            self.next_at = now + pause
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            current_app.logger.warning("return mailbox: %s", reason)
            return f"return mailbox: {reason}; trying again in {pause:g} s"
        self.failures = 0
        self.next_at = now + self.every
        if taken.summary() == Taken().summary():
            return None
        return f"return mailbox: {taken.summary()}"
