"""Late drafts: answers that arrived after an invitation's link had closed.

The respondent side keeps them (``Submission.late_at``) instead of losing them. A
coordinator then either accepts one, and it enters review as if submitted in time, or
reopens the link for a while and emails the respondent a fresh one to finish and submit
themselves (as a curator's request for changes does).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import selectinload

from surveyapp.campaigns.emails import REOPENED
from surveyapp.campaigns.models import Campaign, Invitation
from surveyapp.campaigns.service import CampaignError, is_reachable, reopen
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.mail.service import queue
from surveyapp.questionnaire import service as questionnaire
from surveyapp.questionnaire.models import Submission, SubmissionVersion
from surveyapp.vocabulary import MessageKind


def _pending() -> ColumnElement[bool]:
    """Late answers not yet taken in: none submitted since they arrived."""
    return Submission.late_at.is_not(None) & or_(
        Submission.submitted_at.is_(None), Submission.submitted_at < Submission.late_at
    )


def late_drafts(campaign: Campaign) -> list[Submission]:
    """The campaign's late drafts waiting for a coordinator, oldest first."""
    return list(
        db.session.scalars(
            select(Submission)
            .join(Invitation, Invitation.id == Submission.invitation_id)
            .where(Invitation.campaign_id == campaign.id, _pending())
            .options(
                selectinload(Submission.invitation).selectinload(Invitation.contact),
                selectinload(Submission.invitation).selectinload(Invitation.institution),
            )
            .order_by(Submission.late_at)
        )
    )


def late_draft_of(invitation: Invitation) -> Submission | None:
    """The invitation's late draft waiting for a coordinator, if any."""
    return db.session.scalar(
        select(Submission).where(Submission.invitation_id == invitation.id, _pending())
    )


def _late_draft(invitation: Invitation) -> Submission:
    submission = late_draft_of(invitation)
    if submission is None:
        raise CampaignError(_l("This invitation has no late answer waiting."))
    return submission


def accept(invitation: Invitation, *, actor: str) -> SubmissionVersion:
    """Take the late draft in as submitted: it enters review as if it had come in time."""
    submission = _late_draft(invitation)
    try:
        return questionnaire.accept_late_draft(submission, actor=actor)
    except questionnaire.QuestionnaireError as exc:
        raise CampaignError(str(exc)) from exc


def reopen_for_late_draft(invitation: Invitation, *, actor: str, days: int) -> datetime:
    """Reopen the link for ``days`` so the respondent can finish and submit, and email
    them a fresh link saying their answers are kept; returns the new expiry."""
    _late_draft(invitation)
    if not is_reachable(invitation.contact) or invitation.opted_out_at is not None:
        raise CampaignError(_l("The contact opted out, bounced or is inactive."))
    expires_at = utcnow() + timedelta(days=days)
    reopen(invitation, expires_at, actor=actor)
    queue(
        MessageKind.INVITATION,
        invitation.contact.email,
        campaign_id=invitation.campaign_id,
        contact_id=invitation.contact_id,
        invitation_ids=[invitation.id],
        context={REOPENED: True},
    )
    audit(
        "invitation.late_draft_reopened",
        actor,
        target_type="invitation",
        target_id=invitation.id,
        expires_at=expires_at.isoformat(),
    )
    return expires_at
