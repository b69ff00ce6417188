"""Invitation and reminder emails, built by the mail worker at send time.

Each email mints a fresh token for each of its invitations (so no token is stored in
clear anywhere) and links to the site address from the settings, never to a request's Host
header. It is multipart (plain text and HTML) with a Message-ID, ``List-Unsubscribe``
(mailto, whose subject carries an opt-out token that can do nothing else, and https),
``List-Unsubscribe-Post`` (RFC 8058) and a footer with the opt-out link.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import quote

from flask import current_app
from flask_babel import format_date
from markupsafe import Markup
from sqlalchemy import select

from surveyapp.campaigns import campaign_texts, templates
from surveyapp.campaigns.models import Campaign, Contact, Invitation
from surveyapp.campaigns.opt_out_tokens import unsubscribe_subject
from surveyapp.campaigns.service import is_open, is_reachable, mint_token, set_status
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.i18n import N_, day, gettext, language
from surveyapp.mail.delivery import Delivery, Undeliverable, register
from surveyapp.mail.models import OutboxMessage
from surveyapp.vocabulary import InvitationStatus, MessageKind

NEW_INSTITUTION = N_("your institution")
# Context flag of an invitation email that reopens a link for a late answer.
REOPENED = "late_draft_reopened"
REOPENED_TEXTS = {
    "subject": N_("Your answers about {{ institution }}: please finish and submit"),
    "text": N_(
        "Dear {{ person }},\n\n"
        "Your answers about {{ institution }} arrived after your link had closed. They are "
        "kept: your link works again until {{ until }}. Please open it, check your answers "
        "and submit them:\n{{ link }}\n\nThank you,\nThe {{ campaign }} team\n"
    ),
    "html": N_(
        "<p>Dear {{ person }},</p><p>Your answers about <strong>{{ institution }}</strong> "
        "arrived after your link had closed. They are kept: your link works again until "
        "{{ until }}. Please open it, check your answers and submit them.</p>"
        '<p><a href="{{ link }}">Open your personal link</a></p>'
        "<p>Thank you,<br>The {{ campaign }} team</p>"
    ),
}


def site_url(path: str) -> str:
    """An absolute URL on the configured site address."""
    return current_app.config["SITE_URL"].rstrip("/") + path


def _deliverable(message: OutboxMessage) -> tuple[Campaign, Contact, list[Invitation]]:
    campaign = db.session.get(Campaign, message.campaign_id)
    contact = db.session.get(Contact, message.contact_id)
    invitations = list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.id.in_(message.invitation_ids))
            .order_by(Invitation.id)
        )
    )
    if contact is None or campaign is None or not is_reachable(contact):
        raise Undeliverable("the contact opted out, bounced or is inactive")
    invitations = [
        i for i in invitations if is_open(i) and i.opted_out_at is None and i.bounced_at is None
    ]
    if message.kind == MessageKind.REMINDER:
        invitations = [i for i in invitations if i.submitted_at is None]
    if not invitations:
        raise Undeliverable("no invitation of this email is open any more")
    return campaign, contact, invitations


def build(message: OutboxMessage) -> EmailMessage:
    """Render an invitation or reminder email in the contact's language (the campaign's
    texts in that language, else in its default language), minting one link token per
    invitation."""
    campaign, contact, invitations = _deliverable(message)
    chosen = campaign_texts.texts_for(campaign, contact.language)
    with language(chosen.language):
        return _build(message, campaign, contact, invitations, chosen.texts)


def deadline(campaign: Campaign) -> str:
    """The closing day as the email's language writes it ("15 January 2027",
    "15. Januar 2027")."""
    return format_date(campaign.closes_on, "long")


def _build(
    message: OutboxMessage,
    campaign: Campaign,
    contact: Contact,
    invitations: list[Invitation],
    chosen: dict[str, str],
) -> EmailMessage:
    links = []
    for invitation in invitations:
        token = mint_token(invitation)
        name = invitation.institution.name if invitation.institution else gettext(NEW_INSTITUTION)
        links.append({"institution": name, "link": site_url(f"/i/{token}"), "token": token})
    first = links[0]
    context = {
        "person": contact.name or gettext("colleague"),
        "institution": " and ".join(link["institution"] for link in links),
        "link": first["link"],
        "links": [{"institution": lk["institution"], "link": lk["link"]} for lk in links],
        "deadline": deadline(campaign),
        "campaign": campaign.name,
    }
    prefix = "invitation" if message.kind == MessageKind.INVITATION else "reminder"
    texts = {part: chosen[f"{prefix}_{part}"] for part in ("subject", "text", "html")}
    if message.context.get(REOPENED):
        texts = {part: gettext(text) for part, text in REOPENED_TEXTS.items()}
        context["until"] = day(min(i.expires_at for i in invitations if i.expires_at))
    subject = templates.render(texts["subject"], context, html=False)
    text = templates.render(texts["text"], context, html=False)
    # The sandbox autoescapes HTML templates, so its output is markup already.
    html = Markup(templates.render(texts["html"], context, html=True))  # noqa: S704  # nosec B704
    opt_out = site_url(f"/i/{first['token']}/opt-out")
    one_click = site_url(f"/i/{first['token']}/unsubscribe")
    if len(links) > 1:
        text += (
            "\n"
            + gettext("Your links, one per institution:")
            + "\n"
            + "".join(f"- {lk['institution']}: {lk['link']}\n" for lk in links)
        )
        html += Markup("<p>{}</p><ul>{}</ul>").format(
            gettext("Your links, one per institution:"),
            Markup("").join(
                Markup('<li>{}: <a href="{}">{}</a></li>').format(
                    lk["institution"], lk["link"], lk["link"]
                )
                for lk in links
            ),
        )
    text += (
        "\n--\n"
        + gettext(
            "You received this because you were invited to the %(campaign)s survey. To stop "
            "these emails: %(link)s",
            campaign=campaign.name,
            link=opt_out,
        )
        + "\n"
    )
    html += Markup('<hr><p style="font-size:small">{} <a href="{}">{}</a></p>').format(
        gettext(
            "You received this because you were invited to the %(campaign)s survey.",
            campaign=campaign.name,
        ),
        opt_out,
        gettext("Stop these emails."),
    )

    email = EmailMessage()
    email["Subject"] = subject.replace("\n", " ").strip()
    email["From"] = formataddr((campaign.sender_name, campaign.sender_email))
    email["To"] = formataddr((contact.name or "", contact.email))
    if campaign.reply_to:
        email["Reply-To"] = campaign.reply_to
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(utcnow())
    unsubscribe_mailbox = current_app.config["MAIL_UNSUBSCRIBE_ADDRESS"] or campaign.sender_email
    email["List-Unsubscribe"] = (
        f"<mailto:{unsubscribe_mailbox}?subject={quote(unsubscribe_subject(invitations[0]))}>, "
        f"<{one_click}>"
    )
    email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(text)
    email.add_alternative(str(html), subtype="html")
    return email


def _sent(message: OutboxMessage) -> None:
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.id.in_(message.invitation_ids))
    ):
        set_status(
            invitation,
            InvitationStatus.SENT,
            at=message.sent_at,
            kind=message.kind.value,
            message_id=message.message_id,
        )


def _failed(message: OutboxMessage, reason: str) -> None:
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.id.in_(message.invitation_ids))
    ):
        invitation.failure_reason = reason
        set_status(invitation, InvitationStatus.FAILED, kind=message.kind.value, reason=reason)


def register_deliveries() -> None:
    """Tell the mail worker how to build and follow up invitation and reminder emails."""
    for kind in (MessageKind.INVITATION, MessageKind.REMINDER):
        register(kind, Delivery(render=build, on_sent=_sent, on_failed=_failed))
