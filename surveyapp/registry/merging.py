"""Merging two institutions that are one: the curator keeps one, the other is retired into
it. Its entries move (each with a version saying from where), answers the kept one lacks
are taken over (a version of the kept one), and the retired one stays in the database for
good, pointing at the survivor, so its permanent identifier, page and API address keep
resolving (301). Both are audited. Flush only: the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.service import Provenance, audit, record_version
from surveyapp.registry.models import CurationFlag, Institution
from surveyapp.registry.service import (
    FieldUpdate,
    RegistryError,
    change_fields,
    controlled_value,
    generic_fields,
    refresh_search_text,
    resolve_flag,
)
from surveyapp.vocabulary import ChangeSource, FlagKind


class MergeError(RegistryError):
    """The two institutions cannot be merged (the same one, or one already merged)."""


@dataclass(frozen=True)
class MergeReport:
    """What a merge did, for the page and the command line."""

    kept: Institution
    retired: Institution
    entries_moved: int
    answers_taken: tuple[str, ...]
    flags_resolved: int


def survivor(institution: Institution) -> Institution:
    """The institution a merged one now lives on in (itself when never merged); follows a
    chain of merges."""
    seen = {institution.id}
    while institution.replaced_by_id is not None:
        institution = db.session.get(Institution, institution.replaced_by_id)  # type: ignore[assignment]
        if institution.id in seen:  # a cycle cannot be written (see merge), but never loop
            break
        seen.add(institution.id)
    return institution


def merge_institutions(keep: Institution, retire: Institution, actor: str) -> MergeReport:
    """Retire ``retire`` into ``keep``; MergeError when that makes no sense."""
    if keep.id == retire.id:
        raise MergeError("An institution cannot be merged into itself.")
    for institution in (keep, retire):
        if institution.replaced_by_id is not None:
            raise MergeError(
                f"Institution {institution.id} was already merged into "
                f"{institution.replaced_by_id}; merge into that one instead."
            )
    provenance = Provenance(
        ChangeSource.STAFF_EDIT,
        actor,
        source_ref=f"merge of institution {retire.id} into {keep.id}",
        comment=f"{retire.name} ({retire.public_id}) merged into {keep.name} ({keep.public_id})",
    )
    taken = {
        key: FieldUpdate(value, "")
        for key, field in generic_fields().items()
        if field.level == "institution"
        and controlled_value(keep, key) is None
        and (value := controlled_value(retire, key)) is not None
    }
    if taken:
        change_fields(keep, taken, provenance)
    moved = list(retire.entries)
    for entry in moved:
        # A version without field changes: the move is no field a restore could undo, but
        # the entry's history says when it moved and from where (the provenance).
        record_version(provenance, [], entry_id=entry.id)
        entry.institution = keep
        refresh_search_text(entry)
    retire.replaced_by_id = keep.id
    retire.merged_at = utcnow()
    db.session.flush()
    flags = db.session.scalars(
        select(CurationFlag).where(
            CurationFlag.kind == FlagKind.POSSIBLE_DUPLICATE,
            CurationFlag.resolved_at.is_(None),
            or_(
                CurationFlag.institution_id.in_([keep.id, retire.id]),
                CurationFlag.entry_id.in_([e.id for e in keep.entries]),
            ),
        )
    ).all()
    between = [f for f in flags if _between(f, keep, retire)]
    for found in between:
        resolve_flag(found, actor, resolution=f"merged institution {retire.id} into {keep.id}")
    for institution, role in ((keep, "kept"), (retire, "retired")):
        audit(
            "registry.institutions_merged",
            actor,
            target_type="institution",
            target_id=institution.id,
            role=role,
            kept=keep.id,
            retired=retire.id,
            retired_public_id=retire.public_id,
            entries_moved=[e.id for e in moved],
            answers_taken=sorted(taken),
        )
    return MergeReport(keep, retire, len(moved), tuple(sorted(taken)), len(between))


def _between(flag: CurationFlag, keep: Institution, retire: Institution) -> bool:
    """A duplicate flag that pairs the two (now one) institutions or their entries."""
    ours = {e.id for e in keep.entries}
    if flag.entry_id in ours:
        return flag.related_entry_id in ours or flag.institution_id in (keep.id, retire.id)
    return flag.institution_id in (keep.id, retire.id) and flag.related_entry_id in ours
