"""Registry operations: read and change fields with history, flag, search, count.

Views, CLI commands and later areas (review, questionnaire) change the registry only
through :func:`change_fields`, which writes a version with old and new value per field.
Functions here flush but never commit: the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from surveyapp.database import utcnow
from surveyapp.definitions import FieldDefinition, answers, registry_fields, table1
from surveyapp.extensions import db
from surveyapp.history.models import Version
from surveyapp.history.service import FieldDiff, Provenance, record_version
from surveyapp.pagination import Page, paginate
from surveyapp.registry import values
from surveyapp.registry.models import (
    CurationFlag,
    Entry,
    EntryAtmpType,
    Institution,
)
from surveyapp.vocabulary import (
    Answer,
    AtmpType,
    ChangeSource,
    EntryStatus,
    FlagKind,
    PatientsQualifier,
)


class RegistryError(Exception):
    """A registry operation cannot be done as asked; the message says why."""


class EntryNotFound(RegistryError):
    """No entry has the given id."""


Target = Institution | Entry
# Keys change_fields takes besides the questionnaires' fields.
_RECORD_KEYS = frozenset({"status", "contact_public"})


def generic_fields() -> dict[str, FieldDefinition]:
    """Every field of a generic type that a definition in use asks, by key: the registry
    keeps their values in ``answers`` (any level, any version, dropped ones included)."""
    return {f.key: f for f in registry_fields() if answers.is_generic(f)}


def controlled_value(target: Target, key: str) -> Any:
    """A field's controlled value as JSON-able Python (see :mod:`.values` for shapes; a
    generic field's value is its ``answers`` item, in :mod:`surveyapp.definitions.answers`'
    shapes, None when never answered)."""
    if key not in _RECORD_KEYS and key not in _table1_keys():
        return (target.answers or {}).get(key)  # None until a new row is flushed
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
        case "status":
            return target.status.value
        case _:
            return getattr(target, key)


def _assign(target: Target, key: str, value: Any, text: str) -> None:
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
        case "status":
            target.status = EntryStatus(value)
            retired = target.status == EntryStatus.RETIRED
            target.retired_reason = (text or "retired") if retired else None
            target.retired_at = utcnow() if retired else None
        case _:
            setattr(target, key, value)


def refresh_search_text(entry: Entry) -> None:
    """Keep the lower-case text that free-text and disease search look in up to date, the
    count of Table 1 columns the entry fills (its completeness) and its country.

    It holds the shown text of every public field, the institution's included (lower-cased
    in Python, which, unlike SQLite's lower(), folds every alphabet). Personal fields are
    left out, so a public search by a person's name finds nothing.
    """
    definition = table1()
    public = [f.key for f in definition.fields if f.in_table1 and not f.personal]
    entry.search_text = " ".join(shown_text(entry, k) for k in public).lower()
    entry.filled_fields = sum(1 for k in definition.table1_columns if shown_text(entry, k).strip())
    entry.country_code = entry.institution.country_code
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

    Besides the questionnaire's fields, an entry's ``status`` (text: the retirement reason)
    and ``contact_public`` (the recorded consent to show its contact) change this way too.
    A generic field's value is checked through :func:`answers.read` (a bad value or a key
    no definition asks at this level raises a RegistryError) and written into ``answers``;
    its text is always the rendering of its value. Fields whose value and text are
    unchanged are skipped; with nothing left, no version is written and None is returned.
    """
    outside_table1 = set(updates) - _RECORD_KEYS - _table1_keys()
    generic = generic_fields() if outside_table1 else {}  # Table 1 imports skip the lookup
    diffs = []
    for key, update in updates.items():
        field = generic.get(key)
        if field is not None:
            update = _checked(target, field, update)
            old_value = controlled_value(target, key)
            old_text: str | None = answers.render(field, old_value)
        else:
            _check_known(key)
            _check_website(target, key, update.value)
            old_value, old_text = controlled_value(target, key), target.texts.get(key)
        if old_value == update.value and (old_text or "") == update.text:
            continue
        diffs.append(FieldDiff(key, old_value, update.value, old_text, update.text))
        if field is not None:
            _assign_answer(target, key, update.value)
        else:
            _assign(target, key, update.value, update.text)
    if not diffs:
        return None
    texts = {d.field: d.new_text for d in diffs if d.field not in generic}
    target.texts = {**target.texts, **texts}
    for entry in target.entries if isinstance(target, Institution) else [target]:
        refresh_search_text(entry)
    target.updated_at = utcnow()
    db.session.flush()
    ids = (
        {"institution_id": target.id}
        if isinstance(target, Institution)
        else {"entry_id": target.id}
    )
    version = record_version(provenance, diffs, **ids)
    if provenance.source in MERGES:
        close_replaced_flags(target, [d.field for d in diffs], provenance, version)
    return version


def _table1_keys() -> frozenset[str]:
    return table1().keys


def _check_known(key: str) -> None:
    if key not in _RECORD_KEYS and key not in _table1_keys():
        raise RegistryError(f"{key!r} is no field of the registry")


def _check_website(target: Target, key: str, value: Any) -> None:
    """Refuse a website that fails the registry's rule, whoever writes it (an approved
    answer stored before the rule, a restored old version): it would be published as a
    link."""
    website = isinstance(target, Institution) and key == "website" and value
    if website and (problem := values.website_problem(str(value))):
        raise FieldProblems({key: problem})


def _checked(target: Target, field: FieldDefinition, update: FieldUpdate) -> FieldUpdate:
    """A generic field's new value read again as its type reads typed input (so only the
    stored shapes, allowed codes and bounds get in), with its rendering as the text."""
    level = "institution" if isinstance(target, Institution) else "entry"
    if field.level != level:
        raise RegistryError(f"{field.key!r} is an {field.level} field, not an {level} field")
    raw = update.value
    if raw is not None and not isinstance(raw, list):
        raw = str(raw)
    elif isinstance(raw, list):
        raw = [str(item) for item in raw]
    reading = answers.read(field, raw)
    if reading.problem:
        raise FieldProblems({field.key: reading.problem})
    return FieldUpdate(reading.value, answers.render(field, reading.value))


def _assign_answer(target: Target, key: str, value: Any) -> None:
    """Write a generic field's value as a new ``answers`` object (so the change is seen and
    flushed); no answer removes the key."""
    stored = {k: v for k, v in (target.answers or {}).items() if k != key}
    target.answers = stored if value is None else {**stored, key: value}


# Changes a curator decided on: a value they take or type replaces a flagged one.
MERGES = (ChangeSource.SUBMISSION, ChangeSource.STAFF_EDIT)


def close_replaced_flags(
    target: Target, keys: list[str], provenance: Provenance, version: Version
) -> list[CurationFlag]:
    """Resolve the open flags on fields a curator's merge has just replaced.

    A flag says a field's value needs a curator; once an approved answer or a staff edit
    gives the field a new value, the flag is closed naming that merge as its resolution.
    """
    if not keys:
        return []
    column = (
        CurationFlag.institution_id if isinstance(target, Institution) else CurationFlag.entry_id
    )
    flags = list(
        db.session.scalars(
            select(CurationFlag).where(
                column == target.id,
                CurationFlag.field.in_(keys),
                CurationFlag.resolved_at.is_(None),
            )
        )
    )
    kind = "institution" if isinstance(target, Institution) else "entry"
    merge = provenance.source_ref or (
        f"{provenance.source.label.lower()}, {kind} {target.id} version {version.number}"
    )
    for curation_flag in flags:
        resolve_flag(curation_flag, provenance.actor, resolution=f"Replaced by {merge}")
    return flags


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
    """Read texts into field updates; returns the updates and a problem per field key.

    Generic fields are read by :func:`answers.read` (lists separated by "; " or lines) and
    show the rendering of what was read.
    """
    updates: dict[str, FieldUpdate] = {}
    problems: dict[str, str] = {}
    for definition in fields:
        if definition.key not in texts:
            continue
        text = (texts[definition.key] or "").strip()
        if answers.is_generic(definition):
            reading: Any = answers.read(definition, text)
            text = answers.render(definition, reading.value)
        else:
            reading = values.read(definition, text)
        updates[definition.key] = FieldUpdate(reading.value, text)
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


@dataclass(frozen=True)
class WebsiteFlag:
    """A stored website failing the registry's rule, and whether this check flagged it
    (False: an earlier check's flag for the same value is still open)."""

    institution: Institution
    problem: str
    new: bool


def flag_unlinkable_websites() -> list[WebsiteFlag]:
    """Flag for curation every institution whose stored website fails
    :func:`values.website_problem` (stored before the rule existed); pages show such a
    value as plain text until a curator corrects it. Institutions merged into another are
    left out. Running it again adds no second flag while the first is open; another
    open flag on the website (a cut-off address) does not stand in for it, as its reason
    would not say what is wrong now."""
    stored = db.session.execute(
        select(Institution.id, Institution.website)
        .where(Institution.website.is_not(None), Institution.replaced_by_id.is_(None))
        .order_by(Institution.id)
    )
    failing = [(i, p) for i, website in stored if (p := values.website_problem(website))]
    found = []
    for institution_id, problem in failing:
        reason = f"{problem}; pages show it as plain text until it is corrected"
        flagged = db.session.scalar(
            select(CurationFlag.id).where(
                CurationFlag.institution_id == institution_id,
                CurationFlag.entry_id.is_(None),
                CurationFlag.field == "website",
                CurationFlag.reason == reason,
                CurationFlag.resolved_at.is_(None),
            )
        )
        if flagged is None:
            db.session.add(
                CurationFlag(
                    kind=FlagKind.UNMAPPED_VALUE,
                    institution_id=institution_id,
                    field="website",
                    reason=reason,
                )
            )
        institution = db.session.get_one(Institution, institution_id)
        found.append(WebsiteFlag(institution, problem, new=flagged is None))
    db.session.flush()
    return found


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


def registry_changed_at() -> tuple[datetime | None, datetime | None]:
    """The newest change of any entry and of any institution: a list or an export can lose
    members (an entry retired, or no longer matching), so its answer rests on the whole
    registry."""
    return (
        db.session.scalar(select(func.max(Entry.updated_at))),
        db.session.scalar(select(func.max(Institution.updated_at))),
    )


def registry_counters() -> tuple[int, int, int, int]:
    """How many entries and institutions there are and the sums of their version counters:
    together they change with every committed insert or update, in whatever order
    transactions commit (a timestamp taken before a slow commit does not)."""
    entries = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Entry.row_version), 0))
    ).one()
    institutions = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Institution.row_version), 0))
    ).one()
    return entries[0], entries[1], institutions[0], institutions[1]


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


def search_entries(
    filters: EntryFilters,
    page: int = 1,
    per_page: int = 50,
    matching: Select[tuple[Entry]] | None = None,
) -> Page[Entry]:
    """A page of entries matching the filters (or the narrower ``matching`` query built
    from them), sorted, with their related rows loaded."""
    ordered = (
        (matching if matching is not None else filtered_entries(filters))
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


def entries_with_types(institution: Institution) -> list[Entry]:
    """An institution's entries in id order, with their ATMP types in the same statement:
    the questionnaire's pre-fill and the review's comparison read every entry's types,
    which loaded one by one cost a statement per entry."""
    return list(db.session.scalars(_entries_with_types(), {"id": institution.id}).unique())


@cache
def _entries_with_types() -> Select[Any]:
    """The statement of :func:`entries_with_types`, built once."""
    return (
        select(Entry)
        .where(Entry.institution_id == bindparam("id"))
        .order_by(Entry.id)
        .options(joinedload(Entry.atmp_type_links))
    )


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
    update = FieldUpdate(EntryStatus.RETIRED.value, reason.strip())
    version = change_fields(entry, {"status": update}, provenance)
    if version is None:
        raise RegistryError(f"entry {entry.id} could not be retired")
    return version


class StaleTarget(RegistryError):
    """The institution or entry changed since the curator's page showed it."""

    def __init__(self, target: Target, seen_row_version: int) -> None:
        super().__init__(f"{type(target).__name__.lower()} {target.id} changed meanwhile")
        self.target = target
        self.seen_row_version = seen_row_version


def check_unchanged(target: Target, seen_row_version: int | None) -> None:
    """Raise StaleTarget when the target's row version is not the one the page showed."""
    if seen_row_version is not None and target.row_version != seen_row_version:
        raise StaleTarget(target, seen_row_version)


def versions_since(target: Target, when: Any) -> list[Version]:
    """Versions of the target written after a time (what a conflict page shows)."""
    column = Version.institution_id if isinstance(target, Institution) else Version.entry_id
    return list(
        db.session.scalars(
            select(Version)
            .where(column == target.id, Version.created_at > when)
            .options(selectinload(Version.changes))
            .order_by(Version.number)
        )
    )


def state_after(target: Target, number: int) -> dict[str, FieldUpdate]:
    """The fields changed after version ``number``, with the value and text they had then.

    Fields not changed since are already as they were, so restoring needs only these.
    """
    versions = history(target)
    if number not in {v.number for v in versions}:
        raise RegistryError(f"{type(target).__name__.lower()} {target.id} has no version {number}")
    state: dict[str, FieldUpdate] = {}
    for version in sorted(versions, key=lambda v: v.number):
        if version.number <= number:
            continue
        for change in version.changes:
            state.setdefault(change.field, FieldUpdate(change.old_value, change.old_text or ""))
    return state


def restore(target: Target, number: int, provenance: Provenance) -> Version | None:
    """Bring an institution or entry back to how it was right after version ``number``.

    Restoring is itself a new version, so it can be undone the same way.
    """
    return change_fields(target, state_after(target, number), provenance)


def set_contact_public(entry: Entry, public: bool, provenance: Provenance) -> Version | None:
    """Record whether the entry's contact may be shown publicly (the respondent's consent)."""
    text = "shown publicly" if public else "not shown publicly"
    return change_fields(entry, {"contact_public": FieldUpdate(public, text)}, provenance)


def resolve_flag(curation_flag: CurationFlag, actor: str, *, resolution: str | None = None) -> None:
    """Mark a curation flag dealt with, saying how when known; flags are kept, never deleted."""
    from surveyapp.history.service import audit

    if curation_flag.resolved_at is not None:
        return
    curation_flag.resolved_at = utcnow()
    curation_flag.resolved_by = actor
    curation_flag.resolution = resolution
    audit(
        "registry.flag_resolved",
        actor,
        target_type="curation_flag",
        target_id=curation_flag.id,
        kind=curation_flag.kind.value,
        entry_id=curation_flag.entry_id,
        institution_id=curation_flag.institution_id,
        field=curation_flag.field,
        resolution=resolution,
    )


class FieldProblems(RegistryError):
    """Some typed values cannot be read; ``problems`` maps each field key to why."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def editable_fields(target: Target) -> tuple[FieldDefinition, ...]:
    """The fields a curator edits on an institution or an entry: Table 1's, then every
    generic field a definition in use asks at that level."""
    level = "institution" if isinstance(target, Institution) else "entry"
    generic = tuple(f for f in generic_fields().values() if f.level == level)
    return table1().level_fields(level) + generic  # type: ignore[arg-type]


def edit_text(target: Target, key: str) -> str:
    """A field's text as a curator edits it: the shown text, or a rendering of the value
    (a generic field's read back as typed: numbers without their unit, items joined
    with "; ")."""
    field = generic_fields().get(key)
    if field is not None:
        value = controlled_value(target, key)
        if field.type in ("integer", "decimal"):
            return "" if value is None else str(value)
        return answers.render(field, value)
    shown = target.texts.get(key)
    if shown:
        return str(shown)
    return values.render(table1().field(key), controlled_value(target, key))


def staff_edit(
    target: Target,
    typed: dict[str, str],
    *,
    actor: str,
    seen_row_version: int,
    comment: str = "",
) -> Version | None:
    """A curator's direct edit: read the typed texts that differ from what was shown.

    Untouched fields are left alone (a printed text the importer could not map stays as it
    is); a text that cannot be read raises FieldProblems and changes nothing.
    """
    check_unchanged(target, seen_row_version)
    fields = tuple(
        f
        for f in editable_fields(target)
        if f.key in typed and typed[f.key].strip() != edit_text(target, f.key).strip()
    )
    updates, problems = updates_from_text(fields, typed)
    if problems:
        raise FieldProblems(problems)
    provenance = Provenance(ChangeSource.STAFF_EDIT, actor, comment=comment.strip() or None)
    return change_fields(target, updates, provenance)
