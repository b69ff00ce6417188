"""Statistics tables for the fields of later questionnaires, one per counted field.

The figures come from :func:`surveyapp.registry.statistics.answer_statistics` (``answers``
in ``GET /api/v1/stats``); like :mod:`surveyapp.dashboard.tables` this module only names
rows and columns in the reader's language, so a new choice or integer field gets its
table, chart and CSV on the statistics page with no code of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import get_locale

from surveyapp.dashboard.tables import Table
from surveyapp.definitions import VOCABULARIES, FieldDefinition
from surveyapp.definitions.vocabularies import choices
from surveyapp.i18n import gettext as _
from surveyapp.i18n import share_of
from surveyapp.registry.statistics import UNKNOWN, counted_fields, registry_statistics

PREFIX = "answers-"


@dataclass
class AnswerTable(Table):
    """A statistics table with figures shown before it (a distribution's summary)."""

    summary: list[tuple[Any, Any]] = field(default_factory=list)


def _labels(definition: FieldDefinition) -> dict[str, str]:
    """Code -> label in the reader's language (the catalogue translates code vocabularies,
    a data vocabulary's file its own)."""
    pairs = choices(definition.vocabulary or "", str(get_locale() or "en"))
    translate = definition.vocabulary in VOCABULARIES
    return {code: _(label) if translate else label for code, label in pairs}


def _counts_table(definition: FieldDefinition, figures: dict[str, Any]) -> AnswerTable:
    labels = _labels(definition)
    order = list(labels)

    def label(code: str) -> str:
        return _("Not given") if code == UNKNOWN else labels.get(code, code)

    counts = figures["counts"]
    ordered = sorted(
        counts.items(), key=lambda item: (-item[1], order.index(item[0]) if item[0] in order else 0)
    )
    counted = _("Entries") if figures["counted"] == "entries" else _("Institutions")
    share = _("Share of entries") if figures["counted"] == "entries" else _("Share of institutions")
    return AnswerTable(
        PREFIX + definition.key,
        _(definition.label),
        [_("Answer"), counted, share],
        [[label(code), n, share_of(n, figures["total"])] for code, n in ordered],
        [(label(code), n) for code, n in ordered],
    )


def _distribution_table(definition: FieldDefinition, figures: dict[str, Any]) -> AnswerTable:
    unit = f" {_(definition.unit)}" if definition.unit else ""
    ranges = [
        (f"{b['from']}{unit}" if b["from"] == b["to"] else f"{b['from']}\u2013{b['to']}{unit}", b)
        for b in figures["buckets"]
    ]
    counted = _("Entries") if figures["counted"] == "entries" else _("Institutions")
    return AnswerTable(
        PREFIX + definition.key,
        _(definition.label),
        [_("Range"), counted, _("Share of answers")],
        [[text, b["count"], share_of(b["count"], figures["answers"])] for text, b in ranges],
        [(text, b["count"]) for text, b in ranges],
        summary=[
            (_("Answers"), figures["answers"]),
            (_("Not answered"), figures["unanswered"]),
            (_("Smallest"), "—" if figures["min"] is None else figures["min"]),
            (_("Median"), "—" if figures["median"] is None else figures["median"]),
            (_("Largest"), "—" if figures["max"] is None else figures["max"]),
        ],
    )


def answer_tables(figures: dict[str, Any] | None = None) -> list[AnswerTable]:
    """A table per counted field of the definitions in use (none with Table 1 alone), from
    the live registry or given figures of :func:`registry_statistics`."""
    figures = figures or registry_statistics()
    answers = figures.get("answers", {})
    tables = []
    for definition in counted_fields():
        found = answers.get(definition.key)
        if found is None:
            continue
        if found["kind"] == "distribution":
            tables.append(_distribution_table(definition, found))
        else:
            tables.append(_counts_table(definition, found))
    return tables


def answer_table_named(name: str) -> AnswerTable | None:
    """The table of a counted field by its CSV name (``answers-<key>``), or None."""
    if not name.startswith(PREFIX):
        return None
    return next((t for t in answer_tables() if t.name == name), None)
