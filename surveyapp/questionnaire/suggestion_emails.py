"""The email asking a suggester to confirm their suggestion, with the confirmation link.

Built by the mail worker at send time in the language of the page the suggestion was
sent from; the link is signed then, so no token is ever stored. A suggestion confirmed or
purged meanwhile gets no email.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime

from flask import current_app
from markupsafe import Markup

from surveyapp.campaigns.emails import site_url
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import day, language
from surveyapp.i18n import gettext as _
from surveyapp.mail.delivery import Delivery, Undeliverable, register
from surveyapp.mail.models import OutboxMessage
from surveyapp.questionnaire.models import Submission
from surveyapp.questionnaire.suggestion_confirmation import confirm_days, confirmation_token
from surveyapp.vocabulary import MessageKind, SubmissionStatus


def build(message: OutboxMessage) -> EmailMessage:
    """The confirmation request of one suggestion still waiting for it."""
    suggestion = db.session.get(Submission, message.context.get("submission_id"))
    if (
        suggestion is None
        or suggestion.status != SubmissionStatus.DRAFT
        or suggestion.email_confirmed_at is not None
        or suggestion.submitter_email is None
    ):
        raise Undeliverable("the suggestion is gone or no longer waits for confirmation")
    page_language = str(message.context.get("language") or "en")
    with language(page_language):
        return _build(message, suggestion, page_language)


def _build(message: OutboxMessage, suggestion: Submission, page_language: str) -> EmailMessage:
    link = site_url(f"/suggest/confirm/{confirmation_token(suggestion, page_language)}")
    facility = (suggestion.answers.get("institution") or {}).get("institution") or ""
    person = suggestion.submitter_name or _("colleague")
    dear = _("Dear %(person)s,", person=person)
    thanks = _(
        "Thank you for suggesting %(facility)s for the European registry of ATMP facilities.",
        facility=facility,
    )
    ask = _(
        "Please confirm that the suggestion is yours: it reaches our curators only then. "
        "Open this link and press Confirm before %(date)s:",
        date=day(suggestion.created_at + confirm_days()),
    )
    ignore = _("If you did not suggest anything, ignore this email: the suggestion is deleted.")
    text = "\n".join([dear, "", thanks, "", ask, link, "", ignore]) + "\n"
    html = Markup('<p>{}</p><p>{}</p><p>{}<br><a href="{}">{}</a></p><p>{}</p>').format(
        dear, thanks, ask, link, link, ignore
    )
    email = EmailMessage()
    email["Subject"] = _("Please confirm your suggestion")
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.to_address
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(utcnow())
    email["Auto-Submitted"] = "auto-replied"
    email.set_content(text)
    email.add_alternative(str(html), subtype="html")
    return email


def _sent(_message: OutboxMessage) -> None:
    """Sending the request changes nothing: the suggestion waits for the click."""


def _failed(message: OutboxMessage, reason: str) -> None:
    audit(
        "mail.suggestion_confirmation_failed",
        "mail worker",
        target_type="outbox_message",
        target_id=message.id,
        reason=reason[:500],
    )


def register_deliveries() -> None:
    """Tell the mail worker how to build confirmation requests of suggestions."""
    register(
        MessageKind.SUGGESTION_CONFIRMATION,
        Delivery(render=build, on_sent=_sent, on_failed=_failed),
    )
