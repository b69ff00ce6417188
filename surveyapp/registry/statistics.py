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

from sqlalchemy import Select, case, exists, func, or_, select

from surveyapp.definitions import FieldDefinition
from surveyapp.definitions.vocabularies import choices
from surveyapp.extensions import db
from surveyapp.registry.cities import GMP_SITES
from surveyapp.registry.generic import FILTER_TYPES, answer_column, answer_is, generic_fields
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
    figures |= capacity_statistics()
    if counted_fields():
        figures["answers"] = answer_statistics()
    return figures


# The table1-v2 fields the capacity figures read, and the type each must have.
PRODUCTS = ("authorised_atmps", "multi_choice")
GMP = ("gmp_manufacturing", "choice")
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


def capacity_statistics() -> dict[str, Any]:
    """The Centres of Excellence figures whose fields a definition in use asks (none with
    Table 1 alone): ``centres_by_authorised_atmp`` and ``capacity_by_country``."""
    figures: dict[str, Any] = {}
    products = capacity_field(*PRODUCTS)
    if products is not None:
        figures["centres_by_authorised_atmp"] = centres_by_product(products)
    gmp, trial_unit = capacity_field(*GMP), capacity_field(*TRIAL_UNIT)
    if gmp is not None and trial_unit is not None:
        figures["capacity_by_country"] = capacity_by_country(gmp, trial_unit)
    return figures


def centres_by_product(field: FieldDefinition) -> dict[str, int]:
    """Institutions with at least one active entry naming each product (an entry-level
    multi-choice), each institution once however many of its entries name it; products
    nobody names are left out. One statement: a distinct count per product."""
    codes = [code for code, _ in choices(field.vocabulary or "")]
    if not codes:
        return {}
    counts = [
        func.count(func.distinct(case((answer_is(field, code), Entry.institution_id))))
        for code in codes
    ]
    row = db.session.execute(
        select(*counts).select_from(Entry).where(Entry.status == EntryStatus.ACTIVE)
    ).one()
    return {code: int(n) for code, n in zip(codes, row, strict=True) if n}


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


def _counted_rows(field: FieldDefinition, *columns: Any) -> Select[Any]:
    """A SELECT of aggregates over what a field's figures count: active entries, or
    institutions with an active entry."""
    if field.level == "entry":
        return select(*columns).select_from(Entry).where(Entry.status == EntryStatus.ACTIVE)
    active = exists().where(
        Entry.institution_id == Institution.id, Entry.status == EntryStatus.ACTIVE
    )
    return select(*columns).select_from(Institution).where(active)


def _code_counts(field: FieldDefinition) -> dict[str, int]:
    """Rows per code (for a multi-choice: rows whose answer includes it) and rows with no
    known code under "unknown"; codes nobody chose are left out, as elsewhere."""
    codes = [code for code, _ in choices(field.vocabulary or "")]
    counts: Counter[str] = Counter()
    if field.type == "multi_choice":
        matches = [answer_is(field, code) for code in codes]
        sums = [func.coalesce(func.sum(case((m, 1), else_=0)), 0) for m in matches]
        none = func.coalesce(func.sum(case((or_(*matches), 0), else_=1)), 0)
        row = db.session.execute(_counted_rows(field, *sums, none)).one()
        counts = Counter(dict(zip([*codes, UNKNOWN], map(int, row), strict=True)))
    else:
        # Grouped over a subquery's column: PostgreSQL would not match a GROUP BY
        # expression carrying its own bound key to the selected one.
        answers = _counted_rows(field, answer_column(field).as_string().label("code")).subquery()
        grouped = db.session.execute(
            select(answers.c.code, func.count()).group_by(answers.c.code)
        ).all()
        for code, n in grouped:
            counts[code if code in codes else UNKNOWN] += int(n)
    return {code: n for code, n in counts.items() if n > 0}


def _distribution(field: FieldDefinition) -> dict[str, Any]:
    """How many answered, the smallest, median and largest answer, and up to five equal
    ranges from smallest to largest with the rows in each."""
    value = answer_column(field).as_integer()
    total, answered, low, high = db.session.execute(
        _counted_rows(field, func.count(), func.count(value), func.min(value), func.max(value))
    ).one()
    figures: dict[str, Any] = {
        "kind": "distribution",
        "answers": int(answered),
        "unanswered": int(total) - int(answered),
        "min": low,
        "median": None,
        "max": high,
        "buckets": [],
    }
    if not answered:
        return figures
    ordered = _counted_rows(field, value).where(value.is_not(None)).order_by(value).limit(1)
    middle = [
        db.session.scalar(ordered.offset(index))
        for index in sorted({(answered - 1) // 2, answered // 2})
    ]
    median = sum(middle) / len(middle)
    figures["median"] = int(median) if float(median).is_integer() else median
    width = -(-(high - low + 1) // BUCKETS)
    edges = [(low + i * width, low + (i + 1) * width - 1) for i in range(BUCKETS)]
    edges = [(start, min(end, high)) for start, end in edges if start <= high]
    sums = [func.sum(case((value.between(start, end), 1), else_=0)) for start, end in edges]
    row = db.session.execute(_counted_rows(field, *sums)).one()
    figures["buckets"] = [
        {"from": start, "to": end, "count": int(n or 0)}
        for (start, end), n in zip(edges, row, strict=True)
    ]
    return figures


def answer_statistics() -> dict[str, dict[str, Any]]:
    """Figures per public generic field of the definitions in use, keyed by field key."""
    figures: dict[str, dict[str, Any]] = {}
    for field in counted_fields():
        scope = {
            "level": field.level,
            "counted": "entries" if field.level == "entry" else "institutions",
        }
        if field.type == "integer":
            figures[field.key] = scope | _distribution(field)
        else:
            total = db.session.scalar(_counted_rows(field, func.count()))
            figures[field.key] = scope | {
                "kind": "counts",
                "total": int(total or 0),
                "counts": _code_counts(field),
            }
    return figures
