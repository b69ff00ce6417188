"""The curators' daily digest: an email listing what arrived in the review queue.

Curators opt in on their account page. ``flask review send-digest`` (cron, once a day)
queues, through the outbox, one digest per opted-in active curator when submissions were
sent or sent again since their last digest and still wait for someone to take them: none
when nothing arrived, never two on one (UTC) day. The email is built by the mail worker
at send time and lists only what still waits then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select

from surveyapp.auth.models import User, UserRole
from surveyapp.campaigns.emails import site_url
from surveyapp.database import take_turns, utcnow
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import gettext as _
from surveyapp.i18n import language, ngettext
from surveyapp.mail.delivery import Undeliverable
from surveyapp.mail.models import OutboxMessage
from surveyapp.mail.service import queue
from surveyapp.questionnaire.models import Submission
from surveyapp.vocabulary import MessageKind, Role, SubmissionStatus

REVIEWERS = (Role.CURATOR, Role.ADMIN)


def may_subscribe(user: User) -> bool:
    """Only those who review (curators and admins) can ask for the digest."""
    return user.has_role(*REVIEWERS)


def subscribe(user: User, wanted: bool) -> None:
    """Switch a reviewer's daily digest on or off (the caller commits)."""
    if wanted and not may_subscribe(user):
        raise ValueError("only curators and admins can receive the review digest")
    if user.review_digest == wanted:
        return
    user.review_digest = wanted
    audit("account.review_digest", user.email, target_type="user", target_id=user.id, on=wanted)
    db.session.flush()


def waiting(since: datetime | None = None, until: datetime | None = None) -> list[Submission]:
    """Submissions waiting for a curator to take them, sent (again) after ``since``."""
    query = select(Submission).where(Submission.status == SubmissionStatus.SUBMITTED)
    if since is not None:
        query = query.where(Submission.submitted_at > since)
    if until is not None:
        query = query.where(Submission.submitted_at <= until)
    return list(db.session.scalars(query.order_by(Submission.submitted_at, Submission.id)))


@dataclass
class DigestReport:
    """What one run of ``send-digest`` queued."""

    queued: int = 0
    nothing_new: int = 0
    already_today: int = 0

    def summary(self) -> str:
        """One line for the command line."""
        return (
            f"digests queued: {self.queued}; curators with nothing new: {self.nothing_new}; "
            f"curators who had today's digest already: {self.already_today}"
        )


def subscribers() -> list[User]:
    """Active curators and admins who asked for the digest."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                User.review_digest.is_(True),
                User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(REVIEWERS))),
            )
            .order_by(User.id)
        )
    )


# What digests run on several servers take turns by (:func:`database.take_turns`).
DIGEST_TURN = "review send-digest"


def queue_digests(now: datetime | None = None) -> DigestReport:
    """Queue today's digest for every subscriber to whom something new arrived; runs on
    several servers at once take turns, so each digest is queued once."""
    take_turns(db.session(), DIGEST_TURN)
    now = now or utcnow()
    report = DigestReport()
    for user in subscribers():
        last = user.digest_sent_at
        if last is not None and last.date() == now.date():
            report.already_today += 1
            continue
        arrived = waiting(last, now)
        if not arrived:
            report.nothing_new += 1
            continue
        queue(
            MessageKind.REVIEW_DIGEST,
            user.email,
            context={
                "user_id": user.id,
                "submission_ids": [s.id for s in arrived],
                "since": last.isoformat() if last else None,
            },
            now=now,
        )
        user.digest_sent_at = now
        report.queued += 1
    db.session.flush()
    return report


def _described(submission: Submission) -> str:
    """A line naming the institution and whether this is a first answer or a resubmission."""
    name = (
        submission.institution.name
        if submission.institution is not None
        else (submission.answers.get("institution") or {}).get("institution") or _("(no name)")
    )
    version = submission.latest_version.number if submission.latest_version else 1
    if submission.unverified:
        kind = _("public suggestion")
    elif version > 1:
        kind = _("sent again (version %(number)s)", number=version)
    elif submission.nothing_changed:
        kind = _("nothing has changed")
    else:
        kind = _("new")
    return f"{name} ({kind})"


def build(message: OutboxMessage) -> EmailMessage:
    """Render a digest with what of it still waits; cancelled when nothing does."""
    user = db.session.get(User, message.context.get("user_id"))
    if user is None or not user.active or not user.review_digest:
        raise Undeliverable("the curator no longer wants the digest")
    ids = message.context.get("submission_ids") or []
    listed = [
        s
        for s in db.session.scalars(
            select(Submission).where(Submission.id.in_(ids)).order_by(Submission.submitted_at)
        )
        if s.status == SubmissionStatus.SUBMITTED
    ]
    if not listed:
        raise Undeliverable("everything in the digest has been taken into review meanwhile")
    in_queue = len(waiting())
    with language(None):
        subject = ngettext(
            "%(num)d submission arrived for review",
            "%(num)d submissions arrived for review",
            len(listed),
        )
        intro = (
            _("Since your last digest, these arrived in the review queue:")
            if message.context.get("since")
            else _("These wait in the review queue:")
        )
        total = ngettext(
            "In all, %(num)d submission waits to be taken into review.",
            "In all, %(num)d submissions wait to be taken into review.",
            in_queue,
        )
        footer = _(
            "You receive this email at most once a day because you asked for it on your "
            "account page. Untick it there to stop it:"
        )
        queue_link = site_url("/staff/review/")
        account_link = site_url("/account/#digest")
        rows = [(_described(s), site_url(f"/staff/review/{s.id}")) for s in listed]
    text = [intro, ""]
    text += [f"- {line}\n  {link}" for line, link in rows]
    text += ["", f"{total} {queue_link}", "", "-- ", f"{footer} {account_link}"]
    html = Markup(
        '<p>{}</p><ul>{}</ul><p>{} <a href="{}">{}</a></p><hr><p>{} <a href="{}">{}</a></p>'
    ).format(
        intro,
        Markup("").join(
            Markup('<li><a href="{}">{}</a></li>').format(link, line) for line, link in rows
        ),
        total,
        queue_link,
        queue_link,
        footer,
        account_link,
        account_link,
    )
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = user.email
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(utcnow())
    email["Auto-Submitted"] = "auto-generated"
    email["List-Unsubscribe"] = f"<{account_link}>"
    email.set_content("\n".join(text) + "\n")
    email.add_alternative(str(html), subtype="html")
    return email


def on_sent(_message: OutboxMessage) -> None:
    """A digest changes nothing once sent: the day was recorded when it was queued."""


def on_failed(message: OutboxMessage, reason: str) -> None:
    """A digest that cannot be delivered is logged for the admins."""
    audit(
        "mail.review_digest_failed",
        "mail worker",
        target_type="outbox_message",
        target_id=message.id,
        reason=reason[:500],
    )
