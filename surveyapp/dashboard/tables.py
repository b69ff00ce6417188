"""The registry's statistics as labelled tables: one source for the pages, charts and CSV.

The figures come from :func:`surveyapp.registry.statistics.registry_statistics` (the same
that ``GET /api/v1/stats`` returns); this module only names rows and columns in the
reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from surveyapp.i18n import country_label, share_of
from surveyapp.i18n import gettext as _
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.registry.statistics import UNKNOWN, registry_statistics
from surveyapp.vocabulary import Answer, AtmpType, DiseaseArea, country_name


@dataclass
class Table:
    """One statistics table: a name for its CSV, a title, column headings and rows."""

    name: str
    title: Any
    columns: list[Any]
    rows: list[list[Any]]
    chart: list[tuple[str, int]]


def _country(code: str) -> str:
    if code == UNKNOWN or not code:
        return _("Country not recognised")
    return str(country_label(code, country_name(code)))


def _label(vocabulary: Any, value: str) -> str:
    if value == UNKNOWN:
        return _("Not given")
    return _(vocabulary(value).label)


def _counted(
    name: str, title: Any, heading: Any, counts: dict[str, int], label: Any, total: int
) -> Table:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], label(item[0])))
    rows = [[label(key), count, share_of(count, total)] for key, count in ordered]
    return Table(
        name,
        title,
        [heading, _("Entries"), _("Share of entries")],
        rows,
        [(label(key), count) for key, count in ordered],
    )


def statistics_tables(figures: dict[str, Any] | None = None) -> list[Table]:
    """Every table of the deliverable's analysis, from the live registry (or given figures
    of :func:`registry_statistics`)."""
    figures = figures or registry_statistics()
    total = figures["entries"]
    tables = [
        _counted(
            "countries",
            _l("Entries by country"),
            _("Country"),
            figures["entries_by_country"],
            _country,
            total,
        ),
        _counted(
            "atmp-types",
            _l("Entries by type of ATMP"),
            _("Type of ATMP"),
            figures["entries_by_atmp_type"],
            lambda v: _label(AtmpType, v),
            total,
        ),
        _counted(
            "disease-areas",
            _l("Entries by disease area of the diseases targeted"),
            _("Disease area"),
            figures["entries_by_disease_area"],
            lambda v: _label(DiseaseArea, v),
            total,
        ),
        _counted(
            "contract-research",
            _l("Contract research for industry"),
            _("Answer"),
            figures["entries_by_contract_research"],
            lambda v: _label(Answer, v),
            total,
        ),
        _counted(
            "routine-application",
            _l("Routine application of approved ATMPs"),
            _("Answer"),
            figures["entries_by_routine_application"],
            lambda v: _label(Answer, v),
            total,
        ),
    ]
    detail = figures["patients_treated_by_country_detail"]
    ordered = sorted(detail.items(), key=lambda item: (-item[1]["total"], _country(item[0])))
    tables.append(
        Table(
            "patients",
            _l("Patients treated by country"),
            [
                _("Country"),
                _("Patients (sum)"),
                _("of which exactly"),
                _("of which approximately"),
                _("of which at least"),
                _("Entries giving a number"),
                _("Entries giving none"),
            ],
            [
                [
                    _country(code),
                    f["total"],
                    f["by_qualifier"].get("exact", 0),
                    f["by_qualifier"].get("approximate", 0),
                    f["by_qualifier"].get("at_least", 0),
                    f["entries_with_number"],
                    f["entries_without_number"],
                ]
                for code, f in ordered
            ],
            [(_country(code), f["total"]) for code, f in ordered if f["total"]],
        )
    )
    return tables


def table_named(name: str) -> Table | None:
    """The statistics table with this CSV name, or None."""
    return next((t for t in statistics_tables() if t.name == name), None)
