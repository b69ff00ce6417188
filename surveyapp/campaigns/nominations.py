"""Nominations and public suggestions as coordinators work through them.

Respondents nominate facilities they know (:class:`Nomination`), and anyone may suggest one
on the public form (an unverified :class:`Submission` without invitation). Both reach the
coordinators here, each with a status: new, contact created, invited or dismissed. A
coordinator turns one into a contact in one step (pre-filled from what was sent) or
dismisses it; inviting that contact marks it invited.

A nomination keeps its status in its own columns. A suggestion has none (it is a
submission in the curators' queue), so its status is read from what coordinators did, as
the audit log records it: a contact created from it (invited once that contact has an
invitation), or dismissed; a suggestion the curators rejected counts as dismissed too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from surveyapp.campaigns.models import Campaign, Contact, Invitation
from surveyapp.campaigns.service import CampaignError, propose_links, upsert_contact
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.history.service import audit
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.questionnaire.models import Nomination, Submission
from surveyapp.vocabulary import NominationStatus, SubmissionStatus

Kind = Literal["nomination", "suggestion"]
CONTACT_CREATED = "nomination.contact"
DISMISS_SUGGESTION = "nomination.dismiss_suggestion"


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
    review_status: SubmissionStatus | None = None
    note: str | None = None


def _nominations() -> list[NominatedFacility]:
    rows = db.session.execute(
        select(Nomination, Invitation)
        .join(Invitation, Invitation.id == Nomination.invitation_id)
        .options(selectinload(Invitation.contact), selectinload(Invitation.campaign))
    )
    return [
        NominatedFacility(
            kind="nomination",
            id=nomination.id,
            name=nomination.name,
            country_code=nomination.country_code,
            website=nomination.website,
            email=nomination.contact_email,
            person=None,
            status=nomination.status,
            received_at=nomination.created_at,
            sent_by=invitation.contact.email,
            campaign=invitation.campaign,
            contact_id=nomination.contact_id,
        )
        for nomination, invitation in rows
    ]


def _suggestion_contacts() -> dict[int, tuple[int, bool]]:
    """Suggestion id -> (the contact created from it, whether that contact is invited)."""
    created = {
        target_id: detail.get("contact_id")
        for target_id, detail in db.session.execute(
            select(AuditEvent.target_id, AuditEvent.detail)
            .where(AuditEvent.action == CONTACT_CREATED, AuditEvent.target_type == "submission")
            .order_by(AuditEvent.id)
        )
    }
    invited = set(
        db.session.scalars(
            select(Invitation.contact_id).where(Invitation.contact_id.in_(created.values()))
        )
    )
    return {
        suggestion_id: (contact_id, contact_id in invited)
        for suggestion_id, contact_id in created.items()
    }


def _dismissed_suggestions() -> set[int]:
    return set(
        db.session.scalars(
            select(AuditEvent.target_id).where(
                AuditEvent.action == DISMISS_SUGGESTION, AuditEvent.target_type == "submission"
            )
        )
    )


def _suggestion_status(
    submission: Submission, contacts: dict[int, tuple[int, bool]], dismissed: set[int]
) -> NominationStatus:
    if submission.id in contacts:
        _contact_id, invited = contacts[submission.id]
        return NominationStatus.INVITED if invited else NominationStatus.CONTACT_CREATED
    if submission.id in dismissed or submission.status == SubmissionStatus.REJECTED:
        return NominationStatus.DISMISSED
    return NominationStatus.NEW


def _suggestions() -> list[NominatedFacility]:
    contacts = _suggestion_contacts()
    dismissed = _dismissed_suggestions()
    submissions = db.session.scalars(
        select(Submission).where(Submission.unverified, Submission.invitation_id.is_(None))
    )
    found = []
    for submission in submissions:
        institution = submission.answers.get("institution", {})
        found.append(
            NominatedFacility(
                kind="suggestion",
                id=submission.id,
                name=institution.get("institution") or "",
                country_code=institution.get("country"),
                website=institution.get("website"),
                email=submission.submitter_email,
                person=submission.submitter_name,
                status=_suggestion_status(submission, contacts, dismissed),
                received_at=submission.submitted_at or submission.created_at,
                sent_by=submission.submitter_email,
                contact_id=contacts.get(submission.id, (None, False))[0],
                review_status=submission.status,
                note=submission.note,
            )
        )
    return found


def nominated_facilities(status: NominationStatus | None = None) -> list[NominatedFacility]:
    """Every nomination and suggestion, newest first, optionally of one status."""
    every = sorted(
        _nominations() + _suggestions(), key=lambda item: (item.received_at, item.id), reverse=True
    )
    return [item for item in every if status is None or item.status == status]


def status_counts() -> dict[NominationStatus, int]:
    """How many nominations and suggestions have each status (zero included)."""
    counted = Counter(item.status for item in _nominations() + _suggestions())
    return {status: counted[status] for status in NominationStatus}


def new_count() -> int:
    """How many nominations and suggestions no coordinator has acted on yet."""
    return status_counts()[NominationStatus.NEW]


def find(kind: str, item_id: int) -> Nomination | Submission | None:
    """The nomination, or the public suggestion, with this id."""
    if kind == "nomination":
        return db.session.get(Nomination, item_id)
    if kind == "suggestion":
        submission = db.session.get(Submission, item_id)
        if submission is not None and submission.unverified and submission.invitation_id is None:
            return submission
    return None


def describe(found: Nomination | Submission) -> NominatedFacility:
    """One nomination or suggestion as the list shows it."""
    kind: Kind = "nomination" if isinstance(found, Nomination) else "suggestion"
    items = _nominations() if kind == "nomination" else _suggestions()
    return next(item for item in items if item.id == found.id)


def contact_prefill(item: NominatedFacility) -> dict[str, Any]:
    """The contact form's fields as the nomination or suggestion gives them."""
    return {
        "email": item.email or "",
        "name": item.person or "",
        "institution_name": item.name,
        "country": item.country_code or "",
        "language": "en",
        "active": True,
    }


def create_contact(
    found: Nomination | Submission,
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
    if isinstance(found, Nomination):
        if found.status in (NominationStatus.CONTACT_CREATED, NominationStatus.INVITED):
            raise CampaignError(_l("A contact was already created for this nomination."))
        source = f"nomination {found.id}"
    else:
        if found.id in _suggestion_contacts():
            raise CampaignError(_l("A contact was already created for this suggestion."))
        source = f"suggestion {found.id}"
    contact, outcome = upsert_contact(
        email,
        source=source,
        name=name,
        institution_name=institution_name,
        country_code=country_code,
        language=language,
    )
    contact.active = active
    propose_links(contact)
    target_type = "nomination" if isinstance(found, Nomination) else "submission"
    if isinstance(found, Nomination):
        found.contact_id = contact.id
        found.status = NominationStatus.CONTACT_CREATED
        found.decided_by = actor
        found.decided_at = utcnow()
    db.session.flush()
    audit(
        CONTACT_CREATED,
        actor,
        target_type=target_type,
        target_id=found.id,
        contact_id=contact.id,
        outcome=outcome,
    )
    return contact


def dismiss(found: Nomination | Submission, *, actor: str) -> None:
    """Set a nomination or suggestion aside: it stays listed, as dismissed."""
    if isinstance(found, Nomination):
        found.status = NominationStatus.DISMISSED
        found.decided_by = actor
        found.decided_at = utcnow()
        audit("nomination.dismiss", actor, target_type="nomination", target_id=found.id)
        return
    audit(DISMISS_SUGGESTION, actor, target_type="submission", target_id=found.id)


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
