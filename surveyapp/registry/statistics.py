"""Registry-wide figures (RESTORE D1.4's analysis), aggregated in SQL, never in Python loops.

Three grouped scans answer everything: one over entries (by country, both answers and the
patients' qualifier, from the entry's own derived country column, so without a join), and
one each over the ATMP-type and disease-area link rows. Link rows of retired entries (few)
are counted separately and subtracted, so the big scans need no join either. Combining the
small grouped results happens in Python.

Fields of later questionnaires are counted with no code per field: every choice,
multi-choice and yes/no/unknown field gets its count per code, every integer field its
distribution (smallest, median, largest and up to five ranges), each in a few SQL
aggregates over the JSON answers. Entry-level fields count active entries; institution-level
ones count institutions with an active entry, so a centre with five programmes counts once.

While table1-v2's capacity fields are in use, two figures of the Centres of Excellence
topic join them (:func:`capacity_statistics`): centres (institutions, not entries) with an
active entry administering each EU-authorised ATMP, and per country the centres with GMP
manufacturing and with a clinical-trial unit; one SQL statement each, whatever the size
of the registry.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import case, exists, func, select

from surveyapp.definitions import FieldDefinition
from surveyapp.definitions.vocabularies import choices
from surveyapp.extensions import db
from surveyapp.registry import cities
from surveyapp.registry.answer_scan import LevelAnswers, level_answers
from surveyapp.registry.cities import GMP_SITES
from surveyapp.registry.generic import FILTER_TYPES, answer_column, generic_fields
from surveyapp.registry.models import Entry, EntryAtmpType, EntryDiseaseArea, Institution
from surveyapp.vocabulary import EntryStatus, PatientsQualifier, YesNoUnknown

UNKNOWN = "unknown"
BUCKETS = 5
QUALIFIED = [q.value for q in PatientsQualifier if q != PatientsQualifier.UNKNOWN]


def _key(value: Any) -> str:
    return (value.value if hasattr(value, "value") else value) or UNKNOWN


def _link_counts(column: Any, entry_column: Any) -> dict[str, int]:
    """Active entries per linked value: all link rows minus those of retired entries."""
    counts = Counter(
        {
            _key(value): int(n)
            for value, n in db.session.execute(select(column, func.count()).group_by(column))
        }
    )
    retired = db.session.execute(
        select(column, func.count())
        .join(Entry, Entry.id == entry_column)
        .where(Entry.status == EntryStatus.RETIRED)
        .group_by(column)
    )
    counts.subtract({_key(value): int(n) for value, n in retired})
    return {key: n for key, n in counts.items() if n > 0}


def entries_by_country() -> dict[str, int]:
    """Active entries per country code (for the map): one indexed grouped scan."""
    rows = db.session.execute(
        select(Entry.country_code, func.count(Entry.id))
        .where(Entry.status == EntryStatus.ACTIVE)
        .group_by(Entry.country_code)
    )
    return {_key(code): int(n) for code, n in rows}


def registry_statistics() -> dict[str, Any]:
    """Counts of active entries by country, ATMP type, disease area and answers, and
    patients treated by country (with the qualifiers of the numbers).

    Entries without a value are counted under "unknown"; the patients' sum covers entries
    that give a number, whatever its qualifier.
    """
    rows = db.session.execute(
        select(
            Entry.country_code,
            Entry.contract_research,
            Entry.routine_application,
            Entry.patients_qualifier,
            func.count(Entry.id),
            func.count(Entry.patients_estimate),
            func.sum(Entry.patients_estimate),
        )
        .where(Entry.status == EntryStatus.ACTIVE)
        .group_by(
            Entry.country_code,
            Entry.contract_research,
            Entry.routine_application,
            Entry.patients_qualifier,
        )
    ).all()
    by_country: Counter[str] = Counter()
    contract: Counter[str] = Counter()
    routine: Counter[str] = Counter()
    detail: dict[str, dict[str, Any]] = {}
    for country, research, application, qualifier, entries, numbered, patients in rows:
        code = _key(country)
        by_country[code] += int(entries)
        contract[_key(research)] += int(entries)
        routine[_key(application)] += int(entries)
        figures = detail.setdefault(
            code,
            {
                "total": 0,
                "entries_with_number": 0,
                "entries_without_number": 0,
                "by_qualifier": dict.fromkeys(QUALIFIED, 0),
            },
        )
        figures["entries_without_number"] += int(entries) - int(numbered)
        if numbered:
            kind = qualifier.value if qualifier is not None else PatientsQualifier.EXACT.value
            kind = kind if kind in QUALIFIED else PatientsQualifier.EXACT.value
            figures["total"] += int(patients or 0)
            figures["entries_with_number"] += int(numbered)
            figures["by_qualifier"][kind] += int(patients or 0)
    figures = {
        "entries": sum(by_country.values()),
        "entries_by_country": dict(by_country),
        "entries_by_atmp_type": _link_counts(EntryAtmpType.atmp_type, EntryAtmpType.entry_id),
        "entries_by_disease_area": _link_counts(
            EntryDiseaseArea.disease_area, EntryDiseaseArea.entry_id
        ),
        "entries_by_contract_research": dict(contract),
        "entries_by_routine_application": dict(routine),
        "patients_treated_by_country": {
            code: f["total"] for code, f in sorted(detail.items()) if f["entries_with_number"]
        },
        "patients_treated_by_country_detail": dict(sorted(detail.items())),
    }
    counted = counted_fields()
    levels = answers_by_level(counted) if counted else None
    products = capacity_field(*PRODUCTS)
    shared = levels is not None and products is not None and products in counted
    figures |= capacity_statistics(levels["entry"] if shared and levels else None)
    if levels is not None:
        figures["answers"] = answer_statistics(levels)
    return figures


# The table1-v2 fields the capacity figures read, and the type each must have.
PRODUCTS = (cities.PRODUCTS, "multi_choice")
GMP = (cities.GMP, "choice")
TRIAL_UNIT = ("clinical_trial_unit", "yes_no_unknown")


def capacity_field(key: str, kind: str) -> FieldDefinition | None:
    """The public generic field ``key`` of the definitions in use when it has the type the
    capacity figures expect, else None (Table 1 alone asks none of them)."""
    found = next((f for f in generic_fields() if f.key == key), None)
    return found if found is not None and found.type == kind else None


def capacity_statistics_keys() -> tuple[str, ...]:
    """The keys :func:`capacity_statistics` gives with the definitions in use (for the
    OpenAPI document): none with Table 1 alone."""
    keys = []
    if capacity_field(*PRODUCTS) is not None:
        keys.append("centres_by_authorised_atmp")
    if capacity_field(*GMP) is not None and capacity_field(*TRIAL_UNIT) is not None:
        keys.append("capacity_by_country")
    return tuple(keys)


def capacity_statistics(entries: LevelAnswers | None = None) -> dict[str, Any]:
    """The Centres of Excellence figures whose fields a definition in use asks (none with
    Table 1 alone): ``centres_by_authorised_atmp`` and ``capacity_by_country``.
    ``entries``: the entries' answers when already read (they must cover the products)."""
    figures: dict[str, Any] = {}
    products = capacity_field(*PRODUCTS)
    if products is not None:
        figures["centres_by_authorised_atmp"] = centres_by_product(products, entries)
    gmp, trial_unit = capacity_field(*GMP), capacity_field(*TRIAL_UNIT)
    if gmp is not None and trial_unit is not None:
        figures["capacity_by_country"] = capacity_by_country(gmp, trial_unit)
    return figures


def centres_by_product(field: FieldDefinition, found: LevelAnswers | None = None) -> dict[str, int]:
    """Institutions with at least one active entry naming each product (an entry-level
    multi-choice), each institution once however many of its entries name it; products
    nobody names are left out. ``found``: the entries' answers when already read."""
    codes = [code for code, _ in choices(field.vocabulary or "")]
    if not codes:
        return {}
    if found is None:
        found = level_answers("entry", [field], {}, count_owners=False)
    counted = {code: found.institutions.get((field.key, code), 0) for code in codes}
    return {code: n for code, n in counted.items() if n}


def capacity_by_country(gmp: FieldDefinition, trial_unit: FieldDefinition) -> dict[str, Any]:
    """Per country code ("unknown" when not known): the institutions with an active entry,
    and of those the GMP sites (manufacturing in their own facility or through a partner)
    and the clinical-trial units (answered "yes"). One grouped statement."""
    is_site = answer_column(gmp).as_string().in_(sorted(GMP_SITES))
    has_unit = answer_column(trial_unit).as_string() == YesNoUnknown.YES.value
    active = exists().where(
        Entry.institution_id == Institution.id, Entry.status == EntryStatus.ACTIVE
    )
    rows = db.session.execute(
        select(
            Institution.country_code,
            func.count(Institution.id),
            func.coalesce(func.sum(case((is_site, 1), else_=0)), 0),
            func.coalesce(func.sum(case((has_unit, 1), else_=0)), 0),
        )
        .where(active)
        .group_by(Institution.country_code)
    ).all()
    found: dict[str, dict[str, int]] = {}
    for country, institutions, sites, units in rows:
        figures = found.setdefault(
            _key(country), {"institutions": 0, "gmp_sites": 0, "trial_units": 0}
        )
        figures["institutions"] += int(institutions)
        figures["gmp_sites"] += int(sites)
        figures["trial_units"] += int(units)
    return dict(sorted(found.items()))


def counted_fields() -> tuple[FieldDefinition, ...]:
    """Public generic fields with figures: vocabulary fields and integers."""
    return tuple(f for f in generic_fields() if f.type in FILTER_TYPES | {"integer"})


def _multi_choice_codes(fields: list[FieldDefinition]) -> dict[str, list[str]]:
    return {
        f.key: [code for code, _ in choices(f.vocabulary or "")]
        for f in fields
        if f.type == "multi_choice"
    }


def _code_counts(field: FieldDefinition, found: LevelAnswers) -> dict[str, int]:
    """Rows per code (for a multi-choice: rows whose answer includes it) and rows with no
    known code under "unknown"; codes nobody chose are left out, as elsewhere."""
    codes = [code for code, _ in choices(field.vocabulary or "")]
    counts: Counter[str] = Counter(
        {code: found.holding.get((field.key, code), 0) for code in codes}
    )
    if field.type == "multi_choice":
        counts[UNKNOWN] += found.owners - found.known.get(field.key, 0)
    else:
        counts[UNKNOWN] += found.owners - sum(counts.values())
    return {code: n for code, n in counts.items() if n > 0}


def _integer(value: Any) -> int | None:
    """An answer's value as an integer (PostgreSQL gives the JSON text), else None."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _distribution(field: FieldDefinition, found: LevelAnswers) -> dict[str, Any]:
    """How many answered, the smallest, median and largest answer, and up to five equal
    ranges from smallest to largest with the rows in each."""
    counts: Counter[int] = Counter()
    for (key, value), n in found.holding.items():
        number = _integer(value) if key == field.key else None
        if number is not None:
            counts[number] += n
    answered = sum(counts.values())
    figures: dict[str, Any] = {
        "kind": "distribution",
        "answers": answered,
        "unanswered": found.owners - answered,
        "min": min(counts) if counts else None,
        "median": None,
        "max": max(counts) if counts else None,
        "buckets": [],
    }
    if not answered:
        return figures
    ordered = sorted(counts.items())

    def at(index: int) -> int:
        seen = 0
        for number, n in ordered:
            seen += n
            if index < seen:
                return number
        raise IndexError(index)

    middle = [at(index) for index in sorted({(answered - 1) // 2, answered // 2})]
    median = sum(middle) / len(middle)
    figures["median"] = int(median) if float(median).is_integer() else median
    low, high = figures["min"], figures["max"]
    width = -(-(high - low + 1) // BUCKETS)
    edges = [(low + i * width, low + (i + 1) * width - 1) for i in range(BUCKETS)]
    edges = [(start, min(end, high)) for start, end in edges if start <= high]
    figures["buckets"] = [
        {
            "from": start,
            "to": end,
            "count": sum(n for number, n in ordered if start <= number <= end),
        }
        for start, end in edges
    ]
    return figures


def answer_statistics(
    levels: dict[str, LevelAnswers] | None = None,
) -> dict[str, dict[str, Any]]:
    """Figures per public generic field of the definitions in use, keyed by field key;
    ``levels`` (from :func:`answers_by_level`) saves reading the answers again."""
    fields = counted_fields()
    levels = levels if levels is not None else answers_by_level(fields)
    figures: dict[str, dict[str, Any]] = {}
    for field in fields:
        found = levels[field.level]
        scope = {
            "level": field.level,
            "counted": "entries" if field.level == "entry" else "institutions",
        }
        if field.type == "integer":
            figures[field.key] = scope | _distribution(field, found)
        else:
            figures[field.key] = scope | {
                "kind": "counts",
                "total": found.owners,
                "counts": _code_counts(field, found),
            }
    return figures


def answers_by_level(fields: tuple[FieldDefinition, ...]) -> dict[str, LevelAnswers]:
    """One pass over each level's answers to ``fields``."""
    found = {}
    for level in ("entry", "institution"):
        at_level = [f for f in fields if f.level == level]
        found[level] = level_answers(level, at_level, _multi_choice_codes(at_level))
    return found
