"""Personal data kept no longer than needed (GDPR article 5(1)(e)), by four rules.

Each rule reads its period from the settings (0 switches it off): contacts who never
answered after a number of closed campaigns, drafts never submitted, invitation timeline
events, and the superseded versions of approved submissions. A plan lists what would go;
applying removes exactly what the plan lists, so the dry run can be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import aliased

from surveyapp.campaigns.models import Campaign, Contact, Invitation, InvitationEvent
from surveyapp.database import take_turns, utcnow
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.people.erasure import EXPIRED_PREFIX, STUB_DOMAIN, needles_for, retire_contact
from surveyapp.people.traces import find, wipe
from surveyapp.questionnaire.models import Submission, SubmissionVersion
from surveyapp.vocabulary import SubmissionStatus

# A contact past retention leaves the registry's own data alone: an entry's contact came
# from Table 1 or a curator, not from the campaign that failed to reach them.
REGISTRY_TABLES = ("institution", "entry", "version", "field_change", "curation_flag")


@dataclass
class RetentionPlan:
    """What the retention rules would remove now, by kind (ids)."""

    contacts: list[int] = field(default_factory=list)
    drafts: list[int] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many of each kind."""
        return {
            "contacts": len(self.contacts),
            "drafts": len(self.drafts),
            "invitation_events": len(self.events),
            "submission_versions": len(self.versions),
        }


def _days(setting: str, now: datetime) -> datetime | None:
    days = current_app.config[setting]
    return now - timedelta(days=days) if days > 0 else None


def silent_contacts(now: datetime) -> list[int]:
    """Contacts invited to at least RETENTION_CONTACT_CAMPAIGNS closed campaigns who never
    submitted an answer to any and are invited to no campaign still open (whose link must
    keep working until it closes)."""
    campaigns = current_app.config["RETENTION_CONTACT_CAMPAIGNS"]
    if campaigns <= 0:
        return []
    closed = Campaign.closes_on < now.date()
    query = (
        select(Contact.id)
        .join(Invitation, Invitation.contact_id == Contact.id)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(~Contact.email.endswith("@" + STUB_DOMAIN))
        .group_by(Contact.id)
        .having(
            func.count(func.distinct(Campaign.id)).filter(closed) >= campaigns,
            func.count(Invitation.submitted_at) == 0,
            func.count(Campaign.id).filter(~closed) == 0,
        )
        .order_by(Contact.id)
    )
    return list(db.session.scalars(query))


# What retention runs on several servers take turns by (:func:`database.take_turns`).
RETENTION_TURN = "people retention"


def plan(now: datetime | None = None) -> RetentionPlan:
    """What would go now under the configured periods; runs on several servers at once
    take turns (to the end of the transaction that applies the plan), so each record is
    removed and audited once."""
    take_turns(db.session(), RETENTION_TURN)
    now = now or utcnow()
    found = RetentionPlan(contacts=silent_contacts(now))
    cutoff = _days("RETENTION_DRAFT_DAYS", now)
    if cutoff is not None:
        found.drafts = list(
            db.session.scalars(
                select(Submission.id)
                .where(
                    Submission.status == SubmissionStatus.DRAFT,
                    Submission.submitted_at.is_(None),
                    Submission.updated_at < cutoff,
                    ~Submission.versions.any(),
                )
                .order_by(Submission.id)
            )
        )
    cutoff = _days("RETENTION_EVENT_DAYS", now)
    if cutoff is not None:
        found.events = list(
            db.session.scalars(
                select(InvitationEvent.id)
                .where(InvitationEvent.at < cutoff)
                .order_by(InvitationEvent.id)
            )
        )
    cutoff = _days("RETENTION_VERSION_DAYS", now)
    if cutoff is not None:
        later = aliased(SubmissionVersion)
        superseded = (
            select(later.id)
            .where(
                later.submission_id == SubmissionVersion.submission_id,
                later.number > SubmissionVersion.number,
            )
            .exists()
        )
        found.versions = list(
            db.session.scalars(
                select(SubmissionVersion.id)
                .join(Submission, Submission.id == SubmissionVersion.submission_id)
                .where(
                    Submission.status == SubmissionStatus.APPROVED,
                    SubmissionVersion.submitted_at < cutoff,
                    superseded,
                )
                .order_by(SubmissionVersion.id)
            )
        )
    return found


def _chunks(ids: list[int], size: int = 1000) -> list[list[int]]:
    """Ids in slices a statement can bind (databases cap the parameters of one query)."""
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def apply(found: RetentionPlan, *, actor: str) -> dict[str, int]:
    """Remove what the plan lists: silent contacts become unreachable stubs with their
    address and name wiped outside the registry; the rest is deleted."""
    for contact_id in found.contacts:
        contact = db.session.get(Contact, contact_id)
        if contact is None:
            continue
        email = contact.email
        needles = needles_for(email)
        retire_contact(contact, email, EXPIRED_PREFIX)
        db.session.flush()
        wipe(find(needles, skip=REGISTRY_TABLES), needles)
    for submission_id in found.drafts:
        submission = db.session.get(Submission, submission_id)
        if submission is not None:
            db.session.delete(submission)
    for chunk in _chunks(found.events):
        db.session.execute(delete(InvitationEvent).where(InvitationEvent.id.in_(chunk)))
    for chunk in _chunks(found.versions):
        db.session.execute(delete(SubmissionVersion).where(SubmissionVersion.id.in_(chunk)))
    counts = found.counts()
    audit("people.retention", actor, **counts)
    db.session.flush()
    db.session.expire_all()
    return counts
