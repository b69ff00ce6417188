"""The registry as records: one shape for the API and the CSV, XLSX and JSON exports.

Columns are named as in the seed CSV (so an export re-imports cleanly) and hold the shown
text; controlled values sit in columns of their own. Fields of later questionnaires (the
generic ones of :mod:`surveyapp.registry.generic`) follow, one column per field key with
the stored value (codes, numbers, ISO dates; lists joined with "; " in CSV and XLSX, kept
as lists in JSON). Personal data (contact person and
email) is left out unless the caller may see it or the entry's contact consented to being
published. Cells a spreadsheet would run as a formula are neutralised with a leading
apostrophe, which :func:`unneutralise` removes again on import.

Exports stream: 100,000 entries must leave in seconds and in constant memory, through the
command line and over HTTP. So an export streams the ids in order, reads plain rows (no ORM
object per entry) a chunk of ids at a time, looks up each chunk's ATMP types and
disease areas in one query, finds the field definitions once per export, and writes each
row as it is read. Its records are the API's (:func:`entry_record`), key for key. XLSX is
written in openpyxl's write-only mode and never inside a request: the command line builds
a snapshot file in the instance folder, which the download link serves with its time.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from openpyxl import Workbook
from sqlalchemy import Row, Select, select

from surveyapp.definitions import FieldDefinition, table1
from surveyapp.extensions import db
from surveyapp.registry.generic import answer_values, filtered, generic_fields
from surveyapp.registry.merging import survivor
from surveyapp.registry.models import Entry, EntryAtmpType, EntryDiseaseArea, Institution
from surveyapp.registry.service import (
    EntryFilters,
    entries_needing_curation,
    needs_curation_clause,
)
from surveyapp.registry.service import shown_text as _shown_text
from surveyapp.tabular import neutralise
from surveyapp.vocabulary import AtmpType, DiseaseArea

# Entries read from the database at a time; an export holds no more rows than this.
CHUNK_SIZE = 500
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The XLSX snapshots `flask registry build-xlsx` writes into the instance folder.
SNAPSHOTS = {False: "registry.xlsx", True: "registry-with-contacts.xlsx"}

VALUE_COLUMNS = (
    "entry_id",
    "public_id",
    "institution_id",
    "institution_public_id",
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
        "public_id": entry.public_id,
        "institution_id": entry.institution_id,
        "institution_public_id": entry.institution.public_id,
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


def institution_text_fields() -> tuple[FieldDefinition, ...]:
    """Table 1's public institution-level columns (name, country, website): an institution
    record shows their current text."""
    return tuple(f for f in table1().fields if f.level == "institution" and not f.personal)


def institution_answer_fields() -> tuple[FieldDefinition, ...]:
    """Public institution-level fields of the later questionnaires in use."""
    return tuple(f for f in generic_fields() if f.level == "institution")


def institution_record(institution: Institution) -> dict[str, Any]:
    """An institution as the API returns it (and releases publish it): public fields only
    (the texts shown for Table 1's institution columns, the country code, the answers to
    public institution-level fields of later questionnaires) and the ids of its active
    entries. It lives here, beside the entry record, so every layer that publishes
    institutions gives them the one shape."""
    replaced_by = survivor(institution).id if institution.replaced_by_id is not None else None
    record: dict[str, Any] = {
        "id": institution.id,
        "public_id": institution.public_id,
        "replaced_by": replaced_by,
    }
    for field in institution_text_fields():
        record[field.key] = institution.texts.get(field.key)
    record |= {
        "country_code": institution.country_code,
        "entries": [entry.id for entry in institution.entries if entry.is_active],
        "last_changed": institution.updated_at.isoformat(),
    }
    for field in institution_answer_fields():
        record[field.key] = (institution.answers or {}).get(field.key)
    return record


@dataclass
class ReadCount:
    """What an export read: entries in all, and the most it held at once (a chunk), so a
    test can show that memory stays flat however many entries there are."""

    read: int = 0
    most_held: int = 0

    def chunk(self, size: int) -> None:
        """Count a chunk just read."""
        self.read += size
        self.most_held = max(self.most_held, size)


_ENTRY_COLUMNS = (
    Entry.id,
    Entry.public_id,
    Entry.institution_id,
    Entry.source_row,
    Entry.status,
    Entry.retired_reason,
    Entry.contact_person,
    Entry.contact_email,
    Entry.contact_public,
    Entry.atmp_other,
    Entry.patients_estimate,
    Entry.patients_qualifier,
    Entry.diseases_targeted,
    Entry.diseases_pipeline,
    Entry.contract_research,
    Entry.routine_application,
    Entry.printed,
    Entry.texts,
    Entry.answers,
    Entry.filled_fields,
    Entry.confirmed_at,
    Entry.updated_at,
    Institution.public_id.label("institution_public_id"),
    Institution.country_code.label("institution_country_code"),
    Institution.printed.label("institution_printed"),
    Institution.texts.label("institution_texts"),
    Institution.answers.label("institution_answers"),
)


@dataclass(frozen=True)
class _Layout:
    """Field look-ups done once per export: how each Table 1 field is read (``entry`` or
    ``institution`` shown text, or the entry's ``attribute``), whether it is personal, and
    each generic field's key, level and whether this export hides it."""

    fields: tuple[tuple[str, str, bool], ...]
    answers: tuple[tuple[str, bool, bool], ...]


def _layout(include_personal: bool) -> _Layout:
    fields = tuple(
        (
            f.key,
            ("entry" if f.level == "entry" else "institution") if f.in_table1 else "attribute",
            f.personal,
        )
        for f in table1().fields
    )
    answers = tuple(
        (f.key, f.level == "institution", f.personal and not include_personal)
        for f in generic_fields(include_personal=True)
    )
    return _Layout(fields, answers)


def _shown(row: Row[Any], key: str, how: str) -> Any:
    """:func:`surveyapp.registry.service.shown_text` on a plain row."""
    if how == "entry":
        return row.texts.get(key) or ""
    if how == "attribute":
        return getattr(row, key)
    current = row.institution_texts.get(key) or ""
    printed = row.institution_printed
    unchanged = printed is not None and current == (printed.get(key) or "")
    if row.printed is not None and unchanged:
        return row.printed.get(key) or ""
    return current


def _row_record(
    row: Row[Any],
    layout: _Layout,
    *,
    include_personal: bool,
    needs_curation: bool | None,
    atmp_types: list[str],
    disease_areas: list[str],
) -> dict[str, Any]:
    """:func:`entry_record` of a plain row, key for key."""
    show_personal = include_personal or row.contact_public
    record: dict[str, Any] = {
        "id": row.id,
        "public_id": row.public_id,
        "institution_id": row.institution_id,
        "institution_public_id": row.institution_public_id,
        "source_row": row.source_row,
        "status": row.status.value,
    }
    for key, how, personal in layout.fields:
        if personal and not show_personal:
            record[key] = None
        elif how == "entry":
            record[key] = row.texts.get(key) or ""
        else:
            record[key] = _shown(row, key, how)
    qualifier = row.patients_qualifier
    record |= {
        "country_code": row.institution_country_code,
        "atmp_types": atmp_types,
        "atmp_other": row.atmp_other,
        "patients_estimate": row.patients_estimate,
        "patients_qualifier": qualifier.value if qualifier else None,
        "diseases_targeted_terms": list(row.diseases_targeted),
        "diseases_pipeline_terms": list(row.diseases_pipeline),
        "disease_areas": disease_areas,
        "contract_research_value": row.contract_research.value if row.contract_research else None,
        "routine_application_value": row.routine_application.value
        if row.routine_application
        else None,
        "retired_reason": row.retired_reason,
        "last_changed": row.updated_at.isoformat(),
        "last_confirmed": row.confirmed_at.isoformat() if row.confirmed_at else None,
        "table1_fields_filled": row.filled_fields,
        "needs_curation": needs_curation,
    }
    entry_answers = row.answers or {}
    institution_answers = row.institution_answers or {}
    for key, institution_level, hidden in layout.answers:
        owner = institution_answers if institution_level else entry_answers
        record[key] = None if hidden else owner.get(key)
    return record


def _chunks(query: Select[Any], chunk_size: int, count: ReadCount) -> Iterator[list[Row[Any]]]:
    """The query's rows in Table 1 order (row number, then entries without one by id),
    ``chunk_size`` at a time.

    The order is read first as a stream of ids alone, so the database sorts pairs of
    integers, not whole rows (SQLite plans a filtered export by the status index, and its
    sorter would hold every row); each chunk of ids then fetches its rows by primary key.
    """
    ordered = query.with_only_columns(Entry.id).order_by(
        Entry.source_row.asc().nulls_last(), Entry.id
    )
    connection = db.session.connection()  # plain rows: no ORM layer between them and us
    # Per statement: Connection.execution_options() would change the session's connection
    # for the rest of its transaction (every later statement through a server cursor).
    ids = connection.execute(
        ordered, execution_options={"stream_results": True, "max_row_buffer": chunk_size}
    )
    try:
        for chunk in ids.scalars().partitions(chunk_size):
            by_id = {row.id: row for row in connection.execute(query.where(Entry.id.in_(chunk)))}
            rows = [by_id[entry_id] for entry_id in chunk]
            del by_id
            count.chunk(len(rows))
            yield rows
            del rows  # released before the next chunk is read
    finally:
        ids.close()


def _links(ids: list[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """A chunk's ATMP types and disease areas by entry id, each in vocabulary order."""
    types: dict[int, set[AtmpType]] = defaultdict(set)
    areas: dict[int, set[DiseaseArea]] = defaultdict(set)
    for entry_id, atmp_type in db.session.execute(
        select(EntryAtmpType.entry_id, EntryAtmpType.atmp_type).where(
            EntryAtmpType.entry_id.in_(ids)
        )
    ):
        types[entry_id].add(atmp_type)
    for entry_id, area in db.session.execute(
        select(EntryDiseaseArea.entry_id, EntryDiseaseArea.disease_area).where(
            EntryDiseaseArea.entry_id.in_(ids)
        )
    ):
        areas[entry_id].add(area)
    return (
        {i: [t.value for t in AtmpType if t in chosen] for i, chosen in types.items()},
        {i: [a.value for a in DiseaseArea if a in chosen] for i, chosen in areas.items()},
    )


def export_records(
    filters: EntryFilters,
    *,
    staff: bool,
    answers: dict[str, str] | None = None,
    chunk_size: int = CHUNK_SIZE,
    count: ReadCount | None = None,
) -> Iterator[dict[str, Any]]:
    """Records of every entry matching the filters (and the directory's filters on answers
    to generic fields), in Table 1 order, read ``chunk_size`` entries at a time.

    Staff exports carry personal data and curation state; public ones neither. ``count``
    learns how many entries were read and the most held at once.
    """
    count = count if count is not None else ReadCount()
    columns = list(_ENTRY_COLUMNS)
    if staff:
        columns.append(needs_curation_clause().label("needs_curation"))
    query = filtered(filters, answers or {}).with_only_columns(*columns)
    layout = _layout(include_personal=staff)
    for chunk in _chunks(query, chunk_size, count):
        types, areas = _links([row.id for row in chunk])
        for row in chunk:
            yield _row_record(
                row,
                layout,
                include_personal=staff,
                needs_curation=bool(row.needs_curation) if staff else None,
                atmp_types=types.get(row.id, []),
                disease_areas=areas.get(row.id, []),
            )


def rows(records: Iterable[dict[str, Any]], columns: list[str]) -> Iterator[list[str]]:
    """Flattened, neutralised cells for tabular exports, header first."""
    yield columns
    keys = [{"entry_id": "id"}.get(c, c) for c in columns]
    for record in records:
        yield [neutralise(_cell(record.get(key))) for key in keys]


def _cell(value: Any) -> str:
    """A record's value as a cell's text: lists joined with "; ", booleans yes or no."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(map(str, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def to_csv(
    records: Iterable[dict[str, Any]], include_personal: bool, *, rows_per_piece: int = 200
) -> Iterator[str]:
    """CSV text (UTF-8, RFC 4180 quoting) in pieces: the header, then ``rows_per_piece``
    rows at a time, each written as it is read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for index, row in enumerate(rows(records, export_columns(include_personal))):
        writer.writerow(row)
        if index % rows_per_piece == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def to_json(records: Iterable[dict[str, Any]], *, records_per_piece: int = 200) -> Iterator[str]:
    """A JSON array in pieces of ``records_per_piece`` records, each written as it is read."""
    piece = ["["]
    for index, record in enumerate(records):
        piece.append(("," if index else "") + json.dumps(record, ensure_ascii=False))
        if len(piece) >= records_per_piece:
            yield "".join(piece)
            piece = []
    piece.append("]\n")
    yield "".join(piece)


def write_xlsx(records: Iterable[dict[str, Any]], include_personal: bool, path: Path) -> None:
    """Write an XLSX workbook to ``path`` in openpyxl's write-only mode, which keeps rows on
    disk rather than in memory; cells are neutralised, so openpyxl writes none as a
    formula."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("registry")
    for row in rows(records, export_columns(include_personal)):
        sheet.append(row)
    workbook.save(path)


def to_xlsx(records: Iterable[dict[str, Any]], include_personal: bool) -> bytes:
    """An XLSX workbook as bytes, for small exports and tests; large ones go to a file
    through :func:`write_xlsx`."""
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "registry.xlsx"
        write_xlsx(records, include_personal, path)
        return path.read_bytes()


def snapshot_path(include_personal: bool) -> Path:
    """Where the XLSX snapshot (with contacts, or the public one) lives: the instance
    folder's ``exports/``."""
    return Path(current_app.instance_path) / "exports" / SNAPSHOTS[include_personal]


def snapshot_built(include_personal: bool) -> datetime | None:
    """When the XLSX snapshot was built (UTC), or None when none has been."""
    try:
        modified = snapshot_path(include_personal).stat().st_mtime
    except FileNotFoundError:
        return None
    return datetime.fromtimestamp(int(modified), UTC)


def build_snapshot(records: Iterable[dict[str, Any]], include_personal: bool) -> Path:
    """Write the XLSX snapshot through a temporary file in the same folder, renamed over
    the old one only once complete, so a download never sees half a workbook. The one
    with contacts is readable by its owner and group only."""
    target = snapshot_path(include_personal)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=".xlsx")
    os.close(handle)
    partial = Path(name)
    try:
        write_xlsx(records, include_personal, partial)
        partial.chmod(0o640 if include_personal else 0o644)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target
