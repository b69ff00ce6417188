"""Writes versions and audit events; the only code that adds rows to those tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent, FieldChange, Version
from surveyapp.vocabulary import ChangeSource


@dataclass(frozen=True)
class Provenance:
    """Who changes the registry and from what: attached to every version written."""

    source: ChangeSource
    actor: str
    source_ref: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class FieldDiff:
    """One field's old and new value and shown text."""

    field: str
    old_value: Any
    new_value: Any
    old_text: str | None
    new_text: str | None


def record_version(
    provenance: Provenance,
    diffs: list[FieldDiff],
    *,
    institution_id: int | None = None,
    entry_id: int | None = None,
) -> Version:
    """Append the next version of an institution or entry with one change per field."""
    target = Version.institution_id if institution_id is not None else Version.entry_id
    target_id = institution_id if institution_id is not None else entry_id
    last = db.session.scalar(select(func.max(Version.number)).where(target == target_id))
    version = Version(
        institution_id=institution_id,
        entry_id=entry_id,
        number=(last or 0) + 1,
        source=provenance.source,
        source_ref=provenance.source_ref,
        actor=provenance.actor,
        comment=provenance.comment,
        changes=[
            FieldChange(
                field=d.field,
                old_value=d.old_value,
                new_value=d.new_value,
                old_text=d.old_text,
                new_text=d.new_text,
            )
            for d in diffs
        ],
    )
    db.session.add(version)
    return version


def audit(
    action: str,
    actor: str,
    *,
    target_type: str | None = None,
    target_id: int | None = None,
    remote_addr: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Append an audit event; it is committed with the transaction that caused it."""
    event = AuditEvent(
        action=action,
        actor=actor,
        target_type=target_type,
        target_id=target_id,
        remote_addr=remote_addr,
        detail=detail,
    )
    db.session.add(event)
    return event
