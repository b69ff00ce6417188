"""Figure 1 as D1.4 drew it: each institution a point at its city, sized by its active
entries, named for assistive technology, filtered to GMP sites or to centres administering
an authorised ATMP, with the per-country counts kept and the institutions without a known
city listed under the map."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from surveyapp.dashboard import charts, public_views
from surveyapp.definitions.vocabularies import choices
from surveyapp.extensions import db
from surveyapp.history.service import Provenance
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.service import FieldUpdate, change_fields, retire_entry
from surveyapp.vocabulary import ChangeSource

EDIT = Provenance(ChangeSource.STAFF_EDIT, "curator@example.org")
CIRCLE = re.compile(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="([\d.]+)" class="facility">'
                    r"<title>([^<]*)</title></circle>")  # fmt: skip


def points(page: str) -> dict[str, tuple[float, float, float]]:
    """Each drawn point's accessible name -> (x, y, radius)."""
    return {m[4]: (float(m[1]), float(m[2]), float(m[3])) for m in CIRCLE.finditer(page)}


def institution_of(row: int) -> Institution:
    return db.session.scalars(select(Entry).where(Entry.source_row == row)).one().institution


def named(found: dict[str, tuple[float, float, float]], fragment: str) -> tuple[float, ...]:
    (match,) = [value for title, value in found.items() if fragment in title]
    return match


def test_each_institution_with_a_known_city_is_a_named_point_sized_by_its_entries(client, table1):
    page = client.get("/map").get_data(as_text=True)
    found = points(page)
    assert len(found) == 19  # every mapped city is in the gazetteer and in Europe
    herlev_title = (
        "National Center for Cancer Immune Therapy (CCIT-DK), Copenhagen University Hospital "
        "Herlev, Herlev (Denmark): 1 active entry"
    )
    assert herlev_title in found
    wuerzburg = named(found, "TLC-RT Würzburg, Würzburg (Germany): 3 active entries")
    herlev = found[herlev_title]
    assert wuerzburg[2] == pytest.approx(herlev[2] * 3**0.5, abs=0.01)  # area ~ entries
    # Würzburg lies west of and south of Herlev, on the map as on the globe.
    assert wuerzburg[0] < herlev[0] and wuerzburg[1] > herlev[1]
    x, y, w, h = charts.VIEW_BOXES["europe"]
    assert all(x <= px <= x + w and y <= py <= y + h for px, py, _ in found.values())


def test_a_point_lands_inside_its_country(client, table1):
    found = points(client.get("/map").get_data(as_text=True))
    for fragment, code in (("Herlev (Denmark)", "DK"), ("Paris (France)", "FR"),
                           ("Zürich (Switzerland)", "CH"), ("Galway (Ireland)", "IE")):  # fmt: skip
        px, py, _ = next(value for title, value in found.items() if fragment in title)
        x0, y0, x1, y1 = charts.shapes()[code].bounds
        assert x0 <= px <= x1 and y0 <= py <= y1, fragment


def test_the_counts_per_country_stay_and_institutions_without_a_city_are_listed(client, table1):
    page = client.get("/map").get_data(as_text=True)
    assert "<title>Italy: 14</title>" in page and ">14</text>" in page
    assert "19 institutions on the map" in page
    unplaced = page[page.index("without a known city") :]
    assert "Austrian Cluster for Tissue Regeneration" in unplaced
    assert "Center for iPS Cell Research and Application" in unplaced  # Japan, no city
    assert "Copenhagen University Hospital Herlev" not in unplaced
    assert 'class="table-wrap" tabindex="0" role="group" aria-label="Institutions on the map"' in (
        page
    )


def test_a_city_the_gazetteer_does_not_know_is_listed_with_the_city_given(client, table1, ctx):
    change_fields(institution_of(1), {"city": FieldUpdate("Atlantis", "Atlantis")}, EDIT)
    db.session.commit()
    page = client.get("/map").get_data(as_text=True)
    unplaced = page[page.index("without a known city") :]
    assert re.search(
        r"Austrian Cluster for Tissue Regeneration</a></td><td>Austria</td><td>Atlantis</td>",
        unplaced,
    )


def test_only_gmp_sites(client, table1, ctx):
    change_fields(institution_of(9), {"gmp_manufacturing": FieldUpdate("own_facility", "")}, EDIT)
    change_fields(
        institution_of(4), {"gmp_manufacturing": FieldUpdate("through_partner", "")}, EDIT
    )
    change_fields(institution_of(5), {"gmp_manufacturing": FieldUpdate("planned", "")}, EDIT)
    db.session.commit()
    page = client.get("/map?gmp=1").get_data(as_text=True)
    titles = sorted(points(page))
    assert len(titles) == 2
    assert "Würzburg (Germany)" in titles[1] and "Herlev (Denmark)" in titles[0]
    assert "<title>Italy: 14</title>" in page  # every entry still counted per country
    assert 'name="gmp" value="1" checked' in page
    assert "Austrian Cluster" not in page  # not a GMP site: neither point nor list


def test_only_centres_administering_a_chosen_product(client, table1, ctx):
    product, _label = choices("authorised_atmps")[0]
    herlev_entry = db.session.scalars(select(Entry).where(Entry.source_row == 4)).one()
    change_fields(herlev_entry, {"authorised_atmps": FieldUpdate([product], "")}, EDIT)
    db.session.commit()
    page = client.get(f"/map?product={product}").get_data(as_text=True)
    (title,) = points(page)
    assert "Herlev (Denmark): 1 active entry" in title
    assert f'<option value="{product}" selected>' in page
    assert "1 institution on the map" in page and "0 institutions without a known city" in page
    other = choices("authorised_atmps")[1][0]
    assert points(client.get(f"/map?product={other}").get_data(as_text=True)) == {}
    assert len(points(client.get("/map?product=no-such-product").get_data(as_text=True))) == 19


def test_a_retired_entry_no_longer_counts_for_its_point(client, table1, ctx):
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 10)).one()
    retire_entry(entry, "programme ended", EDIT)
    db.session.commit()
    found = points(client.get("/map").get_data(as_text=True))
    named(found, "Würzburg (Germany): 2 active entries")


def test_the_world_view_keeps_the_points_and_the_filter(client, table1):
    page = client.get("/map?region=world&gmp=1").get_data(as_text=True)
    assert 'href="/map?region=europe&amp;gmp=1"' in page
    world = points(client.get("/map?region=world").get_data(as_text=True))
    assert len(world) == 19
    assert named(world, "Herlev")[2] == pytest.approx(charts.point_radius(1, "world"))


def test_the_map_scales_to_a_phone_and_names_itself(client, table1):
    page = client.get("/map").get_data(as_text=True)
    assert re.search(r'<svg class="map" role="img" aria-label="[^"]+" viewBox="[^"]+" '
                     r'width="100%"', page)  # fmt: skip
    assert '<label for="map-product">' in page and '<label for="map-gmp">' in page


def test_projection_places_known_cities_on_the_geometry():
    # Copenhagen and Madrid inside Denmark's and Spain's outlines' bounds.
    for (latitude, longitude), code in (((55.68, 12.57), "DK"), ((40.42, -3.70), "ES")):
        x, y = charts.project(latitude, longitude)
        x0, y0, x1, y1 = charts.shapes()[code].bounds
        assert x0 <= x <= x1 and y0 <= y <= y1


def test_a_long_list_without_a_city_shows_its_number_and_its_first_institutions(
    client, table1, monkeypatch
):
    monkeypatch.setattr(public_views, "UNPLACED_LISTED", 2)
    page = client.get("/map").get_data(as_text=True)
    unplaced = page[page.index("without a known city") :]
    listed = re.findall(r'<tr><td><a href="/institutions/(\d+)">', unplaced)
    assert len(listed) == 2
    assert "The first 2 are listed, by country and name." in unplaced
    count = int(re.search(r"(\d+) institutions without a known city", page)[1])
    assert count > 2  # the number is of them all, not of those listed
    first = client.get(f"/institutions/{listed[0]}")
    assert first.status_code == 200


def test_the_lists_link_each_institution_to_its_page(client, table1):
    page = client.get("/map").get_data(as_text=True)
    for institution_id, name in re.findall(
        r'<tr><td><a href="/institutions/(\d+)">([^<]+)</a>', page
    )[:5]:
        shown = client.get(f"/institutions/{institution_id}").get_data(as_text=True)
        assert name in shown
