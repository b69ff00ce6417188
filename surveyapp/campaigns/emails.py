"""Invitation and reminder emails, built by the mail worker at send time.

Each email mints a fresh token for each of its invitations (so no token is stored in
clear anywhere) and links to the site address from the settings, never to a request's Host
header. It is multipart (plain text and HTML) with a Message-ID, ``List-Unsubscribe``
(mailto, whose subject carries an opt-out token that can do nothing else, and https),
``List-Unsubscribe-Post`` (RFC 8058) and a footer with the opt-out link.

The worker renders a batch at once (:func:`build_many`): four queries load its campaigns,
contacts and invitations, what a campaign's emails share in a language is translated once,
each email is composed as bytes (:func:`surveyapp.mail.delivery.alternative`), and the
token hashes are written by one statement; the accepted emails' invitations are marked
sent by three (:func:`_sent_many`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any
from urllib.parse import quote

from flask import current_app
from flask_babel import format_date
from markupsafe import Markup
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from surveyapp.campaigns import campaign_texts, templates
from surveyapp.campaigns.models import (
    Campaign,
    Contact,
    Invitation,
    InvitationEvent,
    InvitationToken,
)
from surveyapp.campaigns.opt_out_tokens import unsubscribe_subject
from surveyapp.campaigns.service import TOKEN_BYTES, is_open, is_reachable, set_status, token_hash
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.i18n import N_, day, gettext, language
from surveyapp.mail.delivery import (
    BatchRendering,
    Delivery,
    Outgoing,
    Rendered,
    Sent,
    Undeliverable,
    address,
    alternative,
    header_text,
    register,
)
from surveyapp.mail.models import OutboxMessage
from surveyapp.registry.models import Institution
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


# Where a footer's opt-out link goes (no text a person typed can hold a NUL).
_LINK = "\x00link\x00"


@dataclass(frozen=True)
class _Letter:
    """What every email of one campaign in one language shares, translated once."""

    language: str
    texts: dict[str, str]
    deadline: str
    colleague: str
    new_institution: str
    links_heading: str
    footer_text: str  # with _LINK where the opt-out link goes
    footer_html: tuple[Markup, Markup]  # before and after the opt-out link
    sender: str  # the From header, ready for the wire


@dataclass
class _Batch:
    """What one batch's emails are rendered from, read in a few queries."""

    campaigns: dict[int, Campaign]
    contacts: dict[int, Contact]
    invitations: dict[int, Invitation]
    institution_names: dict[int, str]
    letters: dict[tuple[int, str | None], _Letter] = field(default_factory=dict)
    tokens: list[dict[str, Any]] = field(default_factory=list)


def _load(messages: list[OutboxMessage]) -> _Batch:
    """Campaigns (with their translations), contacts and invitations (with their
    institutions' names) of every message: four queries whatever the batch's size."""
    campaign_ids = {m.campaign_id for m in messages if m.campaign_id is not None}
    contact_ids = {m.contact_id for m in messages if m.contact_id is not None}
    invitation_ids = {i for m in messages for i in m.invitation_ids}
    campaigns = db.session.scalars(
        select(Campaign)
        .where(Campaign.id.in_(campaign_ids))
        .options(selectinload(Campaign.translations))
    )
    contacts = db.session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))
    rows = db.session.execute(
        select(Invitation, Institution.name)
        .outerjoin(Institution, Institution.id == Invitation.institution_id)
        .where(Invitation.id.in_(invitation_ids))
    ).all()
    return _Batch(
        campaigns={c.id: c for c in campaigns},
        contacts={c.id: c for c in contacts},
        invitations={invitation.id: invitation for invitation, _name in rows},
        institution_names={invitation.id: name for invitation, name in rows if name},
    )


def _deliverable(
    message: OutboxMessage, batch: _Batch
) -> tuple[Campaign, Contact, list[Invitation]]:
    campaign = batch.campaigns.get(message.campaign_id or 0)
    contact = batch.contacts.get(message.contact_id or 0)
    if contact is None or campaign is None or not is_reachable(contact):
        raise Undeliverable("the contact opted out, bounced or is inactive")
    invitations = [
        i
        for i in sorted(
            (batch.invitations[n] for n in set(message.invitation_ids) if n in batch.invitations),
            key=lambda invitation: invitation.id,
        )
        if is_open(i) and i.opted_out_at is None and i.bounced_at is None
    ]
    if message.kind == MessageKind.REMINDER:
        invitations = [i for i in invitations if i.submitted_at is None]
    if not invitations:
        raise Undeliverable("no invitation of this email is open any more")
    return campaign, contact, invitations


def build_many(messages: list[OutboxMessage]) -> BatchRendering:
    """Render a batch of invitation and reminder emails from a few queries, each in its
    contact's language, minting one link token per invitation; ``save`` writes the tokens'
    hashes in one statement. The mail worker's way: see :func:`build` for one email."""
    batch = _load(messages)
    results: list[Rendered | Exception] = []
    for message in messages:
        try:
            campaign, contact, invitations = _deliverable(message, batch)
            letter = _letter(batch, campaign, contact.language)
            results.append(_build(message, campaign, contact, invitations, letter, batch))
        except SQLAlchemyError:
            raise  # the database failed, not the message
        except Exception as exc:  # the worker cancels or fails this one message only
            results.append(exc)

    def save() -> None:
        if batch.tokens:
            db.session.execute(insert(InvitationToken.__table__), batch.tokens)

    return BatchRendering(results, save)


def build(message: OutboxMessage) -> Rendered:
    """Render one invitation or reminder email in the contact's language (the campaign's
    texts in that language, else in its default language), minting one link token per
    invitation (added to the session)."""
    rendering = build_many([message])
    (result,) = rendering.results
    if isinstance(result, Exception):
        raise result
    rendering.save()
    return result


def deadline(campaign: Campaign) -> str:
    """The closing day as the email's language writes it ("15 January 2027",
    "15. Januar 2027")."""
    return format_date(campaign.closes_on, "long")


def _letter(batch: _Batch, campaign: Campaign, contact_language: str | None) -> _Letter:
    """The shared part of a campaign's emails in a contact's language, made once a batch."""
    key = (campaign.id, contact_language)
    if key not in batch.letters:
        chosen = campaign_texts.texts_for(campaign, contact_language)
        with language(chosen.language):
            batch.letters[key] = _Letter(
                language=chosen.language,
                texts=chosen.texts,
                deadline=deadline(campaign),
                colleague=gettext("colleague"),
                new_institution=gettext(NEW_INSTITUTION),
                links_heading=gettext("Your links, one per institution:"),
                footer_text=gettext(
                    "You received this because you were invited to the %(campaign)s survey. "
                    "To stop these emails: %(link)s",
                    campaign=campaign.name,
                    link=_LINK,
                ),
                footer_html=(
                    Markup('<hr><p style="font-size:small">{} <a href="').format(
                        gettext(
                            "You received this because you were invited to the %(campaign)s "
                            "survey.",
                            campaign=campaign.name,
                        )
                    ),
                    Markup('">{}</a></p>').format(gettext("Stop these emails.")),
                ),
                sender=address(campaign.sender_name, campaign.sender_email)
                if _wire_ready(campaign.sender_name)
                else "",
            )
    return batch.letters[key]


def _wire_ready(*values: str | None) -> bool:
    """True when texts can go into a header as they are or RFC 2047 encoded: printable,
    one line (the campaign and contact forms refuse line breaks; this keeps a row written
    before that check from reaching the headers)."""
    return all(value is None or value.isprintable() for value in values)


def _build(
    message: OutboxMessage,
    campaign: Campaign,
    contact: Contact,
    invitations: list[Invitation],
    letter: _Letter,
    batch: _Batch,
) -> Rendered:
    links = []
    for invitation in invitations:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        batch.tokens.append({"invitation_id": invitation.id, "token_hash": token_hash(token)})
        name = batch.institution_names.get(invitation.id, letter.new_institution)
        links.append({"institution": name, "link": site_url(f"/i/{token}"), "token": token})
    first = links[0]
    context = {
        "person": contact.name or letter.colleague,
        "institution": " and ".join(link["institution"] for link in links),
        "link": first["link"],
        "links": [{"institution": lk["institution"], "link": lk["link"]} for lk in links],
        "deadline": letter.deadline,
        "campaign": campaign.name,
    }
    prefix = "invitation" if message.kind == MessageKind.INVITATION else "reminder"
    texts = {part: letter.texts[f"{prefix}_{part}"] for part in ("subject", "text", "html")}
    if message.context.get(REOPENED):
        with language(letter.language):
            texts = {part: gettext(text) for part, text in REOPENED_TEXTS.items()}
            context["until"] = day(min(i.expires_at for i in invitations if i.expires_at))
    subject = _subject(texts["subject"], context)
    text = templates.render(texts["text"], context, html=False)
    # The sandbox autoescapes HTML templates, so its output is markup already.
    html = Markup(templates.render(texts["html"], context, html=True))  # noqa: S704  # nosec B704
    opt_out = site_url(f"/i/{first['token']}/opt-out")
    one_click = site_url(f"/i/{first['token']}/unsubscribe")
    if len(links) > 1:
        text += (
            "\n"
            + letter.links_heading
            + "\n"
            + "".join(f"- {lk['institution']}: {lk['link']}\n" for lk in links)
        )
        html += Markup("<p>{}</p><ul>{}</ul>").format(
            letter.links_heading,
            Markup("").join(
                Markup('<li>{}: <a href="{}">{}</a></li>').format(
                    lk["institution"], lk["link"], lk["link"]
                )
                for lk in links
            ),
        )
    text += "\n--\n" + letter.footer_text.replace(_LINK, opt_out) + "\n"
    html += letter.footer_html[0] + opt_out + letter.footer_html[1]  # the link is escaped
    headers = _Headers(
        subject=subject.replace("\r", " ").replace("\n", " ").strip(),
        to_name=contact.name or "",
        to=contact.email,
        reply_to=campaign.reply_to,
        message_id=message.message_id,
        unsubscribe=(
            "<mailto:"
            + (current_app.config["MAIL_UNSUBSCRIBE_ADDRESS"] or campaign.sender_email)
            + f"?subject={quote(unsubscribe_subject(invitations[0]))}>"
        ),
        one_click=f"<{one_click}>",
    )
    if letter.sender and headers.wire_ready():
        return Outgoing(
            sender=campaign.sender_email,
            recipients=(contact.email,),
            data=alternative(headers.for_the_wire(letter.sender), text, str(html)),
        )
    return _email_message(headers, campaign, text, str(html))


def _subject(template: str, context: dict[str, Any]) -> str:
    """A subject: rendered, unless it is one line without placeholders, which the sandbox
    would give back as it is (most campaigns' subjects, the same in every email)."""
    if "{" in template or "\n" in template or "\r" in template:
        return templates.render(template, context, html=False)
    return template


@dataclass(frozen=True)
class _Headers:
    """The headers that differ from one email to the next."""

    subject: str
    to_name: str
    to: str
    reply_to: str | None
    message_id: str
    unsubscribe: str
    one_click: str

    def wire_ready(self) -> bool:
        """True when the composer can write them: ASCII addresses and printable texts
        (anything else, e.g. an internationalised address, goes through EmailMessage)."""
        ascii_parts = (self.to, self.reply_to or "", self.message_id, self.unsubscribe)
        return all(part.isascii() for part in ascii_parts) and _wire_ready(
            self.subject, self.to_name, *ascii_parts, self.one_click
        )

    def for_the_wire(self, sender: str) -> list[tuple[str, str]]:
        """Names and encoded values, in the order the email has always had them."""
        headers = [
            ("Subject", header_text("Subject", self.subject)),
            ("From", sender),
            ("To", address(self.to_name, self.to)),
        ]
        if self.reply_to:
            headers.append(("Reply-To", self.reply_to))
        return [
            *headers,
            ("Message-ID", self.message_id),
            ("Date", format_datetime(utcnow())),
            ("List-Unsubscribe", f"{self.unsubscribe},\r\n {self.one_click}"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Auto-Submitted", "auto-generated"),
        ]


def _email_message(headers: _Headers, campaign: Campaign, text: str, html: str) -> EmailMessage:
    """The same email built by the email package, for what the composer does not write."""
    email = EmailMessage()
    email["Subject"] = headers.subject
    email["From"] = formataddr((campaign.sender_name, campaign.sender_email))
    email["To"] = formataddr((headers.to_name, headers.to))
    if headers.reply_to:
        email["Reply-To"] = headers.reply_to
    email["Message-ID"] = headers.message_id
    email["Date"] = format_datetime(utcnow())
    email["List-Unsubscribe"] = f"{headers.unsubscribe}, {headers.one_click}"
    email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(text)
    email.add_alternative(html, subtype="html")
    return email


def _sent(message: OutboxMessage) -> None:
    _sent_many(
        [
            Sent(
                message.id,
                message.kind,
                message.message_id,
                tuple(message.invitation_ids),
                message.sent_at or utcnow(),
            )
        ]
    )


# The statuses a sending does not move an invitation back from: the later steps of the
# answer (set_status's rule; tests/mail/test_batches.py checks the two agree for every status).
_PAST_SENT = frozenset(
    {
        InvitationStatus.OPENED,
        InvitationStatus.STARTED,
        InvitationStatus.SUBMITTED,
        InvitationStatus.IN_REVIEW,
        InvitationStatus.APPROVED,
    }
)
_MARK_SENT = (
    update(Invitation.__table__)
    .where(Invitation.__table__.c.id == bindparam("invitation"))
    .values(
        status=bindparam("new_status"),
        first_sent_at=func.coalesce(Invitation.__table__.c.first_sent_at, bindparam("at")),
        last_sent_at=bindparam("at"),
    )
)


def _sent_many(messages: list[Sent]) -> None:
    """Mark the invitations of accepted emails sent as :func:`set_status` does (the status
    unless the answer is further on, the first and last sending, an event in the
    timeline), in three statements for a whole batch: one reads the statuses, one
    executemany UPDATE and one executemany INSERT write them."""
    wanted = {n for message in messages for n in message.invitation_ids}
    status = dict(
        db.session.execute(
            select(Invitation.id, Invitation.status).where(Invitation.id.in_(wanted))
        ).all()
    )
    changes: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for message in messages:
        at, detail = message.sent_at, {"kind": message.kind.value, "message_id": message.message_id}
        for number in sorted(set(message.invitation_ids) & status.keys()):
            if status[number] not in _PAST_SENT:
                status[number] = InvitationStatus.SENT
            changes.append({"invitation": number, "new_status": status[number], "at": at})
            events.append(
                {
                    "invitation_id": number,
                    "status": InvitationStatus.SENT,
                    "at": at,
                    "detail": detail,
                }
            )
    if changes:
        db.session.execute(_MARK_SENT, changes)
        db.session.execute(insert(InvitationEvent.__table__), events)


def _failed(message: OutboxMessage, reason: str) -> None:
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.id.in_(message.invitation_ids))
    ):
        invitation.failure_reason = reason
        set_status(invitation, InvitationStatus.FAILED, kind=message.kind.value, reason=reason)


def register_deliveries() -> None:
    """Tell the mail worker how to build and follow up invitation and reminder emails,
    one at a time or a batch at once."""
    for kind in (MessageKind.INVITATION, MessageKind.REMINDER):
        register(
            kind,
            Delivery(
                render=build,
                on_sent=_sent,
                on_failed=_failed,
                render_many=build_many,
                on_sent_many=_sent_many,
            ),
        )
