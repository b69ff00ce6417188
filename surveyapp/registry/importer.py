"""Importing registry rows: Table 1 itself, and CSV or XLSX files with the same columns.

A file is read and checked whole before anything is written: a malformed file (wrong
header, bad encoding, unknown answer or country, an over-long row or cell) raises
:class:`ImportFileError` listing each problem with its row and column, and nothing is
imported. Values the mapping cannot read (``"100s"`` patients, a cut-off website) are kept
as given and flagged for curation; a website that is no http(s) address or host name
(``javascript:...``) refuses the file. Imports are idempotent: a second run changes nothing.

Rows are numbered as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from surveyapp.definitions import FieldDefinition, Level, answers, table1
from surveyapp.extensions import db
from surveyapp.history.service import Provenance, audit
from surveyapp.i18n import counted
from surveyapp.paths import PACKAGE_DATA_DIR
from surveyapp.registry import cities, values
from surveyapp.registry.duplicates import DuplicateIndex
from surveyapp.registry.export import VALUE_COLUMNS
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.service import (
    add_entry,
    add_institution,
    change_fields,
    flag,
    generic_fields,
    shown_text,
    updates_from_text,
)
from surveyapp.routing import id_from
from surveyapp.tabular import ImportFileError, ImportProblem, SourceRow, read_table, unneutralise
from surveyapp.vocabulary import ChangeSource, FlagKind

TABLE1_CSV = PACKAGE_DATA_DIR / "restore_d14_table1.csv"
STRICT_FIELDS = ("country", "contract_research", "routine_application")


@dataclass
class ImportReport:
    """What an import did, for the person who ran it."""

    source: str
    row_label: str = "row"
    rows: int = 0
    institutions_created: int = 0
    entries_created: int = 0
    entries_updated: int = 0
    institutions_updated: int = 0
    unchanged: int = 0
    cities_set: int = 0
    flags: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line a person can read."""
        return (
            f"{self.source}: {counted(self.rows, 'row', 'rows')} read; "
            f"{counted(self.institutions_created, 'institution', 'institutions')} and "
            f"{counted(self.entries_created, 'entry', 'entries')} created; "
            f"{counted(self.entries_updated, 'entry', 'entries')} and "
            f"{counted(self.institutions_updated, 'institution', 'institutions')} updated; "
            f"{self.unchanged} unchanged; {len(self.flags)} flagged for curation"
        )


def _allowed_columns() -> tuple[set[str], set[str]]:
    definition = table1()
    required = set(definition.table1_columns)
    optional = {f.key for f in definition.fields} | {"source_row"} | set(VALUE_COLUMNS)
    return required, optional | set(generic_fields())


def _level_fields(level: Level, generic: dict[str, FieldDefinition]) -> tuple[FieldDefinition, ...]:
    """Table 1's fields of a level, then the generic ones (an export's last columns)."""
    return table1().level_fields(level) + tuple(f for f in generic.values() if f.level == level)


def read_source(path: Path, max_rows: int, max_cell: int) -> list[SourceRow]:
    """Read and check a registry file; raise ImportFileError listing every problem."""
    required, optional = _allowed_columns()
    limits = {f.key: f.max_length for f in table1().fields if f.max_length}
    table = read_table(
        path,
        required=required,
        optional=optional,
        max_rows=max_rows,
        max_cell=max_cell,
        limits=limits,
    )
    if table.problems:
        raise ImportFileError(path.name, table.problems)
    return [
        SourceRow(r.number, {k: unneutralise(v) for k, v in r.cells.items()}) for r in table.rows
    ]


class _Importer:
    """Shared steps of both imports: create institutions and entries, flag, find duplicates."""

    def __init__(self, report: ImportReport, provenance: Provenance, name_threshold: float):
        self.report = report
        self.provenance = provenance
        self.duplicates = DuplicateIndex.from_registry(name_threshold)
        self.definition = table1()
        generic = generic_fields()  # found once: each lookup reads the definition folders
        self.fields = {level: _level_fields(level, generic) for level in ("institution", "entry")}

    def note_flags(
        self,
        row: SourceRow,
        problems: dict[str, str],
        *,
        institution: Institution | None = None,
        entry: Entry | None = None,
        kind: FlagKind = FlagKind.UNMAPPED_VALUE,
    ) -> None:
        for key, reason in problems.items():
            flag(kind, reason, institution=institution, entry=entry, field=key)
            self.report.flags.append(f"{self.report.row_label} {row.number}, {key}: {reason}")

    def create_institution(self, row: SourceRow, printed: bool) -> Institution:
        fields = self.fields["institution"]
        texts = {f.key: row.cells.get(f.key, "") for f in fields}
        updates, problems = updates_from_text(fields, texts)
        institution = add_institution(updates, self.provenance, texts if printed else None)
        self.note_flags(row, problems, institution=institution)
        self.report.institutions_created += 1
        return institution

    def create_entry(
        self,
        row: SourceRow,
        institution: Institution,
        *,
        source_row: int | None,
        printed: dict[str, str] | None,
    ) -> Entry:
        fields = self.fields["entry"]
        texts = {f.key: row.cells[f.key] for f in fields if f.key in row.cells}
        updates, problems = updates_from_text(fields, texts)
        entry = add_entry(
            institution, updates, self.provenance, source_row=source_row, printed=printed
        )
        self.note_flags(row, problems, entry=entry)
        self.report.entries_created += 1
        self.flag_duplicates(row, entry)
        self.duplicates.add(entry)
        return entry

    def flag_duplicates(self, row: SourceRow, entry: Entry) -> None:
        for candidate in self.duplicates.candidates(entry):
            other = db.session.get(Entry, candidate.entry_id)
            where = (
                f"Table 1 row {other.source_row}"
                if other and other.source_row
                else f"entry {candidate.entry_id}"
            )
            reason = f"may be the same facility as {where}: {'; '.join(candidate.reasons)}"
            flag(
                FlagKind.POSSIBLE_DUPLICATE,
                reason,
                entry=entry,
                related_entry=other,
                score=candidate.score,
            )
            self.report.flags.append(f"{self.report.row_label} {row.number}: {reason}")


def import_table1(
    path: Path = TABLE1_CSV, *, actor: str, name_threshold: float = 88
) -> ImportReport:
    """Load RESTORE D1.4 Table 1: every row, every character, grouped into institutions.

    Rows with identical institution name and country become one institution; where such
    rows print different institution-level values, the institution keeps the first row's
    and the difference is flagged. Rows already imported (by source_row) are left alone.
    Institutions whose printed name gives their city get it from the curated mapping
    (:mod:`.cities`), to be confirmed by them in the next campaign.
    """
    report = ImportReport(source=path.name, row_label="Table 1 row")
    rows = read_source(path, max_rows=10_000, max_cell=10_000)
    problems = [
        ImportProblem(r.number, "source_row", "must be a whole number")
        for r in rows
        if not r.cells.get("source_row", "").strip().isdigit()
    ]
    if problems:
        raise ImportFileError(path.name, problems)
    rows = [SourceRow(int(r.cells["source_row"]), r.cells) for r in rows]
    report.rows = len(rows)
    done = set(db.session.scalars(select(Entry.source_row).where(Entry.source_row.is_not(None))))
    pending = [r for r in rows if int(r.cells["source_row"]) not in done]
    report.unchanged = len(rows) - len(pending)
    if not pending:
        return report
    provenance = Provenance(ChangeSource.TABLE1_IMPORT, actor, source_ref=path.name)
    importer = _Importer(report, provenance, name_threshold)
    institution_fields = [f.key for f in table1().level_fields("institution")]
    defects = values.source_defects()
    groups: dict[tuple[str, str], Institution] = {
        (i.printed["institution"], i.printed["country"]): i
        for i in db.session.scalars(select(Institution).where(Institution.printed.is_not(None)))
    }
    for row in pending:
        source_row = int(row.cells["source_row"])
        printed = {c: row.cells[c] for c in table1().table1_columns}
        key = (row.cells["institution"], row.cells["country"])
        institution = groups.get(key)
        if institution is None:
            institution = groups[key] = importer.create_institution(row, printed=True)
            first_row = source_row
        else:
            first_row = min(e.source_row or source_row for e in institution.entries)
        entry = importer.create_entry(row, institution, source_row=source_row, printed=printed)
        for column in institution_fields:
            kept = institution.printed.get(column, "")
            if row.cells[column] != kept:
                reason = (
                    f"row {source_row} prints {column} {row.cells[column]!r}; the "
                    f"institution keeps {kept!r} from row {first_row}"
                )
                importer.note_flags(
                    row,
                    {column: reason},
                    institution=institution,
                    entry=entry,
                    kind=FlagKind.INSTITUTION_CONFLICT,
                )
        for column, reason in defects.get(source_row, []):
            target = {"institution": institution} if column in institution_fields else {}
            importer.note_flags(
                row, {column: reason}, entry=entry, kind=FlagKind.SOURCE_DEFECT, **target
            )
    report.cities_set = cities.apply_mapping(actor).set
    audit(
        "registry.import_table1",
        actor,
        source=path.name,
        rows=report.rows,
        entries_created=report.entries_created,
        flags=len(report.flags),
    )
    return report


def _find_institution(name: str, country_code: str | None) -> Institution | None:
    query = select(Institution).where(Institution.name == name)
    query = query.where(
        Institution.country_code.is_(None)
        if country_code is None
        else Institution.country_code == country_code
    )
    return db.session.scalars(query.order_by(Institution.id)).first()


def _strict_problems(
    row: SourceRow, current: Entry | None, generic: dict[str, FieldDefinition]
) -> list[ImportProblem]:
    """Country and answers must read to a vocabulary value and a website must pass the
    registry's rule (unless the text is unchanged); a generic field's cell must read as
    its type (no printed text is kept for those)."""
    problems = [
        ImportProblem(row.number, f.key, reading.problem)
        for f in generic.values()
        if f.key in row.cells and (reading := answers.read(f, row.cells[f.key])).problem
    ]
    for key in STRICT_FIELDS:
        text = row.cells.get(key, "")
        if not text.strip() or (current is not None and text == shown_text(current, key)):
            continue
        reading = values.read(table1().field(key), text)
        if reading.problem:
            problems.append(ImportProblem(row.number, key, reading.problem))
    website = row.cells.get("website", "").strip()
    unchanged = current is not None and website == shown_text(current, "website").strip()
    if website and not unchanged and (problem := values.website_problem(website)):
        problems.append(ImportProblem(row.number, "website", problem))
    return problems


def import_file(
    path: Path,
    *,
    actor: str,
    max_rows: int = 200_000,
    max_cell: int = 5_000,
    name_threshold: float = 88,
) -> ImportReport:
    """Import a CSV or XLSX file with the seed CSV's columns (an export re-imports as is):
    :func:`read_source`, then :func:`import_rows`."""
    rows = read_source(path, max_rows=max_rows, max_cell=max_cell)
    return import_rows(rows, source=path.name, actor=actor, name_threshold=name_threshold)


def check_rows(rows: list[SourceRow], *, source: str) -> dict[int, int | None]:
    """Every problem of the rows against the registry, raised together as ImportFileError,
    or else the entry each row updates (its id; None for a row adding an entry), by row
    number. It only reads: a caller may run it without SQLite's write lock
    (:func:`surveyapp.database.reading_only`) and write afterwards."""
    problems: list[ImportProblem] = []
    targets: dict[int, int | None] = {}
    generic = generic_fields()
    for row in rows:
        raw_id = row.cells.get("entry_id", "").strip()
        entry = None
        if raw_id:
            entry_id = id_from(raw_id)
            entry = db.session.get(Entry, entry_id) if entry_id else None
            if entry is None:
                problems.append(
                    ImportProblem(row.number, "entry_id", f"no entry has id {raw_id!r}")
                )
                continue
        elif not row.cells.get("institution", "").strip():
            problems.append(ImportProblem(row.number, "institution", "a new row needs a name"))
        targets[row.number] = entry.id if entry is not None else None
        problems += _strict_problems(row, entry, generic)
    if problems:
        raise ImportFileError(source, problems)
    return targets


def import_rows(
    rows: list[SourceRow],
    *,
    source: str,
    actor: str,
    name_threshold: float = 88,
    checked: dict[int, int | None] | None = None,
) -> ImportReport:
    """Import the rows :func:`read_source` read from a file named ``source``, all of them
    or none (ImportFileError lists every problem). Reading a large file and checking its
    rows need no write: a caller that holds a write transaction ends it before reading,
    may pass what :func:`check_rows` found (``checked``) without the lock, and so holds
    SQLite's one write lock only while rows are written.

    A row with an ``entry_id`` updates that entry, and its institution for the institution
    columns, as new versions; an empty cell leaves the field as it is. A row without one is
    added as a new entry (to the institution with the same name and country, or a new one)
    and checked for duplicates; a row identical to an existing entry is skipped.
    """
    report = ImportReport(source=source)
    report.rows = len(rows)
    targets = checked if checked is not None else check_rows(rows, source=source)

    provenance = Provenance(ChangeSource.FILE_IMPORT, actor, source_ref=source)
    importer = _Importer(report, provenance, name_threshold)
    definition = table1()
    for row in rows:
        entry_id = targets[row.number]
        entry = db.session.get(Entry, entry_id) if entry_id is not None else None
        if entry is not None:
            _update_entry(importer, row, entry)
            continue
        fields = definition.level_fields("institution")
        updates, _ = updates_from_text(fields, {f.key: row.cells.get(f.key, "") for f in fields})
        institution = _find_institution(row.cells["institution"].strip(), updates["country"].value)
        if institution is not None and _same_as_existing(row, institution):
            report.unchanged += 1
            continue
        if institution is None:
            institution = importer.create_institution(row, printed=False)
        importer.create_entry(row, institution, source_row=None, printed=None)
    audit(
        "registry.import_file",
        actor,
        source=source,
        rows=report.rows,
        entries_created=report.entries_created,
        entries_updated=report.entries_updated,
        flags=len(report.flags),
    )
    return report


def _same_as_existing(row: SourceRow, institution: Institution) -> bool:
    keys = [f.key for f in table1().level_fields("entry") if f.key in row.cells]
    return any(
        all(row.cells[k] == shown_text(entry, k) for k in keys) for entry in institution.entries
    )


def _update_entry(importer: _Importer, row: SourceRow, entry: Entry) -> None:
    """Apply a row's non-empty cells that differ from what the entry shows."""
    changed = False
    for level, target in (("institution", entry.institution), ("entry", entry)):
        fields = importer.fields[level]
        texts = {
            f.key: row.cells[f.key]
            for f in fields
            if row.cells.get(f.key, "").strip()
            and (answers.is_generic(f) or row.cells[f.key] != shown_text(entry, f.key))
        }
        updates, problems = updates_from_text(fields, texts)
        if change_fields(target, updates, importer.provenance) is not None:
            changed = True
            if level == "institution":
                importer.report.institutions_updated += 1
            else:
                importer.report.entries_updated += 1
        flagged = {"institution": target} if level == "institution" else {"entry": target}
        importer.note_flags(row, problems, **flagged)
    if not changed:
        importer.report.unchanged += 1
