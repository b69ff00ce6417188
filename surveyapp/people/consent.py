"""A respondent withdraws their consent to publish their contact (GDPR article 7(3)).

Withdrawing must be as easy as giving: the link they were emailed after submitting (and
the thanks page) is enough, and the change is immediate. The submission and each of its
versions stop carrying the consent, so a later approval cannot publish the contact again,
and every registry entry the submission covers or that names the respondent hides it.
The link keeps working for this after the invitation expired (withdrawing can only publish
less); a revoked link (a leaked one, an erased person's) is as dead here as everywhere.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from surveyapp.campaigns.models import Invitation
from surveyapp.campaigns.service import InvalidLink, invitation_by_token
from surveyapp.extensions import db
from surveyapp.history.service import Provenance, audit
from surveyapp.questionnaire.models import Submission
from surveyapp.registry import service as registry
from surveyapp.registry.models import Entry
from surveyapp.vocabulary import ChangeSource


def invitation_of(token: str) -> Invitation:
    """The invitation a link token belongs to, expired or not; InvalidLink when the token
    is unknown or its invitation revoked."""
    invitation = invitation_by_token(token)
    if invitation is None or invitation.revoked_at is not None:
        raise InvalidLink
    return invitation


def _submission_of(invitation: Invitation) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.invitation_id == invitation.id))


def entries_shown(invitation: Invitation) -> list[Entry]:
    """The registry entries whose contact is public because of this respondent: those their
    submission answered for, and those naming their address."""
    submission = _submission_of(invitation)
    covered = {
        block.get("entry_id")
        for block in (submission.answers if submission else {}).get("entries", [])
        if block.get("entry_id")
    }
    return list(
        db.session.scalars(
            select(Entry)
            .where(
                Entry.contact_public,
                or_(
                    Entry.id.in_(covered),
                    func.lower(Entry.contact_email) == invitation.contact.email.lower(),
                ),
            )
            .order_by(Entry.id)
        )
    )


def consent_given(invitation: Invitation) -> bool:
    """True while something of this respondent is, or may become, published."""
    submission = _submission_of(invitation)
    pending = submission is not None and (
        submission.consent_publish or any(v.consent_publish for v in submission.versions)
    )
    return pending or bool(entries_shown(invitation))


def withdraw(invitation: Invitation) -> int:
    """Withdraw the consent to publish, at once; returns how many entries were hidden."""
    submission = _submission_of(invitation)
    actor = invitation.contact.email
    entries = entries_shown(invitation)
    provenance = Provenance(
        ChangeSource.SUBMISSION,
        actor,
        source_ref=f"submission {submission.id}" if submission else None,
        comment="the respondent withdrew the consent to publish the contact",
    )
    for entry in entries:
        registry.set_contact_public(entry, False, provenance)
    if submission is not None:
        submission.consent_publish = False
        for version in submission.versions:
            version.consent_publish = False
    audit(
        "people.consent_withdrawn",
        actor,
        target_type="invitation",
        target_id=invitation.id,
        entries_hidden=len(entries),
    )
    db.session.flush()
    return len(entries)
