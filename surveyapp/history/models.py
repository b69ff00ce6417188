"""Versions of institutions and entries, and the audit log.

A :class:`Version` is one change to one institution or entry: who made it, when, and from
what (Table 1 import, file import, submission, staff edit, restore), with a
:class:`FieldChange` per field holding the old and new controlled value and shown text, so
any earlier state can be restored. :class:`AuditEvent` records actions (imports, exports,
logins, decisions) and is append-only: the ORM refuses to update or delete its rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.database import enum_column, utcnow
from surveyapp.extensions import db
from surveyapp.vocabulary import ChangeSource


class Version(db.Model):
    """One change to an institution or an entry (exactly one of the two)."""

    __tablename__ = "version"
    __table_args__ = (
        CheckConstraint("(institution_id IS NULL) <> (entry_id IS NULL)", name="one_target"),
        Index("ix_version_target", "institution_id", "entry_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id"), index=True)
    number: Mapped[int]
    source: Mapped[ChangeSource] = mapped_column(enum_column(ChangeSource, "change_source"))
    source_ref: Mapped[str | None] = mapped_column(String(300))
    actor: Mapped[str] = mapped_column(String(320))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    changes: Mapped[list[FieldChange]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="FieldChange.id"
    )


class FieldChange(db.Model):
    """Old and new value of one field in one version; values are JSON, texts as shown."""

    __tablename__ = "field_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("version.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    old_text: Mapped[str | None] = mapped_column(Text)
    new_text: Mapped[str | None] = mapped_column(Text)

    version: Mapped[Version] = relationship(back_populates="changes")


class AuditEvent(db.Model):
    """An action someone (or a command) took; rows are written once and never changed."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None]
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_change(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AuditLogIsAppendOnly(f"audit event {target.id} cannot be changed or deleted")
