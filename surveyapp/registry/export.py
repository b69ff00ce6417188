"""The registry as records: one shape for the API and the CSV, XLSX and JSON exports.

Columns are named as in the seed CSV (so an export re-imports cleanly) and hold the shown
text; controlled values sit in columns of their own. Fields of later questionnaires (the
generic ones of :mod:`surveyapp.registry.generic`) follow, one column per field key with
the stored value (codes, numbers, ISO dates; lists joined with "; " in CSV and XLSX, kept
as lists in JSON). Personal data (contact person and
email) is left out unless the caller may see it or the entry's contact consented to being
published. Cells a spreadsheet would run as a formula are neutralised with a leading
apostrophe, which :func:`unneutralise` removes again on import.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from openpyxl import Workbook
from sqlalchemy.orm import selectinload

from surveyapp.definitions import FieldDefinition, table1
from surveyapp.extensions import db
from surveyapp.registry.generic import answer_values, filtered, generic_fields
from surveyapp.registry.models import Entry
from surveyapp.registry.service import (
    EntryFilters,
    entries_needing_curation,
    needs_curation_clause,
)
from surveyapp.registry.service import shown_text as _shown_text
from surveyapp.tabular import neutralise

VALUE_COLUMNS = (
    "entry_id",
    "institution_id",
    "status",
    "country_code",
    "atmp_types",
    "atmp_other",
    "patients_estimate",
    "patients_qualifier",
    "disease_areas",
    "contract_research_value",
    "routine_application_value",
    "needs_curation",
    "last_changed",
    "last_confirmed",
)


def personal_visible(entry: Entry, include_personal: bool) -> bool:
    """Whether an entry's contact details may appear in this output."""
    return include_personal or entry.contact_public


def entry_record(
    entry: Entry,
    *,
    include_personal: bool,
    needs_curation: bool | None,
    answer_fields: tuple[FieldDefinition, ...] | None = None,
) -> dict[str, Any]:
    """An entry as the API returns it: shown texts under the seed CSV's names, plus values,
    then the values of generic fields (``answer_fields``: found once for many records).

    ``needs_curation`` is None where the reader may not see curation state (the public).
    """
    show_personal = personal_visible(entry, include_personal)
    record: dict[str, Any] = {
        "id": entry.id,
        "institution_id": entry.institution_id,
        "source_row": entry.source_row,
        "status": entry.status.value,
    }
    for definition in table1().fields:
        if definition.personal and not show_personal:
            record[definition.key] = None
        elif definition.in_table1:
            record[definition.key] = _shown_text(entry, definition.key)
        else:
            record[definition.key] = getattr(entry, definition.key)
    qualifier = entry.patients_qualifier
    record |= {
        "country_code": entry.institution.country_code,
        "atmp_types": [t.value for t in entry.atmp_types],
        "atmp_other": entry.atmp_other,
        "patients_estimate": entry.patients_estimate,
        "patients_qualifier": qualifier.value if qualifier else None,
        "diseases_targeted_terms": list(entry.diseases_targeted),
        "diseases_pipeline_terms": list(entry.diseases_pipeline),
        "disease_areas": [a.value for a in entry.disease_areas],
        "contract_research_value": entry.contract_research.value
        if entry.contract_research
        else None,
        "routine_application_value": entry.routine_application.value
        if entry.routine_application
        else None,
        "retired_reason": entry.retired_reason,
        "last_changed": entry.updated_at.isoformat(),
        "last_confirmed": entry.confirmed_at.isoformat() if entry.confirmed_at else None,
        "table1_fields_filled": entry.filled_fields,
        "needs_curation": needs_curation,
    }
    return record | answer_values(entry, include_personal=include_personal, fields=answer_fields)


def export_columns(include_personal: bool) -> list[str]:
    """Header of CSV and XLSX exports: the seed CSV's columns, then the controlled values."""
    definition = table1()
    extra = [f.key for f in definition.fields if not f.in_table1 and include_personal]
    answers = [f.key for f in generic_fields(include_personal=include_personal)]
    return [*definition.table1_columns, *extra, "source_row", *VALUE_COLUMNS, *answers]


def _flat(record: dict[str, Any], column: str) -> str:
    key = {"entry_id": "id"}.get(column, column)
    value = record.get(key)
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(map(str, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def page_records(entries: list[Entry], *, staff: bool) -> list[dict[str, Any]]:
    """Records for a page of entries; staff see personal data and curation state."""
    flagged = entries_needing_curation([e.id for e in entries]) if staff else set()
    fields = generic_fields(include_personal=True)
    return [
        entry_record(
            e,
            include_personal=staff,
            needs_curation=(e.id in flagged) if staff else None,
            answer_fields=fields,
        )
        for e in entries
    ]


def export_records(
    filters: EntryFilters, *, staff: bool, answers: dict[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """Records of every entry matching the filters (and the directory's filters on answers
    to generic fields), in Table 1 order, streamed in batches.

    Staff exports carry personal data and curation state; public ones neither.
    """
    flagged = needs_curation_clause().label("needs_curation")
    query = (
        filtered(filters, answers or {})
        .add_columns(flagged)
        .order_by(Entry.source_row.asc().nulls_last(), Entry.id)
        .options(
            selectinload(Entry.institution),
            selectinload(Entry.atmp_type_links),
            selectinload(Entry.disease_area_links),
        )
        .execution_options(yield_per=500)
    )
    fields = generic_fields(include_personal=True)
    for entry, needs in db.session.execute(query):
        yield entry_record(
            entry,
            include_personal=staff,
            needs_curation=bool(needs) if staff else None,
            answer_fields=fields,
        )


def rows(records: Iterable[dict[str, Any]], columns: list[str]) -> Iterator[list[str]]:
    """Flattened, neutralised cells for tabular exports, header first."""
    yield columns
    for record in records:
        yield [neutralise(_flat(record, c)) for c in columns]


def to_csv(records: Iterable[dict[str, Any]], include_personal: bool) -> Iterator[str]:
    """CSV text in chunks (UTF-8, RFC 4180 quoting), one chunk per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows(records, export_columns(include_personal)):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def to_xlsx(records: Iterable[dict[str, Any]], include_personal: bool) -> bytes:
    """An XLSX workbook; cells are neutralised, so openpyxl writes none as a formula."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("registry")
    for row in rows(records, export_columns(include_personal)):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_json(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array, streamed one record at a time."""
    yield "["
    for index, record in enumerate(records):
        yield ("," if index else "") + json.dumps(record, ensure_ascii=False)
    yield "]\n"
