"""Nominations and public suggestions as coordinators work through them.

Respondents nominate facilities they know, and anyone may suggest one on the public form;
both are :class:`Nomination` rows (a suggestion's also points at its unverified
submission, which waits in the curators' queue). Each has a status: new, contact created,
invited or dismissed. A coordinator turns one into a contact in one step (pre-filled from
what was sent) or dismisses it; inviting that contact marks it invited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from surveyapp.campaigns.models import Campaign, Contact, Invitation, Nomination
from surveyapp.campaigns.service import CampaignError, propose_links, upsert_contact
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import language_of_country
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.vocabulary import NominationStatus, SubmissionStatus

Kind = Literal["nomination", "suggestion"]


@dataclass(frozen=True)
class NominatedFacility:
    """A nomination or a suggestion, in the one shape the coordinators' list shows."""

    kind: Kind
    id: int
    name: str
    country_code: str | None
    website: str | None
    email: str | None
    person: str | None
    status: NominationStatus
    received_at: datetime
    sent_by: str | None
    campaign: Campaign | None = None
    contact_id: int | None = None
    submission_id: int | None = None
    review_status: SubmissionStatus | None = None
    note: str | None = None


def describe(nomination: Nomination) -> NominatedFacility:
    """One nomination or suggestion as the list shows it."""
    invitation, suggestion = nomination.invitation, nomination.submission
    return NominatedFacility(
        kind="suggestion" if suggestion is not None else "nomination",
        id=nomination.id,
        name=nomination.name,
        country_code=nomination.country_code,
        website=nomination.website,
        email=nomination.contact_email,
        person=suggestion.submitter_name if suggestion is not None else None,
        status=nomination.status,
        received_at=nomination.created_at,
        sent_by=(invitation.contact.email if invitation is not None else nomination.contact_email),
        campaign=invitation.campaign if invitation is not None else None,
        contact_id=nomination.contact_id,
        submission_id=nomination.submission_id,
        review_status=suggestion.status if suggestion is not None else None,
        note=suggestion.note if suggestion is not None else None,
    )


def nominated_facilities(status: NominationStatus | None = None) -> list[NominatedFacility]:
    """Every nomination and suggestion, newest first, optionally of one status."""
    query = (
        select(Nomination)
        .options(
            selectinload(Nomination.invitation).selectinload(Invitation.contact),
            selectinload(Nomination.invitation).selectinload(Invitation.campaign),
            selectinload(Nomination.submission),
        )
        .order_by(Nomination.created_at.desc(), Nomination.id.desc())
    )
    if status is not None:
        query = query.where(Nomination.status == status)
    return [describe(nomination) for nomination in db.session.scalars(query)]


def status_counts() -> dict[NominationStatus, int]:
    """How many nominations and suggestions have each status (zero included)."""
    counted: dict[NominationStatus, int] = {
        status: count
        for status, count in db.session.execute(
            select(Nomination.status, func.count()).group_by(Nomination.status)
        )
    }
    return {status: counted.get(status, 0) for status in NominationStatus}


def new_count() -> int:
    """How many nominations and suggestions no coordinator has acted on yet."""
    return (
        db.session.scalar(select(func.count()).where(Nomination.status == NominationStatus.NEW))
        or 0
    )


def find(nomination_id: int) -> Nomination | None:
    """The nomination (or suggestion) with this id."""
    return db.session.get(Nomination, nomination_id)


def contact_prefill(item: NominatedFacility) -> dict[str, Any]:
    """The contact form's fields as the nomination or suggestion gives them."""
    return {
        "email": item.email or "",
        "name": item.person or "",
        "institution_name": item.name,
        "country": item.country_code or "",
        "language": language_of_country(item.country_code),
        "active": True,
    }


def create_contact(
    nomination: Nomination,
    email: str,
    *,
    actor: str,
    name: str | None = None,
    institution_name: str | None = None,
    country_code: str | None = None,
    language: str = "en",
    active: bool = True,
) -> Contact:
    """Turn a nomination or suggestion into a contact (or update the contact with that
    email), with its likely registry institutions proposed; the nomination is then
    "contact created" and follows the contact to "invited"."""
    if nomination.status in (NominationStatus.CONTACT_CREATED, NominationStatus.INVITED):
        raise CampaignError(_l("A contact was already created for this nomination."))
    kind = "suggestion" if nomination.submission_id else "nomination"
    contact, outcome = upsert_contact(
        email,
        source=f"{kind} {nomination.id}",
        name=name,
        institution_name=institution_name,
        country_code=country_code,
        language=language,
    )
    contact.active = active
    propose_links(contact)
    nomination.contact_id = contact.id
    nomination.status = NominationStatus.CONTACT_CREATED
    nomination.decided_by = actor
    nomination.decided_at = utcnow()
    db.session.flush()
    audit(
        "nomination.contact",
        actor,
        target_type="nomination",
        target_id=nomination.id,
        contact_id=contact.id,
        outcome=outcome,
    )
    return contact


def dismiss(nomination: Nomination, *, actor: str) -> None:
    """Set a nomination or suggestion aside: it stays listed, as dismissed."""
    nomination.status = NominationStatus.DISMISSED
    nomination.decided_by = actor
    nomination.decided_at = utcnow()
    audit("nomination.dismiss", actor, target_type="nomination", target_id=nomination.id)


def mark_invited(contact_ids: list[int]) -> None:
    """Nominations whose contact has just been invited are "invited" now."""
    if not contact_ids:
        return
    for nomination in db.session.scalars(
        select(Nomination).where(
            Nomination.contact_id.in_(contact_ids),
            Nomination.status.in_([NominationStatus.NEW, NominationStatus.CONTACT_CREATED]),
        )
    ):
        nomination.status = NominationStatus.INVITED
