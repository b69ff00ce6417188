"""The public figures: statistics against hand-counted Table 1 figures, CSV downloads, the
map's counts per country, completeness and staleness, the public directory without
personal data, and no page loading anything from another site."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from surveyapp.dashboard import service
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.registry.models import Entry
from surveyapp.vocabulary import Role

# Counted by hand in RESTORE D1.4's Table 1 (55 rows): its "Country" column, and its
# "Contract research for industry" column (Yes 22, No 12, Possible 8, blank 13).
TABLE1_COUNTRIES = {
    "IT": 14, "ES": 7, "DE": 5, "FR": 4, "UA": 4, "IE": 3, "NL": 3, "AT": 2, "PT": 2,
    "US": 2, "CZ": 1, "DK": 1, "GR": 1, "IL": 1, "JP": 1, "SE": 1, "CH": 1, "GB": 1,
    "unknown": 1,
}  # fmt: skip
TABLE1_CONTRACT_RESEARCH = {"yes": 22, "no": 12, "possible": 8, "unknown": 13}


def test_statistics_match_hand_counted_table1_figures(client, table1):
    stats = client.get("/api/v1/stats").get_json()
    assert stats["entries"] == 55
    assert stats["entries_by_country"] == TABLE1_COUNTRIES
    assert stats["entries_by_contract_research"] == TABLE1_CONTRACT_RESEARCH
    assert sum(stats["entries_by_disease_area"].values()) >= 1
    germany = stats["patients_treated_by_country_detail"]["DE"]
    assert germany["total"] == sum(germany["by_qualifier"].values())
    assert germany["entries_with_number"] + germany["entries_without_number"] == 5


def test_the_statistics_page_has_every_table_with_numbers_as_text(client, table1):
    page = client.get("/statistics").get_data(as_text=True)
    for title in (
        "Entries by country",
        "Entries by type of ATMP",
        "Entries by disease area",
        "Patients treated by country",
        "Contract research for industry",
        "Routine application of approved ATMPs",
    ):
        assert title in page
    assert "<title>Italy: 14</title>" in page  # the chart's numbers, not just its bars
    assert re.search(r'<th scope="row">Italy</th><td>14</td>', page)
    assert 'aria-label="Entries by country"' in page


@pytest.mark.parametrize(
    "name", ["countries", "atmp-types", "disease-areas", "contract-research",
             "routine-application", "patients"]
)  # fmt: skip
def test_each_table_downloads_as_csv(client, table1, name):
    response = client.get(f"/statistics/{name}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) >= 2


def test_the_countries_csv_holds_the_counts(client, table1):
    rows = list(
        csv.reader(io.StringIO(client.get("/statistics/countries.csv").get_data(as_text=True)))
    )
    assert rows[0] == ["Country", "Entries", "Share of entries"]
    assert rows[1] == ["Italy", "14", "25%"]
    assert client.get("/statistics/nothing.csv").status_code == 404


def test_statistics_are_translated(client, table1):
    page = client.get("/statistics?lang=de").get_data(as_text=True)
    assert "Italien" in page


def test_the_map_shows_each_countrys_count(client, table1):
    europe = client.get("/map?region=europe").get_data(as_text=True)
    assert "<title>Italy: 14</title>" in europe
    assert "<title>Germany: 5</title>" in europe
    assert "<title>Poland: 0</title>" in europe
    assert "Japan" not in re.sub(r"<table.*</table>", "", europe, flags=re.S)  # outside the view
    assert ">14</text>" in europe
    assert "CC BY 4.0" in europe
    world = client.get("/map?region=world").get_data(as_text=True)
    assert "<title>Japan: 1</title>" in world
    assert "<title>United States: 2</title>" in world


def test_the_map_opens_on_europe_with_the_world_one_click_away(client, table1):
    page = client.get("/map").get_data(as_text=True)
    assert "<title>Italy: 14</title>" in page
    assert "Japan" not in re.sub(r"<table.*</table>", "", page, flags=re.S)
    assert re.search(
        r"<strong>Europe</strong>\s*·\s*<a href=\"/map\?region=world\">World</a>", page
    )
    assert "<title>Japan: 1</title>" in client.get("/map?region=world").get_data(as_text=True)


def test_completeness_and_staleness(table1, ctx):
    figures = service.completeness()
    assert figures.entries == 55 and figures.columns == 10
    assert figures.never_confirmed == 55
    assert sum(figures.by_filled.values()) == 55
    assert 0 < figures.average_share < 1
    least = service.least_complete(5)
    assert [e.filled_fields for e in least] == sorted(e.filled_fields for e in least)
    assert least[0].filled_fields == min(figures.by_filled)
    confirmed = service.most_stale(1)[0]
    confirmed.confirmed_at = utcnow()
    db.session.commit()
    assert confirmed.id not in {e.id for e in service.most_stale(54)}
    assert service.completeness().confirmed_within_year == 1


def test_the_coverage_dashboard_lists_the_thin_entries(client, staff, table1):
    page = client.get("/staff/dashboard/").get_data(as_text=True)
    assert "Least complete entries" in page
    assert "Longest without confirmation" in page
    assert "never" in page
    assert "<title>Italy: 14</title>" in page


# The public directory ------------------------------------------------------------------

PERSONAL = ["Oliver Pullig", "Grillari", "Heinz Redl", "Nicola Baldini", "Milena Fini"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=Würzburg", "TLC-RT Würzburg"),
        ("country=IT", "Istituto Ortopedico Rizzoli"),
        ("atmp_type=gene_therapy", "Gene"),
        ("disease=cartilage", "TLC-RT Würzburg"),
        ("contract_research=possible", "entries"),
        ("routine_application=yes", "entries"),
    ],
)
def test_anyone_can_search_the_directory(client, table1, query, expected):
    page = client.get(f"/?{query}").get_data(as_text=True)
    assert expected in page
    for person in PERSONAL:
        assert person not in page


def test_no_personal_data_in_public_output_without_consent(client, table1, ctx):
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 9)).one()
    outputs = [
        client.get("/").get_data(as_text=True),
        client.get(f"/institutions/{entry.institution_id}").get_data(as_text=True),
        client.get("/statistics").get_data(as_text=True),
        client.get("/map").get_data(as_text=True),
        client.get("/registry/export.csv").get_data(as_text=True),
        client.get("/api/v1/entries?per_page=500").get_data(as_text=True),
        client.get(f"/api/v1/entries/{entry.id}").get_data(as_text=True),
    ]
    for output in outputs:
        for person in PERSONAL:
            assert person not in output


def test_an_institution_page_offers_a_prefilled_correction(client, table1, ctx):
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 9)).one()
    page = client.get(f"/institutions/{entry.institution_id}").get_data(as_text=True)
    link = f"/suggest/?institution={entry.institution_id}"
    assert link in page
    form = client.get(link).get_data(as_text=True)
    assert "TLC-RT Würzburg" in form


# Nothing from another site -------------------------------------------------------------

RESOURCE = re.compile(
    r"<(?:script|img|iframe|link|source|video|audio|embed|object)\b[^>]*"
    r"(?:src|href|data)=\"(https?:)?//",
    re.I,
)


def test_no_page_loads_anything_from_another_site(app, client, make_user, auth, table1):
    """Every GET page (public, and staff logged in as an admin with all roles) loads
    scripts, styles, images and fonts only from this site. Links to facilities' own
    websites are navigation, not loading, and are allowed."""
    make_user("all@example.org", Role.ADMIN, Role.COORDINATOR, Role.CURATOR)
    auth.login("all@example.org")
    css = (app.static_folder and open(f"{app.static_folder}/style.css").read()) or ""  # noqa: SIM115
    assert "http" not in css and "@import" not in css
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments - {"region"}:
            continue
        response = client.get(rule.rule)
        if response.mimetype != "text/html":
            continue
        page = response.get_data(as_text=True)
        assert not RESOURCE.search(page), rule.rule
        assert "url(http" not in page and "@import" not in page, rule.rule
        checked += 1
    assert checked >= 15


def test_every_page_names_a_favicon_that_is_served(client, table1):
    for url in ("/", "/statistics", "/map", "/suggest/", "/login"):
        page = client.get(url).get_data(as_text=True)
        icon = re.search(r'<link rel="icon" href="([^"]+)"', page)
        assert icon, url
    response = client.get(icon.group(1))
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    bare = client.get("/favicon.ico")
    assert bare.status_code == 301 and bare.headers["Location"].endswith(icon.group(1))
