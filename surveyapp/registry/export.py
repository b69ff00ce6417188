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
object per entry) a chunk of ids at a time, reads each chunk's institutions, ATMP types and
disease areas in one query each, finds the field definitions once per export, and writes
each row as it is read (JSON by orjson). Its records are the API's
(:func:`entry_record`), key for key; :func:`institution_record` is the API's institution,
here so that every layer publishing institutions gives them one shape. XLSX is
written in openpyxl's write-only mode and never inside a request: the command line builds
a snapshot file in the instance folder, which the download link serves with its time.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from flask import current_app
from openpyxl import Workbook
from sqlalchemy import (
    Integer,
    Row,
    Select,
    String,
    Text,
    any_,
    bindparam,
    cast,
    func,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY

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
from surveyapp.tabular import FORMULA_TRIGGERS, neutralise
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
    "retired_reason",
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


# How an export reads the database, and why so: 100,000 entries must leave in seconds.
# Rows are plain tuples unpacked by position (a Row's attribute look-up costs as much as
# building a small dict, and there are dozens per entry); vocabulary columns come as the
# values they store, times as the database holds them and JSON columns as text decoded by
# orjson (SQLAlchemy's types would convert each column on its own, more slowly); an
# institution is read and decoded once per chunk, not again on every row of its entries.


def _stored(column: Any) -> Any:
    """A vocabulary column read as the value it stores (``enum_column`` stores the
    vocabulary's values, which is what records carry), without SQLAlchemy's conversion to
    the enumeration and back."""
    return type_coerce(column, String).label(column.key)


def _json_text(column: Any) -> Any:
    """A JSON column read as its text, for :func:`_decoded`. A cast, not a type_coerce:
    psycopg decodes JSON itself unless the database sends text."""
    return cast(column, Text).label(column.key)


def _decoded(*documents: str | None) -> list[Any]:
    """Several JSON texts of one row decoded (SQL NULL as None), by orjson: its decoder
    takes a fraction of the standard library's time, which 100,000 rows of five documents
    each add up."""
    loads = orjson.loads
    return [loads(d) if d is not None else None for d in documents]


def _decoded_with_printed(printed: str | None, texts: str | None, *others: str | None) -> list[Any]:
    """:func:`_decoded` of the texts Table 1 printed, the current texts and other documents.
    Until a field is changed the printed texts and the current ones are the same JSON text,
    decoded then only once: the same values serve both (neither is changed here)."""
    if printed == texts:
        values = _decoded(texts, *others)
        return [values[0], *values]
    return _decoded(printed, texts, *others)


def _timestamp(column: Any) -> Any:
    """A time column read as the database gives it, for :func:`_iso_utc`: SQLAlchemy's
    conversion of SQLite's text (a regular expression, then the time zone added) took a
    tenth of an export."""
    return type_coerce(column, String).label(column.key)


def _iso_utc(value: str | datetime | None) -> str | None:
    """A time read by :func:`_timestamp` in ISO 8601 in UTC, as records give every time.

    PostgreSQL's driver gives a timezone-aware time. SQLite holds text, the UTC time
    without its zone: as SQLAlchemy writes it (microseconds always there), it is rewritten
    as text, which parsing and formatting again took five times as long to do; any other
    form of it is parsed."""
    if value is None:
        return None
    if value.__class__ is not str:
        return value.astimezone(UTC).isoformat()  # type: ignore[union-attr]
    if len(value) == 26 and value[10] == " " and value[19] == ".":  # type: ignore[index]
        # isoformat() leaves out microseconds that are zero
        whole = value[:19] if value.endswith(".000000") else value  # type: ignore[union-attr]
        return f"{whole[:10]}T{whole[11:]}+00:00"
    return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()  # type: ignore[arg-type]


def _among(column: Any) -> Any:
    """SQL: the id column is one of the ``ids`` parameter's (a chunk's, bound by
    :func:`_ids`), so a statement is built and compiled once per export and sends one
    parameter, whatever ids each chunk has: SQLite reads them from a JSON array
    (``json_each``), PostgreSQL from an array (``= ANY``). Hundreds of parameters cost
    SQLAlchemy a tenth of an export to render, and psycopg as much to parse anew each
    time (it caches short queries only)."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(Integer)))
    listed = func.json_each(bindparam("ids", type_=String)).table_valued("value")
    return column.in_(select(listed.c.value))


def _ids(ids: list[int]) -> dict[str, Any]:
    """The parameter of :func:`_among` for these ids."""
    return {"ids": ids if db.engine.dialect.name == "postgresql" else orjson.dumps(ids).decode()}


def _codes_by_entry(
    connection: Any, link: Any, ids: list[int], order: dict[str, int]
) -> dict[int, list[str]]:
    """The stored values of a chunk's links (ATMP types or disease areas) per entry id, in
    vocabulary order: one query per chunk, where a subquery on each entry's row took
    twice as long on SQLite."""
    stored = link.atmp_type if link is EntryAtmpType else link.disease_area
    query = select(link.entry_id, type_coerce(stored, String)).where(_among(link.entry_id))
    codes: dict[int, list[str]] = {}
    for entry_id, code in connection.execute(query, _ids(ids)).all():
        codes.setdefault(entry_id, []).append(code)
    for values in codes.values():
        if len(values) > 1:
            values.sort(key=order.__getitem__)
    return codes


# Vocabulary order of ATMP types and disease areas, by stored value.
_ATMP_ORDER = {t.value: i for i, t in enumerate(AtmpType)}
_AREA_ORDER = {a.value: i for i, a in enumerate(DiseaseArea)}


# An entry's columns, in the order _row_record unpacks them; staff exports add whether the
# entry needs curation after them.
_ENTRY_COLUMNS = (
    Entry.id,
    Entry.public_id,
    Entry.institution_id,
    Entry.source_row,
    _stored(Entry.status),
    Entry.retired_reason,
    Entry.atmp_other,
    Entry.patients_estimate,
    _stored(Entry.patients_qualifier),
    _stored(Entry.contract_research),
    _stored(Entry.routine_application),
    Entry.filled_fields,
    _timestamp(Entry.confirmed_at),
    _timestamp(Entry.updated_at),
    Entry.contact_public,
    _json_text(Entry.printed),
    _json_text(Entry.texts),
    _json_text(Entry.answers),
    _json_text(Entry.diseases_targeted),
    _json_text(Entry.diseases_pipeline),
    # Table 1 fields read from the entry's own column (not its texts), found by name
    Entry.contact_person,
    Entry.contact_email,
)
_COLUMN_AT = {column.key: index for index, column in enumerate(_ENTRY_COLUMNS)}
_ID, _INSTITUTION_ID = _COLUMN_AT["id"], _COLUMN_AT["institution_id"]
_NEEDS_CURATION = len(_ENTRY_COLUMNS)


@dataclass(frozen=True)
class _Layout:
    """Field look-ups done once per export.

    ``fields``: each Table 1 field's key, how it is read (``entry`` or ``institution``
    shown text, or the entry's ``attribute``, with its place among the columns read) and
    whether it is personal; ``institution_texts``: the keys of those shown from the
    institution. ``answer_keys``: every generic field's key, in order; of those, the ones
    this export shows from the institution's answers and from the entry's.
    """

    fields: tuple[tuple[str, str, bool, int | None], ...]
    institution_texts: tuple[str, ...]
    answer_keys: tuple[str, ...]
    institution_answers: frozenset[str]
    entry_answers: frozenset[str]


def _layout(include_personal: bool) -> _Layout:
    """The look-ups of an export with or without personal data."""
    fields = []
    for f in table1().fields:
        how = ("entry" if f.level == "entry" else "institution") if f.in_table1 else "attribute"
        fields.append((f.key, how, f.personal, _COLUMN_AT[f.key] if how == "attribute" else None))
    generic = generic_fields(include_personal=True)
    shown = [f for f in generic if include_personal or not f.personal]
    return _Layout(
        fields=tuple(fields),
        institution_texts=tuple(key for key, how, _p, _c in fields if how == "institution"),
        answer_keys=tuple(f.key for f in generic),
        institution_answers=frozenset(f.key for f in shown if f.level == "institution"),
        entry_answers=frozenset(f.key for f in shown if f.level != "institution"),
    )


@dataclass(frozen=True)
class _InstitutionShown:
    """What an entry's record takes from its institution, worked out once per chunk for all
    of the chunk's entries of that institution.

    ``texts`` holds, per institution-level Table 1 field, its current text and whether it
    is unchanged since Table 1 printed it (then each entry shows its own printed text, as
    :func:`surveyapp.registry.service.shown_text` does). ``answers`` holds every generic
    field in the export's order: the institution's values (None where hidden) and None for
    the entry's fields, which each entry then fills in."""

    public_id: str
    country_code: str | None
    texts: dict[str, tuple[str, bool]]
    answers: dict[str, Any]


def _institutions(ids: set[int], layout: _Layout) -> dict[int, _InstitutionShown]:
    """The institutions of a chunk's entries by id, in one query."""
    query = select(
        Institution.id,
        Institution.public_id,
        Institution.country_code,
        _json_text(Institution.printed),
        _json_text(Institution.texts),
        _json_text(Institution.answers),
    ).where(_among(Institution.id))
    found = {}
    for institution_id, public_id, country_code, *documents in (
        db.session.connection().execute(query, _ids(list(ids))).all()
    ):
        printed, texts, answers = _decoded_with_printed(*documents)
        answers = answers or {}
        shown = {}
        for key in layout.institution_texts:
            current = texts.get(key) or ""
            shown[key] = (current, printed is not None and current == (printed.get(key) or ""))
        values = dict.fromkeys(layout.answer_keys)
        for key, value in answers.items():
            if key in layout.institution_answers:
                values[key] = value
        found[institution_id] = _InstitutionShown(public_id, country_code, shown, values)
    return found


def _row_record(
    row: Row[Any],
    institution: _InstitutionShown,
    layout: _Layout,
    *,
    atmp_types: list[str],
    disease_areas: list[str],
    include_personal: bool,
    needs_curation: bool | None,
) -> dict[str, Any]:
    """:func:`entry_record` of a plain row, its institution and its links' values, key for
    key."""
    (
        entry_id,
        public_id,
        institution_id,
        source_row,
        status,
        retired_reason,
        atmp_other,
        patients_estimate,
        patients_qualifier,
        contract_research,
        routine_application,
        filled_fields,
        confirmed_at,
        updated_at,
        contact_public,
        *documents,
    ) = row[: _COLUMN_AT["diseases_pipeline"] + 1]
    printed, texts, answers, targeted, pipeline = _decoded_with_printed(*documents)
    show_personal = include_personal or contact_public
    record: dict[str, Any] = {
        "id": entry_id,
        "public_id": public_id,
        "institution_id": institution_id,
        "institution_public_id": institution.public_id,
        "source_row": source_row,
        "status": status,
    }
    for key, how, personal, column in layout.fields:
        if personal and not show_personal:
            record[key] = None
        elif how == "entry":
            record[key] = texts.get(key) or ""
        elif how == "institution":
            current, unchanged = institution.texts[key]
            record[key] = (printed.get(key) or "") if unchanged and printed is not None else current
        else:
            record[key] = row[column]
    record |= {
        "country_code": institution.country_code,
        "atmp_types": atmp_types,
        "atmp_other": atmp_other,
        "patients_estimate": patients_estimate,
        "patients_qualifier": patients_qualifier,
        "diseases_targeted_terms": targeted,
        "diseases_pipeline_terms": pipeline,
        "disease_areas": disease_areas,
        "contract_research_value": contract_research,
        "routine_application_value": routine_application,
        "retired_reason": retired_reason,
        "last_changed": _iso_utc(updated_at),
        "last_confirmed": _iso_utc(confirmed_at),
        "table1_fields_filled": filled_fields,
        "needs_curation": needs_curation,
    }
    record |= institution.answers  # every generic field, in order, the entry's still None
    for key, value in (answers or {}).items():
        if key in layout.entry_answers:
            record[key] = value
    return record


def _chunks(
    query: Select[Any], columns: list[Any], chunk_size: int, count: ReadCount
) -> Iterator[list[Row[Any]]]:
    """The ``columns`` of the entries the query selects, in Table 1 order (row number, then
    entries without one by id), ``chunk_size`` entries at a time.

    The order is read first as a stream of ids alone, so the database sorts pairs of
    integers, not whole rows (SQLite plans a filtered export by the status index, and its
    sorter would hold every row); each chunk of ids then fetches its rows by primary key
    alone (the filters chose the ids).
    """
    ordered = query.with_only_columns(Entry.id).order_by(
        Entry.source_row.asc().nulls_last(), Entry.id
    )
    by_ids = select(*columns).where(_among(Entry.id))
    connection = db.session.connection()  # plain rows: no ORM layer between them and us
    # Per statement: Connection.execution_options() would change the session's connection
    # for the rest of its transaction (every later statement through a server cursor).
    ids = connection.execute(
        ordered, execution_options={"stream_results": True, "max_row_buffer": chunk_size}
    )
    try:
        for chunk in ids.scalars().partitions(chunk_size):
            # .all(): one fetch of the chunk, where iterating fetches row by row
            found = connection.execute(by_ids, _ids(chunk)).all()
            by_id = {row[_ID]: row for row in found}
            del found
            rows = [by_id[entry_id] for entry_id in chunk]
            del by_id
            count.chunk(len(rows))
            yield rows
            del rows  # released before the next chunk is read
    finally:
        ids.close()


def export_records(
    filters: EntryFilters,
    *,
    staff: bool,
    answers: dict[str, str] | None = None,
    chunk_size: int = CHUNK_SIZE,
    count: ReadCount | None = None,
) -> Iterator[dict[str, Any]]:
    """Records of every entry matching the filters (and the directory's filters on answers
    to generic fields), in Table 1 order, read ``chunk_size`` entries at a time with their
    institutions (a query per chunk).

    Staff exports carry personal data and curation state; public ones neither. ``count``
    learns how many entries were read and the most held at once.
    """
    count = count if count is not None else ReadCount()
    columns = list(_ENTRY_COLUMNS)
    if staff:
        columns.append(needs_curation_clause().label("needs_curation"))
    layout = _layout(include_personal=staff)
    connection = db.session.connection()
    for chunk in _chunks(filtered(filters, answers or {}), columns, chunk_size, count):
        institutions = _institutions({row[_INSTITUTION_ID] for row in chunk}, layout)
        ids = [row[_ID] for row in chunk]
        types = _codes_by_entry(connection, EntryAtmpType, ids, _ATMP_ORDER)
        areas = _codes_by_entry(connection, EntryDiseaseArea, ids, _AREA_ORDER)
        for row in chunk:
            entry_id = row[_ID]
            yield _row_record(
                row,
                institutions[row[_INSTITUTION_ID]],
                layout,
                atmp_types=types.get(entry_id, []),
                disease_areas=areas.get(entry_id, []),
                include_personal=staff,
                needs_curation=bool(row[_NEEDS_CURATION]) if staff else None,
            )


# The first characters of FORMULA_TRIGGERS (one character each), for one look-up per cell.
_FORMULA_STARTS = frozenset(FORMULA_TRIGGERS)


def rows(records: Iterable[dict[str, Any]], columns: list[str]) -> Iterator[list[str]]:
    """Flattened, neutralised cells for tabular exports, header first."""
    yield columns
    keys = [{"entry_id": "id"}.get(c, c) for c in columns]
    for record in records:
        # Most cells are empty, text that no formula trigger begins, or a number that no
        # minus sign begins: those are written without a call each; the rest (lists,
        # booleans, formula-like text) go through _cell.
        yield [
            ""
            if value is None
            else value
            if (kind := value.__class__) is str and (not value or value[0] not in _FORMULA_STARTS)
            else str(value)
            if kind is int and value >= 0
            else _cell(value)
            for value in map(record.get, keys)
        ]


def _cell(value: Any) -> str:
    """A record's value as a cell's text, neutralised: lists joined with "; ", booleans yes
    or no."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, list):
        return neutralise("; ".join(map(str, value)))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return neutralise(str(value))


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


def record_json(record: dict[str, Any]) -> str:
    """A record as compact JSON text, as every JSON export and release writes it: by
    orjson, as the standard library's encoder took a third of an export's time."""
    return orjson.dumps(record).decode()


def to_json(records: Iterable[dict[str, Any]], *, records_per_piece: int = 200) -> Iterator[str]:
    """A JSON array in pieces of ``records_per_piece`` records, each written as it is read."""
    piece = ["["]
    for index, record in enumerate(records):
        piece.append(("," if index else "") + record_json(record))
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
