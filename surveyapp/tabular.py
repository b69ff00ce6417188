"""Reading CSV (UTF-8) and XLSX files of rows under a header, for every import, and
keeping the cells every export writes from running as spreadsheet formulas.

File-level problems (unreadable file, wrong encoding, broken quoting, a wrong header, too
many rows) raise :class:`ImportFileError`. Row-level problems (a row with more cells than
the header, an over-long cell) are returned with the rows, so each import decides whether
they stop it (the registry: all or nothing) or skip the row (contacts). Rows are numbered
as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook


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


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        problem = ImportProblem(None, None, f"not a readable XLSX file: {exc}")
        raise ImportFileError(path.name, [problem]) from exc
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
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
    """Read a .csv or .xlsx file whose first row names the columns."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        problem = ImportProblem(None, None, "only .csv and .xlsx files can be imported")
        raise ImportFileError(path.name, [problem])
    lines = _csv_rows(path) if suffix == ".csv" else _xlsx_rows(path)
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
            table.problems.append(
                ImportProblem(
                    number, None, f"{len(cells)} cells, but the header has {len(header)} columns"
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


# Cells a spreadsheet would run as a formula: every export writes them neutralised.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise(cell: str) -> str:
    """Prefix a cell that a spreadsheet would evaluate as a formula with an apostrophe."""
    return f"'{cell}" if cell.startswith(FORMULA_TRIGGERS) else cell


def unneutralise(cell: str) -> str:
    """Undo :func:`neutralise` for a cell read back from an export."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_TRIGGERS else cell
