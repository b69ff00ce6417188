"""Questionnaire submissions and their versions.

A submission holds one respondent's answers for one invitation (or, later, a public
suggestion): the institution's fields once, and one block per entry, each block carrying
the id of the registry entry it was pre-filled from (none for a new programme) and whether
the respondent still runs it. Answers use the controlled-value shapes of
:mod:`surveyapp.registry.values`, so the review compares them with the registry directly.
Every submit or amendment freezes the answers as a new :class:`SubmissionVersion`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.database import enum_column, utcnow
from surveyapp.extensions import db
from surveyapp.vocabulary import SubmissionStatus

if TYPE_CHECKING:
    from surveyapp.auth.models import User
    from surveyapp.campaigns.models import Invitation
    from surveyapp.registry.models import Institution


class Submission(db.Model):
    """One respondent's answers for one invitation, from draft to decision.

    A suggestion from the public form has no invitation, is marked ``unverified`` and
    carries who sent it and their note. One that gave an email address waits as a draft
    until its sender opens the emailed link and confirms (``email_confirmed_at``), so
    curators never see suggestions from addresses nobody answers at.
    """

    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id"), unique=True, index=True
    )
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    definition_id: Mapped[str] = mapped_column(String(64))
    definition_version: Mapped[int]
    status: Mapped[SubmissionStatus] = mapped_column(
        enum_column(SubmissionStatus, "submission_status"),
        default=SubmissionStatus.DRAFT,
        index=True,
    )
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    nothing_changed: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_store: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_publish: Mapped[bool] = mapped_column(Boolean, default=False)
    unverified: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    submitter_name: Mapped[str | None] = mapped_column(String(300))
    submitter_email: Mapped[str | None] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(Text)
    email_confirmed_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    # Set when answers arrived after the link had closed (campaign closed, invitation
    # expired): kept as a late draft for the coordinator to accept or reopen.
    late_at: Mapped[datetime | None]
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    assigned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    row_version: Mapped[int] = mapped_column(default=1)

    versions: Mapped[list[SubmissionVersion]] = relationship(
        back_populates="submission",
        order_by="SubmissionVersion.number",
        cascade="all, delete-orphan",
    )
    invitation: Mapped[Invitation | None] = relationship()
    institution: Mapped[Institution | None] = relationship()
    assigned_to: Mapped[User | None] = relationship()

    @property
    def latest_version(self) -> SubmissionVersion | None:
        """The version a curator reviews: the last one submitted."""
        return self.versions[-1] if self.versions else None

    __mapper_args__ = {"version_id_col": row_version}


class SubmissionVersion(db.Model):
    """The answers as submitted once (the first submission or an amendment)."""

    __tablename__ = "submission_version"
    __table_args__ = (
        UniqueConstraint("submission_id", "number", name="uq_submission_version_number"),
        UniqueConstraint("submit_key", name="uq_submission_version_submit_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    number: Mapped[int]
    answers: Mapped[dict[str, Any]] = mapped_column()
    nothing_changed: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_publish: Mapped[bool] = mapped_column(Boolean, default=False)
    submit_key: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="versions")
