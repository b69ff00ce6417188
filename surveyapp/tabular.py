"""Reading CSV (UTF-8) and XLSX files of rows under a header, for every import, and
keeping the cells every export writes from running as spreadsheet formulas.

File-level problems (unreadable file, wrong encoding, broken quoting, a wrong header, too
many rows, a workbook too large) raise :class:`ImportFileError`. Row-level problems (a row
with more cells than the header, an over-long cell) are returned with the rows, so each
import decides whether they stop it (the registry: all or nothing) or skip the row
(contacts). Rows are numbered as a spreadsheet shows them: the header is row 1.

An XLSX file is a zip archive a few kilobytes of which can unpack to gigabytes, and its
sheet declares its own size, which openpyxl trusts and pads every row to. So the archive's
declared and actual unpacked sizes are checked before openpyxl opens it, the declared size
is ignored, and a sheet is read no further right than the widest header an import accepts
and no further down than its row limit: a crafted workbook is refused in moments instead of
keeping a worker or a command busy for hours.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app, has_app_context
from openpyxl import load_workbook

# Defaults of the settings IMPORT_MAX_UNCOMPRESSED_BYTES and IMPORT_MAX_COMPRESSION_RATIO,
# for a file read outside the application (config.py sets both).
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
# Below this many unpacked bytes a high compression ratio is harmless (a small, repetitive
# sheet), so the ratio is only held against larger archives.
RATIO_APPLIES_ABOVE = 1024 * 1024
# A workbook holds a few dozen parts (sheets, styles, images); an archive of thousands of
# tiny files is not a spreadsheet, and opening each would take a while.
MAX_ARCHIVE_MEMBERS = 1_000
_READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ImportProblem:
    """Why a file or a row cannot be imported, pointing at the row and column."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        parts = [
            f"row {self.row}" if self.row else "",
            f"column {self.column}" if self.column else "",
        ]
        where = ", ".join(part for part in parts if part)
        return f"{where}: {self.message}" if where else self.message


class ImportFileError(Exception):
    """The file cannot be imported; nothing was imported."""

    def __init__(self, source: str, problems: list[ImportProblem]) -> None:
        self.source = source
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{source} was not imported:\n{shown}{more}")


@dataclass(frozen=True)
class SourceRow:
    """One data row of a file: its spreadsheet row number and its cells by column."""

    number: int
    cells: dict[str, str]


@dataclass
class Table:
    """The rows of a file that could be read, and the problems of the others."""

    rows: list[SourceRow] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)


def _check_header(header: list[str], required: set[str], allowed: set[str]) -> list[ImportProblem]:
    problems = []
    missing = sorted(required - set(header))
    if missing:
        problems.append(ImportProblem(1, None, f"missing columns: {', '.join(missing)}"))
    for column in header:
        if column not in allowed:
            problems.append(ImportProblem(1, column or "(empty)", "unknown column"))
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        problems.append(ImportProblem(1, None, f"repeated columns: {', '.join(duplicated)}"))
    return problems


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = (
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded; save the "
            "file as CSV UTF-8"
        )
        raise ImportFileError(source, [ImportProblem(line, None, message)]) from exc


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    text = _decode(path.read_bytes(), path.name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = 0
    try:
        for cells in reader:
            number += 1
            yield number, cells
    except csv.Error as exc:
        raise ImportFileError(path.name, [ImportProblem(number + 1, None, str(exc))]) from exc


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _setting(name: str, default: int) -> int:
    """A limit from the application's settings, or its default outside an application."""
    return int(current_app.config.get(name, default)) if has_app_context() else default


def _refuse(source: str, message: str) -> ImportFileError:
    return ImportFileError(source, [ImportProblem(None, None, message)])


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def _check_archive(path: Path) -> None:
    """Refuse an XLSX archive that unpacks larger than the import limit, or far larger
    than it is packed, before openpyxl reads any of it.

    The sizes an archive declares are checked first (cheap), then each member is unpacked
    in bounded chunks and counted, since a crafted archive can declare less than it holds.
    """
    limit = _setting("IMPORT_MAX_UNCOMPRESSED_BYTES", MAX_UNCOMPRESSED_BYTES)
    max_ratio = _setting("IMPORT_MAX_COMPRESSION_RATIO", MAX_COMPRESSION_RATIO)
    too_large = (
        f"the workbook unpacks to more than {_megabytes(limit)}, the most an import "
        "reads; split it into smaller files or save it as CSV"
    )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARCHIVE_MEMBERS:
                raise _refuse(
                    path.name,
                    f"the workbook holds {len(members)} parts, more than the "
                    f"{MAX_ARCHIVE_MEMBERS} a spreadsheet has; save it again or as CSV",
                )
            if sum(member.file_size for member in members) > limit:
                raise _refuse(path.name, too_large)
            unpacked = 0
            for member in members:
                with archive.open(member) as stream:
                    while chunk := stream.read(_READ_CHUNK):
                        unpacked += len(chunk)
                        if unpacked > limit:
                            raise _refuse(path.name, too_large)
            packed = sum(member.compress_size for member in members)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression.
        raise _refuse(path.name, f"not a readable XLSX file: {exc}") from exc
    if unpacked > RATIO_APPLIES_ABOVE and unpacked > max_ratio * max(packed, 1):
        raise _refuse(
            path.name,
            f"the workbook unpacks to {unpacked // max(packed, 1)} times its packed size, "
            f"more than the {max_ratio} times a spreadsheet does; it is refused as a "
            "possible zip bomb: save it again from a spreadsheet program or as CSV",
        )


def _xlsx_rows(path: Path, *, columns: int, max_rows: int) -> Iterator[tuple[int, list[str]]]:
    """The first sheet's rows, each cut to ``columns`` cells, ending with the error of
    :func:`read_table` for too many rows as soon as the sheet goes past row ``max_rows`` + 1.

    A sheet declaring a range wider or longer than that is refused; the declaration is
    then dropped, since openpyxl would pad every row to it (``A1:XFD200000`` makes 3
    billion empty cells) and a sheet may declare less than it holds.
    """
    _check_archive(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise _refuse(path.name, f"not a readable XLSX file: {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        if (sheet.max_column or 0) > columns or (sheet.max_row or 0) > max_rows + 1:
            raise _refuse(
                path.name,
                f"the sheet spans {sheet.calculate_dimension()}, more than an import reads "
                f"({columns - 1} columns, {max_rows} rows below the header): delete the "
                "cells outside the table or save it as CSV",
            )
        sheet.reset_dimensions()
        rows = sheet.iter_rows(min_row=1, max_col=columns, values_only=True)
        for number, row in enumerate(rows, start=1):
            if number > max_rows + 1:
                problem = ImportProblem(number, None, f"more than {max_rows} rows")
                raise ImportFileError(path.name, [problem])
            cells = [_cell_text(v) for v in row]
            while cells and cells[-1] == "":
                cells.pop()
            yield number, cells
    finally:
        workbook.close()


def read_table(
    path: Path,
    *,
    required: set[str],
    optional: set[str],
    max_rows: int,
    max_cell: int,
    limits: dict[str, int] | None = None,
) -> Table:
    """Read a .csv or .xlsx file whose first row names the columns.

    An XLSX sheet is read no wider than one column past the columns an import accepts
    (enough to tell that a row has more cells than its header), and no longer than
    ``max_rows`` rows below the header; its archive must unpack within the import limit.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        problem = ImportProblem(None, None, "only .csv and .xlsx files can be imported")
        raise ImportFileError(path.name, [problem])
    widest = len(required | optional) + 1
    if suffix == ".csv":
        lines = _csv_rows(path)
    else:
        lines = _xlsx_rows(path, columns=widest, max_rows=max_rows)
    limits = limits or {}
    header: list[str] | None = None
    table = Table()
    for number, cells in lines:
        if header is None:
            header = [c.strip() for c in cells]
            problems = _check_header(header, required, required | optional)
            if problems:
                raise ImportFileError(path.name, problems)
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(table.rows) >= max_rows:
            raise ImportFileError(
                path.name, [ImportProblem(number, None, f"more than {max_rows} rows")]
            )
        if len(cells) > len(header):
            # An XLSX row cut at the widest header may hold more cells than it shows.
            counted = "more" if suffix == ".xlsx" and len(cells) == widest else len(cells)
            table.problems.append(
                ImportProblem(
                    number, None, f"{counted} cells, but the header has {len(header)} columns"
                )
            )
            continue
        row = {column: cells[i] if i < len(cells) else "" for i, column in enumerate(header)}
        too_long = [
            ImportProblem(number, column, f"{len(text)} characters, at most {limit} allowed")
            for column, text in row.items()
            if len(text) > (limit := min(limits.get(column, max_cell), max_cell))
        ]
        if too_long:
            table.problems += too_long
            continue
        table.rows.append(SourceRow(number, row))
    if header is None:
        raise ImportFileError(path.name, [ImportProblem(None, None, "the file is empty")])
    return table


def upload_path(folder: Path, filename: str | None, default: str) -> Path:
    """Where an uploaded file is saved in ``folder`` to be read: under its own name (which
    import reports quote), its last part only, so that "..", "../../x.csv" or an absolute
    path cannot point outside the folder; ``default`` when no name is left."""
    name = Path((filename or "").replace("\\", "/")).name
    if name in ("", ".", ".."):
        name = default
    return folder / f"{Path(name).stem[:80] or Path(default).stem}{Path(name).suffix.lower()}"


# Cells a spreadsheet would run as a formula: every export writes them neutralised.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise(cell: str) -> str:
    """Prefix a cell that a spreadsheet would evaluate as a formula with an apostrophe."""
    return f"'{cell}" if cell.startswith(FORMULA_TRIGGERS) else cell


def unneutralise(cell: str) -> str:
    """Undo :func:`neutralise` for a cell read back from an export."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_TRIGGERS else cell
