"""Registry-wide figures (RESTORE D1.4's analysis), aggregated in SQL, never in Python loops."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from surveyapp.extensions import db
from surveyapp.registry.models import Entry, EntryAtmpType, EntryDiseaseArea, Institution
from surveyapp.vocabulary import EntryStatus, PatientsQualifier

UNKNOWN = "unknown"


def _counts(rows: Any) -> dict[str, int]:
    return {(key.value if hasattr(key, "value") else key) or UNKNOWN: int(n) for key, n in rows}


def registry_statistics() -> dict[str, Any]:
    """Counts of active entries by country, ATMP type and answers, and patients by country.

    Entries without a value are counted under "unknown"; patients are summed over entries
    that give a number, whatever its qualifier.
    """
    active = Entry.status == EntryStatus.ACTIVE
    by_country = db.session.execute(
        select(Institution.country_code, func.count(Entry.id))
        .join(Entry.institution)
        .where(active)
        .group_by(Institution.country_code)
    )
    by_type = db.session.execute(
        select(EntryAtmpType.atmp_type, func.count())
        .join(Entry, Entry.id == EntryAtmpType.entry_id)
        .where(active)
        .group_by(EntryAtmpType.atmp_type)
    )
    answers = {
        column.key: _counts(
            db.session.execute(select(column, func.count(Entry.id)).where(active).group_by(column))
        )
        for column in (Entry.contract_research, Entry.routine_application)
    }
    patients = db.session.execute(
        select(Institution.country_code, func.sum(Entry.patients_estimate))
        .join(Entry.institution)
        .where(active, Entry.patients_estimate.is_not(None))
        .group_by(Institution.country_code)
    )
    by_area = db.session.execute(
        select(EntryDiseaseArea.disease_area, func.count())
        .join(Entry, Entry.id == EntryDiseaseArea.entry_id)
        .where(active)
        .group_by(EntryDiseaseArea.disease_area)
    )
    total = db.session.scalar(select(func.count(Entry.id)).where(active)) or 0
    return {
        "entries": total,
        "entries_by_country": _counts(by_country),
        "entries_by_atmp_type": _counts(by_type),
        "entries_by_disease_area": _counts(by_area),
        "entries_by_contract_research": answers["contract_research"],
        "entries_by_routine_application": answers["routine_application"],
        "patients_treated_by_country": _counts(patients),
        "patients_treated_by_country_detail": patients_by_country(),
    }


def patients_by_country() -> dict[str, dict[str, Any]]:
    """Patients treated per country with how far the numbers can be trusted.

    For each country: the sum over entries giving a number, that sum split by qualifier
    (exactly, approximately, at least), and how many entries give no number.
    """
    country = func.coalesce(Institution.country_code, UNKNOWN)
    rows = db.session.execute(
        select(
            country,
            Entry.patients_qualifier,
            func.count(Entry.id),
            func.count(Entry.patients_estimate),
            func.sum(Entry.patients_estimate),
        )
        .join(Entry.institution)
        .where(Entry.status == EntryStatus.ACTIVE)
        .group_by(country, Entry.patients_qualifier)
    )
    result: dict[str, dict[str, Any]] = {}
    for code, qualifier, entries, numbered, patients in rows:
        figures = result.setdefault(
            code,
            {
                "total": 0,
                "entries_with_number": 0,
                "entries_without_number": 0,
                "by_qualifier": {q.value: 0 for q in PatientsQualifier if q.value != "unknown"},
            },
        )
        figures["entries_without_number"] += int(entries) - int(numbered)
        if not numbered:
            continue
        key = qualifier.value if qualifier is not None else PatientsQualifier.EXACT.value
        figures["total"] += int(patients)
        figures["entries_with_number"] += int(numbered)
        figures["by_qualifier"][key] = figures["by_qualifier"].get(key, 0) + int(patients)
    return dict(sorted(result.items()))
