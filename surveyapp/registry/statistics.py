"""Registry-wide figures (RESTORE D1.4's analysis), aggregated in SQL, never in Python loops."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from surveyapp.extensions import db
from surveyapp.registry.models import Entry, EntryAtmpType, Institution
from surveyapp.vocabulary import EntryStatus

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
    total = db.session.scalar(select(func.count(Entry.id)).where(active)) or 0
    return {
        "entries": total,
        "entries_by_country": _counts(by_country),
        "entries_by_atmp_type": _counts(by_type),
        "entries_by_contract_research": answers["contract_research"],
        "entries_by_routine_application": answers["routine_application"],
        "patients_treated_by_country": _counts(patients),
    }
