"""Registry-wide figures (RESTORE D1.4's analysis), aggregated in SQL, never in Python loops.

Three grouped scans answer everything: one over entries (by country, both answers and the
patients' qualifier, from the entry's own derived country column, so without a join), and
one each over the ATMP-type and disease-area link rows. Link rows of retired entries (few)
are counted separately and subtracted, so the big scans need no join either. Combining the
small grouped results happens in Python.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from surveyapp.extensions import db
from surveyapp.registry.models import Entry, EntryAtmpType, EntryDiseaseArea
from surveyapp.vocabulary import EntryStatus, PatientsQualifier

UNKNOWN = "unknown"
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
    return {
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
