"""The confirmation email: a copy of the answers, a fresh link to amend them, and a link to
withdraw the consent to publish the contact (as easy to withdraw as it was to give)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from markupsafe import Markup
from sqlalchemy import select

from surveyapp.campaigns.emails import site_url
from surveyapp.campaigns.models import Invitation
from surveyapp.campaigns.service import is_open, mint_token
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import gettext as _
from surveyapp.i18n import language
from surveyapp.mail.delivery import Delivery, Undeliverable, register
from surveyapp.mail.models import OutboxMessage
from surveyapp.questionnaire import suggestion_emails
from surveyapp.questionnaire.models import SubmissionVersion
from surveyapp.questionnaire.service import definition_of, summary
from surveyapp.vocabulary import MessageKind


def build(message: OutboxMessage) -> EmailMessage:
    """Render the confirmation of one submitted version, minting a link token."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.id.in_(message.invitation_ids))
    )
    version = db.session.get(SubmissionVersion, message.context.get("submission_version_id"))
    if invitation is None or version is None or not is_open(invitation):
        raise Undeliverable("the invitation or the submission is gone")
    with language(invitation.contact.language):
        return _build(message, invitation, version)


def _build(
    message: OutboxMessage, invitation: Invitation, version: SubmissionVersion
) -> EmailMessage:
    campaign, contact = invitation.campaign, invitation.contact
    token = mint_token(invitation)
    link = site_url(f"/i/{token}/thanks")
    withdrawal = site_url(f"/i/{token}/withdraw-consent")
    sections = summary(definition_of(version.submission), version.answers)
    what = (
        _("You confirmed that the registry's entries are still correct.")
        if version.nothing_changed
        else _("These are the answers you sent:")
    )
    person = contact.name or _("colleague")
    dear = _("Dear %(person)s,", person=person)
    thanks = _(
        "Thank you for answering the %(campaign)s survey. A curator will review your "
        "answers before they reach the registry.",
        campaign=campaign.name,
    )
    amend = _("See or amend your answers until a curator takes them into review:")
    withdraw = _("Withdraw your consent to be shown publicly, at any time:")
    text_lines = [dear, "", thanks, "", what, ""]
    for heading, rows in sections:
        text_lines.append(heading)
        text_lines += [f"  {label}: {value or '-'}" for label, value in rows]
        text_lines.append("")
    text_lines += [f"{amend} {link}", "", f"{withdraw} {withdrawal}"]
    html = Markup("<p>{}</p><p>{}</p><p>{}</p>").format(dear, thanks, what)
    for heading, rows in sections:
        html += Markup("<h3>{}</h3><table>{}</table>").format(
            heading,
            Markup("").join(
                Markup("<tr><th align='left'>{}</th><td>{}</td></tr>").format(label, value or "-")
                for label, value in rows
            ),
        )
    html += Markup('<p>{} <a href="{}">{}</a></p>').format(amend, link, link)
    html += Markup('<p>{} <a href="{}">{}</a></p>').format(withdraw, withdrawal, withdrawal)

    email = EmailMessage()
    email["Subject"] = _("Your answers to %(campaign)s", campaign=campaign.name)
    email["From"] = formataddr((campaign.sender_name, campaign.sender_email))
    email["To"] = formataddr((contact.name or "", contact.email))
    if campaign.reply_to:
        email["Reply-To"] = campaign.reply_to
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(utcnow())
    email["Auto-Submitted"] = "auto-replied"
    email.set_content("\n".join(text_lines) + "\n")
    email.add_alternative(str(html), subtype="html")
    return email


def _sent(_message: OutboxMessage) -> None:
    """A confirmation changes no invitation status."""


def _failed(message: OutboxMessage, reason: str) -> None:
    audit(
        "mail.confirmation_failed",
        "mail worker",
        target_type="outbox_message",
        target_id=message.id,
        reason=reason[:500],
    )


def register_deliveries() -> None:
    """Tell the mail worker how to build confirmation emails: of answers, and the
    requests to confirm a public suggestion."""
    register(MessageKind.CONFIRMATION, Delivery(render=build, on_sent=_sent, on_failed=_failed))
    suggestion_emails.register_deliveries()
