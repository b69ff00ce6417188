"""Where a respondent's answer stands, for the pages a returning respondent sees.

It reads the curators' decisions (their comments, a rejection's reason), so it lives with
the review rather than in the questionnaire, which the review builds on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select

from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import db
from surveyapp.questionnaire.models import Submission
from surveyapp.questionnaire.service import EDITABLE
from surveyapp.review.service import labelled_comments, reviews_of
from surveyapp.vocabulary import SubmissionStatus

State = Literal[
    "not_started", "draft", "submitted", "in_review", "approved", "changes_requested", "rejected"
]


@dataclass(frozen=True)
class Standing:
    """Where a respondent's answer stands and since when, with what the curator said."""

    state: State
    since: datetime | None = None
    late: bool = False
    comment: str | None = None
    reason: str | None = None
    field_comments: tuple[tuple[str, str], ...] = ()

    @property
    def editable(self) -> bool:
        """True while the respondent may still change the answer."""
        return self.state in ("not_started", *(s.value for s in EDITABLE))


def standing(invitation: Invitation) -> Standing:
    """The state of the invitation's answer, for the pages a returning respondent sees.

    Looking changes nothing: no submission is created.
    """
    submission = db.session.scalar(
        select(Submission).where(Submission.invitation_id == invitation.id)
    )
    if submission is None:
        return Standing("not_started")
    state: State = submission.status.value  # type: ignore[assignment]
    late = submission.late_at is not None
    match submission.status:
        case SubmissionStatus.DRAFT:
            return Standing(state, submission.updated_at, late=late)
        case SubmissionStatus.SUBMITTED:
            return Standing(state, submission.submitted_at, late=late)
        case SubmissionStatus.IN_REVIEW:
            return Standing(state, submission.assigned_at or submission.submitted_at)
    decision = (reviews_of(submission) or [None])[-1]
    if decision is None:
        return Standing(state, submission.updated_at, late=late)
    return Standing(
        state,
        decision.created_at,
        late=late,
        comment=decision.comment or None,
        reason=decision.reason or None,
        field_comments=tuple(labelled_comments(decision)),
    )
