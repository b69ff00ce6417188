"""Crafted XLSX workbooks ("zip bombs") are refused in moments, before openpyxl reads them.

An outside test found that a 1.5 KB workbook declaring ``A1:XFD200000`` kept a worker busy
until gunicorn killed it, and that a 65 KB upload holding one 64 MiB shared string added
116 MB to the worker. The workbooks are written here as raw XML in a zip archive, as an
attacker would, so no binary file is committed; :func:`workbook` is shared with the
import tests of the registry and of contacts.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from surveyapp.tabular import ImportFileError, read_table

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def cell(reference: str, text: str) -> str:
    """An inline-string cell, as the sheet XML writes it."""
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'


def row(number: int, *cells: str) -> str:
    return f'<row r="{number}">{"".join(cells)}</row>'


def header(*columns: str) -> str:
    """Row 1 naming ``columns`` from column A on."""
    return row(1, *(cell(f"{chr(ord('A') + i)}1", name) for i, name in enumerate(columns)))


def workbook(
    path: Path,
    rows: list[str],
    *,
    dimension: str | None = None,
    shared_strings: list[str] = (),
) -> Path:
    """Write an XLSX archive whose first sheet holds ``rows`` (sheet XML) and declares
    ``dimension``; cells may point at ``shared_strings`` by index (``t="s"``)."""
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{declared}<sheetData>{''.join(rows)}</sheetData></worksheet>"
    )
    strings = "".join(f"<si><t>{text}</t></si>" for text in shared_strings)
    shared = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{len(shared_strings)}" uniqueCount="{len(shared_strings)}">{strings}</sst>'
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", PACKAGE_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
        zf.writestr("xl/sharedStrings.xml", shared)
    return path


def dimension_bomb(path: Path, *columns: str) -> Path:
    """The outside test's first workbook: a header, then one cell at XFD200000, under a
    declared range of ``A1:XFD200000`` that openpyxl would pad every row to."""
    return workbook(
        path,
        [header(*columns), row(200_000, cell("XFD200000", "x"))],
        dimension="A1:XFD200000",
    )


def shared_string_bomb(path: Path, *columns: str) -> Path:
    """The outside test's second workbook: one 64 MiB shared string, packed to ~65 KB."""
    return workbook(
        path,
        [header(*columns), row(2, '<c r="A2" t="s"><v>0</v></c>')],
        shared_strings=["a" * (64 * 1024 * 1024)],
    )


def read(path: Path, max_rows: int = 200_000):
    return read_table(path, required={"email"}, optional={"name"}, max_rows=max_rows, max_cell=500)


def refusal(path: Path, max_rows: int = 200_000) -> str:
    with pytest.raises(ImportFileError) as refused:
        read(path, max_rows)
    return str(refused.value)


def test_a_plain_raw_workbook_is_read(tmp_path, ctx):
    path = workbook(
        tmp_path / "plain.xlsx",
        [header("email", "name"), row(2, cell("A2", "a@example.org"), cell("B2", "Ann"))],
        dimension="A1:B2",
    )
    table = read(path)
    assert [r.cells for r in table.rows] == [{"email": "a@example.org", "name": "Ann"}]


def test_a_declared_range_far_wider_than_the_header_is_refused(tmp_path, ctx):
    message = refusal(dimension_bomb(tmp_path / "wide.xlsx", "email"))
    assert "the sheet spans A1:XFD200000, more than an import reads (2 columns" in message


def test_a_declaration_smaller_than_the_sheet_is_not_trusted(tmp_path, ctx):
    """Against a declared range, a row is read no wider than one column past the widest
    header (cells further right name no column any import takes) and the sheet no longer
    than the row limit, so neither a far cell nor a far row pads the sheet."""
    far_right = workbook(
        tmp_path / "right.xlsx",
        [
            header("email"),
            row(2, cell("A2", "a@example.org"), cell("XFD2", "far")),
            row(3, cell("A3", "b@example.org"), cell("C3", "beside")),
        ],
        dimension="A1:A3",
    )
    table = read(far_right)
    assert [r.cells for r in table.rows] == [{"email": "a@example.org"}]
    assert [str(p) for p in table.problems] == ["row 3: more cells, but the header has 1 columns"]
    far_down = workbook(
        tmp_path / "down.xlsx",
        [header("email"), row(1_048_576, cell("XFD1048576", "x"))],
        dimension="A1:A1",
    )
    assert "row 1002: more than 1000 rows" in refusal(far_down, max_rows=1000)


def test_a_workbook_unpacking_beyond_the_limit_is_refused(tmp_path, ctx):
    path = shared_string_bomb(tmp_path / "strings.xlsx", "email")
    assert path.stat().st_size < 200 * 1024
    message = refusal(path)
    assert "the workbook unpacks to more than 50 MB, the most an import reads" in message


def test_the_unpacked_limit_is_a_setting(app, tmp_path, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_UNCOMPRESSED_BYTES", 10_000)
    path = workbook(
        tmp_path / "notes.xlsx",
        [header("email", "name"), row(2, cell("A2", "a@example.org"), cell("B2", "n" * 20_000))],
    )
    assert "unpacks to more than 0 MB" in refusal(path)


def test_a_workbook_packed_far_tighter_than_a_spreadsheet_is_refused(tmp_path, ctx):
    """2 MiB of one repeated letter pack to about 2 KB: within the size limit, but a
    thousand times smaller packed than unpacked, which no spreadsheet program writes."""
    path = workbook(
        tmp_path / "dense.xlsx",
        [header("email"), row(2, '<c r="A2" t="s"><v>0</v></c>')],
        shared_strings=["a" * (2 * 1024 * 1024)],
    )
    message = refusal(path)
    assert "times its packed size, more than the 100 times a spreadsheet does" in message
    assert "possible zip bomb" in message


def test_a_file_that_is_no_archive_is_refused_as_unreadable(tmp_path, ctx):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"email\na@example.org\n")
    assert "not a readable XLSX file" in refusal(path)


def test_an_archive_of_thousands_of_parts_is_refused(tmp_path, ctx):
    path = workbook(tmp_path / "parts.xlsx", [header("email")])
    with zipfile.ZipFile(path, "a") as archive:
        for number in range(1_000):
            archive.writestr(f"xl/media/part{number}.bin", b"")
    assert "the workbook holds 1006 parts, more than the 1000 a spreadsheet has" in refusal(path)
