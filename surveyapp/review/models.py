"""A curator's decision on one submitted version, with the reasons and comments given.

The registry's own changes from an approval are versions in the history tables (naming the
submission); this table keeps what only the review knows: which version was decided, by
whom, the comment for the respondent, the comment per field and a rejection's reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.database import enum_column, utcnow
from surveyapp.extensions import db
from surveyapp.questionnaire.models import Submission
from surveyapp.vocabulary import Decision


class Review(db.Model):
    """One decision: approved, changes requested or rejected (a rejection has a reason)."""

    __tablename__ = "review"
    __table_args__ = (
        CheckConstraint(
            "decision <> 'rejected' OR reason IS NOT NULL", name="rejection_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    version_number: Mapped[int]
    decision: Mapped[Decision] = mapped_column(enum_column(Decision, "review_decision"))
    curator: Mapped[str] = mapped_column(String(320))
    comment: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    field_comments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    submission: Mapped[Submission] = relationship()
