"""Registry pages: table with search, filters, sorting and paging; institutions; exports."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.registry.models import Entry
from surveyapp.tabular import neutralise, unneutralise


def rows_shown(html: str) -> list[str]:
    """Table 1 row numbers in the registry table, in order."""
    return re.findall(r"<tr>\s*<td>(\d*)</td>", html)


def test_the_registry_table_shows_table1_headings(client, table1):
    html = client.get("/").get_data(as_text=True)
    for heading in (
        "Institution",
        "Country",
        "Website",
        "Type of ATMP",
        "Number of patients treated",
        "Diseases targeted",
        "Other diseases in pipeline",
        "Contract research for industry",
        "Routine application of approved ATMP",
    ):
        assert f'<th scope="col">{heading}</th>' in html
    assert "55 entries" in html
    assert "needs curation</span>" not in html
    assert "Needs curation only" not in html
    assert rows_shown(html)[:3] == ["1", "2", "3"]


def test_staff_see_what_needs_curation(client, table1, staff):
    html = client.get("/").get_data(as_text=True)
    flagged = rows_shown(client.get("/?needs_curation=y").get_data(as_text=True))
    assert "39" in flagged
    assert "3" not in flagged
    assert html.count("needs curation</span>") == len([r for r in flagged if int(r) <= 50])


def test_the_public_cannot_filter_by_curation_state(client, table1):
    assert len(rows_shown(client.get("/?needs_curation=y").get_data(as_text=True))) == 50


def test_pages_are_50_entries_with_links_between_them(client, table1):
    first = client.get("/").get_data(as_text=True)
    assert len(rows_shown(first)) == 50
    assert "page 1 of 2" in first
    assert 'rel="next" href="/?page=2"' in first
    second = client.get("/?page=2").get_data(as_text=True)
    assert rows_shown(second) == [str(n) for n in range(51, 56)]


@pytest.mark.parametrize(
    ("query", "expected_rows"),
    [
        ("q=Würzburg", ["9", "10", "11"]),
        ("q=wurzburg", []),
        ("q=hemafund", ["49", "52"]),
        ("disease=osteoarthritis", ["9", "10", "30", "31", "37", "38"]),
        ("country=UA", ["49", "50", "51", "52"]),
        ("country=UA&contract_research=yes", ["50", "51", "52"]),
        ("routine_application=clinical_trials_only", ["36", "51"]),
        ("atmp_type=gene_therapy&country=DE", ["11", "12", "13"]),
        ("q=Omics bioinformatics", ["14"]),
        ("q=KAROLINSKA", ["47"]),
        ("q=ior.it", ["24", "30", "31"]),
        ("q=100%25", []),
    ],
)
def test_search_and_filters(client, table1, query, expected_rows):
    html = client.get(f"/?{query}").get_data(as_text=True)
    assert rows_shown(html) == expected_rows


def test_a_search_for_a_contact_name_finds_nothing_publicly(client, table1):
    assert rows_shown(client.get("/?q=Grillari").get_data(as_text=True)) == []


def test_sorting_by_patients_puts_the_largest_first(client, table1):
    html = client.get("/?sort=patients").get_data(as_text=True)
    assert rows_shown(html)[:3] == ["44", "18", "40"]


def test_invalid_filters_are_reported_and_ignored(client, table1):
    response = client.get("/?atmp_type=magic&page=0")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Some filters were not understood" in html
    assert "Type of ATMP: Not a valid choice" in html
    assert len(rows_shown(html)) == 50


def test_the_institution_page_shows_entries_printed_text_and_history(client, table1, staff, ctx):
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 9)).one()
    html = client.get(f"/institutions/{entry.institution_id}").get_data(as_text=True)
    assert "Table 1 row 9" in html and "Table 1 row 10" in html and "Table 1 row 11" in html
    assert "Degenerative cartilage defects" in html
    assert "Needs curation" in html
    assert "RESTORE D1.4 Table 1 import" in html
    assert "Version 1" in html
    assert "PD Dr. Oliver Pullig" in html


def test_the_public_institution_page_hides_contacts_and_curation(client, table1, ctx):
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 9)).one()
    html = client.get(f"/institutions/{entry.institution_id}").get_data(as_text=True)
    assert "Degenerative cartilage defects" in html
    assert "Needs curation" not in html
    assert "Pullig" not in html
    assert "Not published" in html


def test_an_unknown_institution_is_a_404_page(client, table1):
    response = client.get("/institutions/999999")
    assert response.status_code == 404
    assert "No institution has id 999999" in response.get_data(as_text=True)


def test_no_personal_data_in_public_pages_or_exports(client, table1, ctx, xlsx_snapshot):
    contacts = [e.contact_person for e in db.session.scalars(select(Entry)) if e.contact_person]
    assert "Prof. Dr. Johannes Grillari" in contacts
    institution_ids = set(db.session.scalars(select(Entry.institution_id)))
    pages = [client.get("/").get_data(as_text=True), client.get("/?page=2").get_data(as_text=True)]
    pages += [client.get(f"/institutions/{i}").get_data(as_text=True) for i in institution_ids]
    pages += [
        client.get(f"/registry/export.{fmt}").get_data(as_text=True) for fmt in ("csv", "json")
    ]
    pages.append(client.get("/api/v1/entries?per_page=500").get_data(as_text=True))
    xlsx_snapshot()
    workbook = load_workbook(io.BytesIO(client.get("/registry/export.xlsx").data))
    pages.append(" ".join(str(c.value) for r in workbook.active.iter_rows() for c in r))
    for text in pages:
        for contact in contacts:
            assert contact not in text


def test_a_consenting_contact_is_published(client, table1, ctx):
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 4)).one()
    entry.contact_public = True
    db.session.commit()
    assert "Dr. Inge Marie Svane" in client.get(f"/institutions/{entry.institution_id}").get_data(
        as_text=True
    )
    assert client.get(f"/api/v1/entries/{entry.id}").get_json()["contact_person"] == (
        "Dr. Inge Marie Svane"
    )


def test_csv_export_follows_filters_and_has_seed_columns(client, table1):
    response = client.get("/registry/export.csv?country=DE")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["source_row"] for r in rows] == ["9", "10", "11", "12", "13"]
    assert list(rows[0])[:4] == ["institution", "contact_person", "country", "website"]
    assert rows[0]["country_code"] == "DE"
    assert rows[0]["atmp_types"] == "tissue_engineered"
    assert rows[0]["contact_person"] == ""


def test_json_export_is_a_list_of_records(client, table1):
    records = client.get("/registry/export.json?country=DK").get_json()
    assert [r["source_row"] for r in records] == [4]
    assert records[0]["patients_estimate"] == 114


def test_unknown_export_format_is_404(client, table1):
    assert client.get("/registry/export.pdf").status_code == 404


@pytest.mark.parametrize("cell", ["=1", "+1", "-1", "@A1", "\tx", "\rx", "\0x"])
def test_neutralise_prefixes_every_formula_trigger_and_import_undoes_it(cell):
    assert neutralise(cell) == f"'{cell}"
    assert unneutralise(neutralise(cell)) == cell
    assert neutralise("plain") == "plain"
    assert unneutralise("'quoted") == "'quoted"


# Text fields are stripped on the way in, so tab, CR and NUL cannot lead a stored cell;
# the export still neutralises them (above).
FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"]


@pytest.mark.parametrize("payload", FORMULAS)
def test_formula_cells_are_neutralised_in_csv_and_xlsx(client, make_entry, payload, xlsx_snapshot):
    make_entry(institution=f"{payload} Institute", country="FR", diseases_targeted=payload)
    xlsx_snapshot()
    rows = list(
        csv.DictReader(io.StringIO(client.get("/registry/export.csv").get_data(as_text=True)))
    )
    row = next(r for r in rows if r["institution"].endswith("Institute"))
    assert row["institution"] == f"'{payload} Institute"
    assert row["diseases_targeted"] == f"'{payload}"
    workbook = load_workbook(io.BytesIO(client.get("/registry/export.xlsx").data))
    values = [c.value for r in workbook.active.iter_rows() for c in r if c.value]
    assert f"'{payload} Institute" in values
    assert all(not str(v).startswith(("=", "+", "-", "@", "\t", "\r")) for v in values)
    formulas = [c for r in workbook.active.iter_rows() for c in r if c.data_type == "f"]
    assert formulas == []


def test_text_is_escaped_in_pages(client, make_entry, ctx):
    entry_id = make_entry(
        institution="<script>alert(1)</script> Lab",
        country="FR",
        diseases_targeted="<img src=x onerror=alert(2)>",
    )
    institution_id = db.session.get(Entry, entry_id).institution_id
    for url in ("/", f"/institutions/{institution_id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Lab" in html
        assert "<img src=x" not in html


def test_dates_read_in_one_format_per_language(client, table1, ctx):
    from datetime import UTC, datetime

    entry = db.session.scalars(select(Entry).where(Entry.source_row == 9)).one()
    entry.confirmed_at = datetime(2027, 1, 15, 9, 30, tzinfo=UTC)
    db.session.commit()
    english = client.get(f"/institutions/{entry.institution_id}").get_data(as_text=True)
    assert "Last confirmed by the institution: January 15, 2027" in english
    german = client.get(f"/institutions/{entry.institution_id}?lang=de").get_data(as_text=True)
    assert "15. Januar 2027" in german
    assert "2027-01-15" not in english + german
