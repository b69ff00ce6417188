"""Registry operations: read and change fields with history, flag, search, count.

Views, CLI commands and later areas (review, questionnaire) change the registry only
through :func:`change_fields`, which writes a version with old and new value per field.
Functions here flush but never commit: the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import selectinload

from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.models import Version
from surveyapp.history.service import FieldDiff, Provenance, record_version
from surveyapp.pagination import Page, paginate
from surveyapp.questionnaire.definition import FieldDefinition, table1
from surveyapp.registry import values
from surveyapp.registry.models import (
    CurationFlag,
    Entry,
    EntryAtmpType,
    Institution,
)
from surveyapp.vocabulary import Answer, AtmpType, EntryStatus, FlagKind, PatientsQualifier


class RegistryError(Exception):
    """A registry operation cannot be done as asked; the message says why."""


class EntryNotFound(RegistryError):
    """No entry has the given id."""


Target = Institution | Entry


def controlled_value(target: Target, key: str) -> Any:
    """A field's controlled value as JSON-able Python (see :mod:`.values` for shapes)."""
    if isinstance(target, Institution):
        return {
            "institution": target.name,
            "country": target.country_code,
            "website": target.website,
        }[key]
    match key:
        case "atmp_type":
            return {"types": [t.value for t in target.atmp_types], "other": target.atmp_other}
        case "patients_treated":
            qualifier = target.patients_qualifier
            return {
                "estimate": target.patients_estimate,
                "qualifier": qualifier.value if qualifier else None,
            }
        case "contract_research" | "routine_application":
            answer = getattr(target, key)
            return answer.value if answer else None
        case _:
            return getattr(target, key)


def _assign(target: Target, key: str, value: Any) -> None:
    if isinstance(target, Institution):
        if key == "institution":
            target.name = value
        elif key == "country":
            target.country_code = value
        else:
            target.website = value
            target.website_domain = values.website_domain(value)
        return
    match key:
        case "atmp_type":
            target.atmp_types = [AtmpType(t) for t in value["types"]]
            target.atmp_other = value["other"]
        case "patients_treated":
            target.patients_estimate = value["estimate"]
            qualifier = value["qualifier"]
            target.patients_qualifier = PatientsQualifier(qualifier) if qualifier else None
        case "contract_research" | "routine_application":
            setattr(target, key, Answer(value) if value else None)
        case "diseases_targeted":
            target.diseases_targeted = list(value)
            target.disease_areas = values.disease_areas(value)
        case "diseases_pipeline":
            target.diseases_pipeline = list(value)
        case _:
            setattr(target, key, value)


def refresh_search_text(entry: Entry) -> None:
    """Keep the lower-case text that free-text and disease search look in up to date.

    It holds the shown text of every public field, the institution's included (lower-cased
    in Python, which, unlike SQLite's lower(), folds every alphabet). Personal fields are
    left out, so a public search by a person's name finds nothing.
    """
    public = [f.key for f in table1().fields if f.in_table1 and not f.personal]
    entry.search_text = " ".join(shown_text(entry, k) for k in public).lower()
    entry.disease_text = " ".join(
        [
            *entry.diseases_targeted,
            *entry.diseases_pipeline,
            entry.texts.get("diseases_targeted") or "",
            entry.texts.get("diseases_pipeline") or "",
        ]
    ).lower()


def shown_text(entry: Entry, key: str) -> str:
    """The text shown for one of an entry's fields, institution-level ones included.

    An institution-level field shows the entry's own printed row (rows of one institution
    may have printed different websites) until the institution's value is changed.
    """
    definition = table1().field(key)
    if definition.level == "entry":
        return entry.texts.get(key) or ""
    institution = entry.institution
    current = institution.texts.get(key) or ""
    unchanged = institution.printed is not None and current == (institution.printed.get(key) or "")
    if entry.printed is not None and unchanged:
        return entry.printed.get(key) or ""
    return current


@dataclass
class FieldUpdate:
    """A new value for one field with the text to show for it."""

    value: Any
    text: str


def change_fields(
    target: Target, updates: dict[str, FieldUpdate], provenance: Provenance
) -> Version | None:
    """Apply new values and texts to an institution or entry as one new version.

    Fields whose value and text are unchanged are skipped; with nothing left, no version is
    written and None is returned.
    """
    diffs = []
    for key, update in updates.items():
        old_value, old_text = controlled_value(target, key), target.texts.get(key)
        if old_value == update.value and (old_text or "") == update.text:
            continue
        diffs.append(FieldDiff(key, old_value, update.value, old_text, update.text))
        _assign(target, key, update.value)
    if not diffs:
        return None
    target.texts = {**target.texts, **{d.field: d.new_text for d in diffs}}
    for entry in target.entries if isinstance(target, Institution) else [target]:
        refresh_search_text(entry)
    target.updated_at = utcnow()
    db.session.flush()
    ids = (
        {"institution_id": target.id}
        if isinstance(target, Institution)
        else {"entry_id": target.id}
    )
    return record_version(provenance, diffs, **ids)


def add_institution(
    updates: dict[str, FieldUpdate], provenance: Provenance, printed: dict[str, str] | None = None
) -> Institution:
    """Create an institution from field updates; its first version records them."""
    institution = Institution(
        name=updates["institution"].value, printed=printed, texts={}, entries=[]
    )
    db.session.add(institution)
    db.session.flush()
    change_fields(institution, updates, provenance)
    return institution


def add_entry(
    institution: Institution,
    updates: dict[str, FieldUpdate],
    provenance: Provenance,
    *,
    source_row: int | None = None,
    printed: dict[str, str] | None = None,
) -> Entry:
    """Create an entry of an institution; its first version records the given fields."""
    entry = Entry(
        institution=institution,
        source_row=source_row,
        printed=printed,
        texts={},
        atmp_type_links=[],
        disease_area_links=[],
    )  # empty collections given, so a new entry needs no lazy loads
    db.session.add(entry)
    db.session.flush()
    change_fields(entry, updates, provenance)
    refresh_search_text(entry)  # also when no entry-level field was given
    return entry


def updates_from_text(
    fields: tuple[FieldDefinition, ...], texts: dict[str, str]
) -> tuple[dict[str, FieldUpdate], dict[str, str]]:
    """Read texts into field updates; returns the updates and a problem per field key."""
    updates: dict[str, FieldUpdate] = {}
    problems: dict[str, str] = {}
    for definition in fields:
        if definition.key not in texts:
            continue
        reading = values.read(definition, texts[definition.key])
        updates[definition.key] = FieldUpdate(reading.value, (texts[definition.key] or "").strip())
        if reading.problem:
            problems[definition.key] = reading.problem
    return updates, problems


def flag(
    kind: FlagKind,
    reason: str,
    *,
    institution: Institution | None = None,
    entry: Entry | None = None,
    field: str | None = None,
    related_entry: Entry | None = None,
    score: float | None = None,
) -> CurationFlag:
    """Flag an institution or entry for curation; an identical open flag is reused."""
    institution_id = institution.id if institution else None
    entry_id = entry.id if entry else None
    related_id = related_entry.id if related_entry else None
    existing = db.session.scalar(
        select(CurationFlag).where(
            CurationFlag.kind == kind,
            CurationFlag.institution_id.is_(None)
            if institution_id is None
            else CurationFlag.institution_id == institution_id,
            CurationFlag.entry_id.is_(None)
            if entry_id is None
            else CurationFlag.entry_id == entry_id,
            CurationFlag.field.is_(None) if field is None else CurationFlag.field == field,
            CurationFlag.related_entry_id.is_(None)
            if related_id is None
            else CurationFlag.related_entry_id == related_id,
            CurationFlag.resolved_at.is_(None),
        )
    )
    if existing:
        return existing
    new_flag = CurationFlag(
        kind=kind,
        reason=reason,
        institution_id=institution_id,
        entry_id=entry_id,
        field=field,
        related_entry_id=related_id,
        score=score,
    )
    db.session.add(new_flag)
    return new_flag


def needs_curation_clause() -> Any:
    """SQL condition: the entry or its institution as a whole has an open curation flag.

    Two EXISTS rather than one with OR, so each can use its index.
    """
    open_flag = CurationFlag.resolved_at.is_(None)
    return or_(
        exists().where(open_flag, CurationFlag.entry_id == Entry.id),
        exists().where(
            open_flag,
            CurationFlag.institution_id == Entry.institution_id,
            CurationFlag.entry_id.is_(None),
        ),
    )


def entries_needing_curation(entry_ids: list[int]) -> set[int]:
    """Which of these entries have an open flag (on themselves or their institution)."""
    if not entry_ids:
        return set()
    return set(
        db.session.scalars(select(Entry.id).where(Entry.id.in_(entry_ids), needs_curation_clause()))
    )


def open_flags(entry: Entry) -> list[CurationFlag]:
    """Open flags on an entry and on its institution as a whole."""
    return list(
        db.session.scalars(
            select(CurationFlag)
            .where(
                CurationFlag.resolved_at.is_(None),
                or_(
                    CurationFlag.entry_id == entry.id,
                    and_(
                        CurationFlag.entry_id.is_(None),
                        CurationFlag.institution_id == entry.institution_id,
                    ),
                ),
            )
            .order_by(CurationFlag.id)
        )
    )


SORTS = {
    "institution": (Institution.name, Entry.id),
    "country": (Institution.country_code, Institution.name, Entry.id),
    "patients": (Entry.patients_estimate.desc().nulls_last(), Entry.id),
    "row": (Entry.source_row.asc().nulls_last(), Entry.id),
    "updated": (Entry.updated_at.desc(), Entry.id),
}


@dataclass
class EntryFilters:
    """What the registry table and the API can filter entries by."""

    q: str = ""
    disease: str = ""
    country: str = ""
    atmp_type: str = ""
    contract_research: str = ""
    routine_application: str = ""
    needs_curation: bool = False
    include_retired: bool = False
    sort: str = "row"


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def filtered_entries(filters: EntryFilters) -> Select[tuple[Entry]]:
    """The SELECT for entries matching the filters (no ordering, no paging)."""
    query = select(Entry).join(Entry.institution)
    if not filters.include_retired:
        query = query.where(Entry.status == EntryStatus.ACTIVE)
    if filters.country:
        query = query.where(Institution.country_code == filters.country.upper())
    if filters.atmp_type:
        query = query.where(
            exists().where(
                EntryAtmpType.entry_id == Entry.id,
                EntryAtmpType.atmp_type == AtmpType(filters.atmp_type),
            )
        )
    if filters.contract_research:
        query = query.where(Entry.contract_research == Answer(filters.contract_research))
    if filters.routine_application:
        query = query.where(Entry.routine_application == Answer(filters.routine_application))
    if filters.needs_curation:
        query = query.where(needs_curation_clause())
    if filters.disease:
        query = query.where(Entry.disease_text.like(_like(filters.disease), escape="\\"))
    for word in filters.q.lower().split():
        query = query.where(Entry.search_text.like(_like(word), escape="\\"))
    return query


def search_entries(filters: EntryFilters, page: int = 1, per_page: int = 50) -> Page[Entry]:
    """A page of entries matching the filters, sorted, with their related rows loaded."""
    ordered = (
        filtered_entries(filters)
        .order_by(*SORTS.get(filters.sort, SORTS["row"]))
        .options(
            selectinload(Entry.institution),
            selectinload(Entry.atmp_type_links),
            selectinload(Entry.disease_area_links),
        )
    )
    return paginate(ordered, page, per_page)


def get_entry(entry_id: int) -> Entry:
    """The entry with this id; raises EntryNotFound."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        raise EntryNotFound(f"no entry has id {entry_id}")
    return entry


def get_institution(institution_id: int) -> Institution | None:
    """The institution with this id, or None."""
    return db.session.get(Institution, institution_id)


def history(target: Target) -> list[Version]:
    """Every version of an institution or entry, newest first."""
    column = Version.institution_id if isinstance(target, Institution) else Version.entry_id
    return list(
        db.session.scalars(
            select(Version)
            .where(column == target.id)
            .options(selectinload(Version.changes))
            .order_by(Version.number.desc())
        )
    )


def retire_entry(entry: Entry, reason: str, provenance: Provenance) -> Version:
    """Retire an entry with a reason (entries are never deleted)."""
    if not reason.strip():
        raise RegistryError("retiring an entry needs a reason")
    if not entry.is_active:
        raise RegistryError(f"entry {entry.id} is already retired")
    entry.status = EntryStatus.RETIRED
    entry.retired_reason = reason.strip()
    entry.retired_at = utcnow()
    db.session.flush()
    return record_version(
        provenance,
        [
            FieldDiff(
                "status", EntryStatus.ACTIVE.value, EntryStatus.RETIRED.value, None, reason.strip()
            )
        ],
        entry_id=entry.id,
    )
