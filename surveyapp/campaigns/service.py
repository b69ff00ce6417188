"""Campaign operations: contacts and their institutions, campaigns, invitations, reminders.

Everything here flushes and never commits; emails are queued in the outbox in the same
transaction as their cause, and a mail worker sends them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

import pycountry
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from rapidfuzz import fuzz, utils
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import joinedload, selectinload

from surveyapp.campaigns import templates as email_templates
from surveyapp.campaigns.models import (
    Campaign,
    Contact,
    ContactLink,
    Invitation,
    InvitationEvent,
    InvitationToken,
)
from surveyapp.database import take_turns, utcnow
from surveyapp.definitions import DefinitionError, load_definition, split_name
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import counted, language_of_country
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.mail.models import OutboxMessage
from surveyapp.mail.service import queue
from surveyapp.registry.models import Institution
from surveyapp.text_input import has_line_break
from surveyapp.vocabulary import (
    InvitationStatus,
    LinkStatus,
    MessageKind,
    OutboxStatus,
)

WEBMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "icloud.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
    }
)
LINK_THRESHOLD = 80.0
UNANSWERED = (
    InvitationStatus.QUEUED,
    InvitationStatus.SENT,
    InvitationStatus.OPENED,
    InvitationStatus.STARTED,
)
REMINDABLE = (InvitationStatus.SENT, InvitationStatus.OPENED, InvitationStatus.STARTED)
TOKEN_BYTES = 32


class CampaignError(Exception):
    """A campaign operation cannot be done; the message says why, for the coordinator."""


class InvalidLink(Exception):
    """An invitation link is unknown, expired or revoked (the respondent is not told which)."""


class CampaignNotOpenYet(Exception):
    """A valid link was opened before its campaign's opening day; carries that day."""

    def __init__(self, invitation: Invitation, opens_on: date) -> None:
        super().__init__(f"campaign opens on {opens_on.isoformat()}")
        self.invitation = invitation
        self.opens_on = opens_on


# Contacts ------------------------------------------------------------------------------


def normalise_contact_email(email: str) -> str:
    """A syntax-checked, lower-cased address (the DNS check follows the settings)."""
    try:
        checked = validate_email(
            email.strip(),
            check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
        )
    except EmailNotValidError as exc:
        raise CampaignError(str(exc)) from exc
    return checked.normalized.lower()


def read_language(text: str) -> str:
    """An ISO 639-1 language code from a code or an English name ('de', 'German')."""
    text = text.strip()
    if not text:
        return "en"
    language = pycountry.languages.get(alpha_2=text.lower())
    if language is None:
        try:
            language = pycountry.languages.lookup(text)
        except LookupError:
            language = None
    if language is None or not hasattr(language, "alpha_2"):
        raise CampaignError(
            _l("%(text)s is not a language (use a code such as en, de, fr)", text=repr(text))
        )
    return language.alpha_2


def upsert_contact(
    email: str,
    *,
    source: str,
    name: str | None = None,
    institution_name: str | None = None,
    country_code: str | None = None,
    language: str | None = None,
    **_: Any,
) -> tuple[Contact, str]:
    """Create or update the contact with this email; returns it and created/updated/unchanged.
    A name with a line break is refused: emails carry it in their To header. A new contact
    without a language gets their country's (:func:`language_of_country`); an existing
    one keeps theirs."""
    if has_line_break(name) or has_line_break(institution_name):
        raise CampaignError(_l("A contact's name must be one line: remove the line break."))
    contact = db.session.scalar(select(Contact).where(Contact.email == email))
    if contact is None:
        contact = Contact(
            email=email,
            name=name,
            institution_name=institution_name,
            country_code=country_code,
            language=language or language_of_country(country_code),
            source=source,
            links=[],
        )
        db.session.add(contact)
        db.session.flush()
        return contact, "created"
    before = (contact.name, contact.institution_name, contact.country_code, contact.language)
    contact.name = name or contact.name
    contact.institution_name = institution_name or contact.institution_name
    contact.country_code = country_code or contact.country_code
    contact.language = language or contact.language
    after = (contact.name, contact.institution_name, contact.country_code, contact.language)
    return contact, "updated" if after != before else "unchanged"


def link_contact(
    contact: Contact,
    institution: Institution,
    status: LinkStatus,
    *,
    actor: str | None = None,
    score: float = 100.0,
    reasons: list[str] | None = None,
) -> ContactLink:
    """Create or change the link between a contact and an institution."""
    link = next((lk for lk in contact.links if lk.institution_id == institution.id), None)
    if link is None:
        link = ContactLink(
            contact=contact,
            institution=institution,
            status=status,
            score=score,
            reasons=reasons or [],
        )
        db.session.add(link)
    else:
        link.status = status
    if status != LinkStatus.PROPOSED:
        link.decided_by = actor
        link.decided_at = utcnow()
    db.session.flush()
    return link


def propose_links(contact: Contact, limit: int = 3) -> list[ContactLink]:
    """Propose the institutions a contact may speak for: similar name in the same country,
    or a website on the contact's email domain. A coordinator confirms or rejects them."""
    candidates: dict[int, tuple[float, list[str]]] = {}
    domain = contact.email.rpartition("@")[2]
    if domain not in WEBMAIL_DOMAINS:
        parts = domain.split(".")
        suffixes = {".".join(parts[i:]) for i in range(len(parts) - 1)}
        for institution in db.session.scalars(
            select(Institution).where(Institution.website_domain.in_(suffixes))
        ):
            candidates[institution.id] = (90.0, [f"website on the email domain {domain}"])
    if contact.institution_name:
        query = select(Institution.id, Institution.name)
        if contact.country_code:
            query = query.where(Institution.country_code == contact.country_code)
        for institution_id, name in db.session.execute(query):
            score = fuzz.token_set_ratio(
                contact.institution_name, name, processor=utils.default_process
            )
            if score >= LINK_THRESHOLD:
                old_score, reasons = candidates.get(institution_id, (0.0, []))
                reasons = [*reasons, f"similar name ({score:.0f}/100)"]
                if contact.country_code:
                    reasons.append("same country")
                candidates[institution_id] = (
                    min(100.0, max(old_score, score) + 5 * len(reasons) - 5),
                    reasons,
                )
    existing = {link.institution_id for link in contact.links}
    best = sorted(candidates.items(), key=lambda item: -item[1][0])[:limit]
    return [
        link_contact(
            contact,
            db.session.get(Institution, institution_id),
            LinkStatus.PROPOSED,
            score=score,
            reasons=reasons,
        )
        for institution_id, (score, reasons) in best
        if institution_id not in existing
    ]


def proposed_links() -> list[ContactLink]:
    """Every link waiting for a coordinator's decision, best match first."""
    return list(
        db.session.scalars(
            select(ContactLink)
            .where(ContactLink.status == LinkStatus.PROPOSED)
            .options(selectinload(ContactLink.contact), selectinload(ContactLink.institution))
            .order_by(ContactLink.contact_id, ContactLink.score.desc())
        )
    )


def decide_links(decisions: dict[tuple[int, int], bool], *, actor: str) -> int:
    """Confirm (True) or reject (False) proposed links by (contact id, institution id)."""
    changed = 0
    for (contact_id, institution_id), confirm in decisions.items():
        link = db.session.get(ContactLink, (contact_id, institution_id))
        if link is None:
            raise CampaignError(f"contact {contact_id} has no link to institution {institution_id}")
        link_contact(
            link.contact,
            link.institution,
            LinkStatus.CONFIRMED if confirm else LinkStatus.REJECTED,
            actor=actor,
        )
        changed += 1
    if changed:
        audit("contacts.links", actor, decided=changed)
    return changed


def _normalised_name(name: str) -> str:
    return " ".join(utils.default_process(name).split())


def is_exact_match(link: ContactLink) -> bool:
    """True when a proposed link needs no judgement: the contact's institution name equals
    the registry's once normalised (case, punctuation, spacing) in the same country, or the
    contact's email domain is the institution's website domain itself."""
    contact, institution = link.contact, link.institution
    same_name = (
        contact.institution_name is not None
        and contact.country_code is not None
        and contact.country_code == institution.country_code
        and _normalised_name(contact.institution_name) == _normalised_name(institution.name)
    )
    domain = contact.email.rpartition("@")[2]
    same_domain = domain not in WEBMAIL_DOMAINS and domain == institution.website_domain
    return same_name or same_domain


def confirm_exact_matches(*, actor: str) -> int:
    """Confirm every proposed link that is an exact match, in one action; returns how many.

    The others stay proposed for a coordinator to decide one by one.
    """
    exact = [link for link in proposed_links() if is_exact_match(link)]
    for link in exact:
        link_contact(link.contact, link.institution, LinkStatus.CONFIRMED, actor=actor)
    if exact:
        audit("contacts.links", actor, decided=len(exact), exact_matches=True)
    return len(exact)


# Campaigns -----------------------------------------------------------------------------


def closing_time(campaign: Campaign) -> datetime:
    """The end of the campaign's closing day, in UTC."""
    return datetime.combine(campaign.closes_on, time.max, tzinfo=UTC)


def opening_time(campaign: Campaign) -> datetime:
    """The start of the campaign's opening day, in UTC: no campaign email goes out before."""
    return datetime.combine(campaign.opens_on, time.min, tzinfo=UTC)


def campaign_not_open_yet(campaign: Campaign, now: datetime | None = None) -> date | None:
    """The day the campaign opens when that is still to come, else None.

    Invitations queued before it wait in the outbox until then, and a link opened early
    can say when the campaign opens.
    """
    return campaign.opens_on if (now or utcnow()) < opening_time(campaign) else None


def send_time(campaign: Campaign, now: datetime | None = None) -> datetime:
    """When a campaign email queued now may go out: now, or the campaign's opening."""
    return max(now or utcnow(), opening_time(campaign))


def _queue_campaign_email(
    kind: MessageKind,
    campaign: Campaign,
    contact: Contact,
    invitations: list[Invitation],
    *,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> OutboxMessage:
    """Queue an invitation or reminder, held in the outbox until the campaign opens."""
    due = send_time(campaign, now)
    context = dict(context or {})
    if due > (now or utcnow()):
        # The worker's give-up clock starts here, not when the row was written.
        context["not_before"] = due.isoformat()
    return queue(
        kind,
        contact.email,
        campaign_id=campaign.id,
        contact_id=contact.id,
        invitation_ids=[i.id for i in invitations],
        context=context,
        now=due,
    )


def create_campaign(
    name: str,
    closes_on: date,
    *,
    actor: str,
    opens_on: date | None = None,
    questionnaire: str = "table1-v1",
    **settings: Any,
) -> Campaign:
    """A campaign asking one questionnaire version of ``forms/`` (``table1-v1`` unless
    another is chosen; it is fixed once created), with default English email texts."""
    name = name.strip()
    try:
        definition = load_definition(*split_name(questionnaire))
    except (ValueError, FileNotFoundError, DefinitionError) as exc:
        raise CampaignError(
            _l("No usable questionnaire %(name)s in forms/.", name=repr(questionnaire))
        ) from exc
    if not name:
        raise CampaignError(_l("A campaign needs a name."))
    _refuse_line_breaks({"name": name, **settings})
    if db.session.scalar(select(Campaign.id).where(Campaign.name == name)) is not None:
        raise CampaignError(_l("A campaign named %(name)s already exists.", name=repr(name)))
    opens_on = opens_on or utcnow().date()
    if closes_on < opens_on:
        raise CampaignError(_l("The campaign must close on or after the day it opens."))
    config = current_app.config
    fields = {
        "sender_name": "ATMP facility registry",
        "sender_email": config["MAIL_DEFAULT_SENDER"],
        **email_templates.DEFAULTS,
        **{k: v for k, v in settings.items() if v is not None},
    }
    email_templates.check(fields)
    campaign = Campaign(
        name=name,
        opens_on=opens_on,
        closes_on=closes_on,
        created_by=actor,
        questionnaire_id=definition.id,
        questionnaire_version=definition.version,
        **fields,
    )
    db.session.add(campaign)
    db.session.flush()
    audit(
        "campaign.create",
        actor,
        target_type="campaign",
        target_id=campaign.id,
        name=name,
        questionnaire=definition.name,
    )
    return campaign


# A campaign's texts that its emails carry in a header (the subjects are checked with the
# templates): a line break there would make every email of the campaign fail for good.
_ONE_LINE = {"name": _l("The campaign's name"), "sender_name": _l("The sender name")}


def _refuse_line_breaks(fields: dict[str, Any]) -> None:
    """Raise CampaignError for a header text of the campaign holding a line break."""
    for key, label in _ONE_LINE.items():
        value = fields.get(key)
        if isinstance(value, str) and has_line_break(value):
            raise CampaignError(
                _l("%(field)s must be one line: remove the line break.", field=label)
            )


def update_campaign(campaign: Campaign, *, actor: str, **settings: Any) -> None:
    """Change a campaign's settings; templates are checked before anything changes."""
    merged = {k: getattr(campaign, k) for k in email_templates.DEFAULTS} | settings
    _refuse_line_breaks(settings)
    email_templates.check(merged)
    if settings.get("closes_on") and settings["closes_on"] < campaign.opens_on:
        raise CampaignError(_l("The campaign must close on or after the day it opens."))
    for key, value in settings.items():
        setattr(campaign, key, value)
    for invitation in campaign.invitations.filter(Invitation.revoked_at.is_(None)):
        if invitation.expires_at is None or invitation.expires_at <= closing_time(campaign):
            invitation.expires_at = closing_time(campaign)
    audit(
        "campaign.update",
        actor,
        target_type="campaign",
        target_id=campaign.id,
        fields=sorted(settings),
    )


def find_campaign(name_or_id: str) -> Campaign:
    """A campaign by name or id; raises CampaignError when there is none."""
    query = select(Campaign).where(Campaign.name == name_or_id)
    campaign = db.session.scalar(query)
    if campaign is None and name_or_id.isdigit():
        campaign = db.session.get(Campaign, int(name_or_id))
    if campaign is None:
        raise CampaignError(_l("No campaign is named %(name)s.", name=repr(name_or_id)))
    return campaign


# Invitation status ---------------------------------------------------------------------

_ORDER = [
    InvitationStatus.QUEUED,
    InvitationStatus.SENT,
    InvitationStatus.OPENED,
    InvitationStatus.STARTED,
    InvitationStatus.SUBMITTED,
    InvitationStatus.IN_REVIEW,
    InvitationStatus.APPROVED,
]
_TIMESTAMPS = {
    InvitationStatus.OPENED: "opened_at",
    InvitationStatus.STARTED: "started_at",
    InvitationStatus.SUBMITTED: "submitted_at",
    InvitationStatus.BOUNCED: "bounced_at",
    InvitationStatus.OPTED_OUT: "opted_out_at",
}


def set_status(
    invitation: Invitation, status: InvitationStatus, *, at: datetime | None = None, **detail: Any
) -> None:
    """Record a status in the invitation's timeline; the one way statuses change.

    Sending again (a reminder, a resend) does not move an invitation back from a later
    step of the answer (opened, started, submitted ...); failures, bounces and opt-outs
    always show. The event is added without loading the invitation's timeline (setting
    its invitation appends it to a loaded timeline and queues it for an unloaded one), so
    a status change costs no query for the events before it.
    """
    at = at or utcnow()
    db.session.add(InvitationEvent(invitation=invitation, status=status, at=at, detail=detail))
    current = invitation.status
    regress = (
        status in _ORDER and current in _ORDER and _ORDER.index(status) < _ORDER.index(current)
    )
    if not regress:
        invitation.status = status
    if status == InvitationStatus.SENT:
        invitation.first_sent_at = invitation.first_sent_at or at
        invitation.last_sent_at = at
    stamp = _TIMESTAMPS.get(status)
    if stamp and getattr(invitation, stamp) is None:
        setattr(invitation, stamp, at)


# Invitations and their links -----------------------------------------------------------


def is_reachable(contact: Contact) -> bool:
    """False for contacts who opted out of everything, bounced or were deactivated."""
    return contact.active and contact.opted_out_at is None and contact.bounced_at is None


@dataclass
class InviteReport:
    """How many invitations and emails an invite run created."""

    invitations: int = 0
    emails: int = 0
    skipped_contacts: int = 0
    scheduled_for: date | None = None

    def summary(self) -> str:
        """One line a person can read."""
        line = (
            f"{counted(self.invitations, 'invitation', 'invitations')} queued in "
            f"{counted(self.emails, 'email', 'emails')}; "
            f"{counted(self.skipped_contacts, 'contact', 'contacts')} skipped "
            "(opted out, bounced or inactive)"
        )
        if self.scheduled_for and self.emails:
            line += f"; the emails go out when the campaign opens on {self.scheduled_for}"
        return line


def invite(
    campaign: Campaign,
    *,
    actor: str,
    contact_ids: list[int] | None = None,
    now: datetime | None = None,
) -> InviteReport:
    """Queue invitations for every active contact not yet invited to the campaign.

    A contact gets one invitation per confirmed institution (all in one email), or one to
    describe a new institution when no institution is confirmed. Before the campaign opens
    the emails wait in the outbox until its opening day.
    """
    from surveyapp.campaigns.nominations import mark_invited

    now = now or utcnow()
    if closing_time(campaign) < now:
        raise CampaignError(
            _l(
                "The campaign %(name)s closed on %(day)s.",
                name=repr(campaign.name),
                day=campaign.closes_on,
            )
        )
    report = InviteReport(scheduled_for=campaign_not_open_yet(campaign, now))
    query = select(Contact).options(selectinload(Contact.links)).order_by(Contact.id)
    if contact_ids is not None:
        query = query.where(Contact.id.in_(contact_ids))
    invited = {
        (contact_id, institution_id)
        for contact_id, institution_id in db.session.execute(
            select(Invitation.contact_id, Invitation.institution_id).where(
                Invitation.campaign_id == campaign.id
            )
        )
    }
    invited_contacts = {contact_id for contact_id, _ in invited}
    invited_now: list[int] = []
    for contact in db.session.scalars(query):
        if not is_reachable(contact):
            report.skipped_contacts += 1
            continue
        targets: list[int | None] = [i.id for i in contact.confirmed_institutions] or [None]
        new = [
            t
            for t in targets
            if (contact.id, t) not in invited and not (t is None and contact.id in invited_contacts)
        ]
        if not new:
            continue
        countries = {i.id: i.country_code for i in contact.confirmed_institutions}
        invitations = [
            Invitation(
                campaign=campaign,
                contact=contact,
                institution_id=t,
                country_code=countries.get(t) or contact.country_code,
                language=contact.language,
                expires_at=closing_time(campaign),
                events=[],
            )
            for t in new
        ]
        db.session.add_all(invitations)
        db.session.flush()
        for invitation in invitations:
            set_status(invitation, InvitationStatus.QUEUED, at=now)
        _queue_campaign_email(MessageKind.INVITATION, campaign, contact, invitations, now=now)
        report.invitations += len(invitations)
        report.emails += 1
        invited_now.append(contact.id)
    mark_invited(invited_now)
    audit(
        "campaign.invite",
        actor,
        target_type="campaign",
        target_id=campaign.id,
        invitations=report.invitations,
        emails=report.emails,
    )
    return report


def token_hash(token: str) -> str:
    """The stored form of a link token."""
    return hashlib.sha256(token.encode()).hexdigest()


def mint_token(invitation: Invitation) -> str:
    """A fresh link token for an invitation; only its hash is stored. Called at send time."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(InvitationToken(invitation_id=invitation.id, token_hash=token_hash(token)))
    return token


def is_open(invitation: Invitation, now: datetime | None = None) -> bool:
    """True while the invitation's links work: not revoked and not expired."""
    now = now or utcnow()
    return invitation.revoked_at is None and (
        invitation.expires_at is None or invitation.expires_at > now
    )


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation a link token belongs to, whatever its state (open, expired, revoked),
    or None for a token nobody was sent. Callers decide which states their page accepts."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(_invitation_by_token_statement(), {"hash": token_hash(token)})


@cache
def _invitation_by_token_statement() -> Select[Any]:
    """Every link page reads the contact (its language), the campaign (open or closed) and
    the institution: one statement rather than four, built once (its three joined loads
    cost more to build than to run)."""
    return (
        select(Invitation)
        .join(InvitationToken, InvitationToken.invitation_id == Invitation.id)
        .where(InvitationToken.token_hash == bindparam("hash"))
        .options(
            joinedload(Invitation.contact),
            joinedload(Invitation.campaign),
            joinedload(Invitation.institution),
        )
    )


def resolve_token(token: str, now: datetime | None = None) -> Invitation:
    """The open invitation a link token belongs to; InvalidLink otherwise (unknown, expired
    and revoked alike)."""
    invitation = invitation_by_token(token)
    if invitation is None or not is_open(invitation, now):
        raise InvalidLink
    return invitation


def mark_opened(invitation: Invitation) -> None:
    """The respondent acted on the page for the first time (a GET never counts: mail
    scanners fetch links before people do)."""
    if invitation.opened_at is None:
        set_status(invitation, InvitationStatus.OPENED)


def opt_out(invitation: Invitation, *, everything: bool, one_click: bool = False) -> None:
    """Stop mail for this campaign's invitations of the contact, or for all campaigns."""
    contact = invitation.contact
    now = utcnow()
    siblings = db.session.scalars(
        select(Invitation).where(
            Invitation.contact_id == contact.id,
            *([] if everything else [Invitation.campaign_id == invitation.campaign_id]),
        )
    )
    for sibling in siblings:
        if sibling.opted_out_at is None:
            set_status(
                sibling,
                InvitationStatus.OPTED_OUT,
                at=now,
                scope="all" if everything else "campaign",
                one_click=one_click,
            )
    if everything:
        contact.opted_out_at = contact.opted_out_at or now
    audit(
        "invitation.opt_out",
        contact.email,
        target_type="invitation",
        target_id=invitation.id,
        scope="all" if everything else "campaign",
        one_click=one_click,
    )


def revoke(invitation: Invitation, *, actor: str) -> None:
    """Revoke an invitation: all of its links stop working at once."""
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        audit("invitation.revoke", actor, target_type="invitation", target_id=invitation.id)


def reopen(invitation: Invitation, expires_at: datetime, *, actor: str) -> None:
    """Give an invitation its own expiry (e.g. after a curator asks for changes)."""
    invitation.revoked_at = None
    invitation.expires_at = expires_at
    audit(
        "invitation.reopen",
        actor,
        target_type="invitation",
        target_id=invitation.id,
        expires_at=expires_at.isoformat(),
    )


def resend(invitation: Invitation, *, actor: str) -> OutboxMessage:
    """Send the invitation again; the new email carries a fresh link, old links still work."""
    if not is_open(invitation):
        raise CampaignError(_l("The invitation is revoked or expired; reopen it first."))
    if not is_reachable(invitation.contact) or invitation.opted_out_at:
        raise CampaignError(_l("The contact opted out, bounced or is inactive."))
    message = _queue_campaign_email(
        MessageKind.INVITATION, invitation.campaign, invitation.contact, [invitation]
    )
    audit("invitation.resend", actor, target_type="invitation", target_id=invitation.id)
    return message


def mark_bounced(invitations: list[Invitation], reason: str, *, actor: str) -> int:
    """Mark invitations bounced (and their contact unreachable) with the reason."""
    for invitation in invitations:
        if invitation.bounced_at is None:
            set_status(invitation, InvitationStatus.BOUNCED, reason=reason)
            invitation.contact.bounced_at = invitation.contact.bounced_at or utcnow()
            audit(
                "invitation.bounce",
                actor,
                target_type="invitation",
                target_id=invitation.id,
                reason=reason[:500],
            )
    return len(invitations)


# Reminders -----------------------------------------------------------------------------


def remindable(campaign: Campaign, now: datetime | None = None) -> Any:
    """SELECT of invitations a reminder may go to: sent, not answered, still open, and the
    contact neither opted out nor bounced."""
    now = now or utcnow()
    return (
        select(Invitation)
        .join(Contact, Contact.id == Invitation.contact_id)
        .where(
            Invitation.campaign_id == campaign.id,
            Invitation.status.in_(REMINDABLE),
            Invitation.revoked_at.is_(None),
            (Invitation.expires_at.is_(None)) | (Invitation.expires_at > now),
            Invitation.opted_out_at.is_(None),
            Invitation.bounced_at.is_(None),
            Contact.active,
            Contact.opted_out_at.is_(None),
            Contact.bounced_at.is_(None),
        )
    )


def remind(
    campaign: Campaign, invitations: list[Invitation], *, actor: str, now: datetime | None = None
) -> int:
    """Queue one reminder email per contact for the given (remindable) invitations."""
    by_contact: dict[int, list[Invitation]] = defaultdict(list)
    for invitation in invitations:
        by_contact[invitation.contact_id].append(invitation)
    for contact_invitations in by_contact.values():
        for invitation in contact_invitations:
            invitation.reminders_sent += 1
        _queue_campaign_email(
            MessageKind.REMINDER,
            campaign,
            contact_invitations[0].contact,
            contact_invitations,
            now=now,
        )
    if invitations:
        audit(
            "campaign.remind",
            actor,
            target_type="campaign",
            target_id=campaign.id,
            invitations=len(invitations),
            emails=len(by_contact),
        )
    return len(by_contact)


def due_reminders(campaign: Campaign, now: datetime) -> list[Invitation]:
    """Invitations the campaign's reminder policy says are due now."""
    wait = timedelta(days=campaign.remind_after_days)
    return list(
        db.session.scalars(
            remindable(campaign, now)
            .where(
                Invitation.reminders_sent < campaign.max_reminders,
                Invitation.last_sent_at <= now - wait,
            )
            .order_by(Invitation.id)
        )
    )


@dataclass
class TickReport:
    """What one tick queued."""

    campaigns: int = 0
    reminders: int = 0

    def summary(self) -> str:
        """One line a person can read."""
        return f"{self.campaigns} open campaigns checked; {self.reminders} reminder emails queued"


# What ticks on several servers take turns by (:func:`database.take_turns`).
TICK_TURN = "campaigns tick"


def tick(*, now: datetime | None = None) -> TickReport:
    """Queue what the reminder policies say is due; safe to run every few minutes, on
    any number of servers at once (they take turns).

    A reminder waits for the previous email to be sent (``last_sent_at``), so a tick never
    queues a second reminder while the first is still in the outbox.
    """
    take_turns(db.session(), TICK_TURN)
    now = now or utcnow()
    report = TickReport()
    today = now.date()
    open_campaigns = db.session.scalars(
        select(Campaign).where(Campaign.opens_on <= today, Campaign.closes_on >= today)
    )
    for campaign in open_campaigns:
        report.campaigns += 1
        pending = {
            i
            for ids in db.session.scalars(
                select(OutboxMessage.invitation_ids).where(
                    OutboxMessage.campaign_id == campaign.id,
                    OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                )
            )
            for i in ids
        }
        due = [i for i in due_reminders(campaign, now) if i.id not in pending]
        report.reminders += remind(campaign, due, actor="policy", now=now)
    return report


# Status counts -------------------------------------------------------------------------


def status_counts(campaign: Campaign) -> dict[InvitationStatus, int]:
    """Invitations of the campaign per current status (every status, zero included)."""
    rows = db.session.execute(
        select(Invitation.status, func.count())
        .where(Invitation.campaign_id == campaign.id)
        .group_by(Invitation.status)
    )
    counts = dict.fromkeys(InvitationStatus, 0)
    counts.update({status: count for status, count in rows})
    return counts
