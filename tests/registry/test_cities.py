"""Table 1's institutions get the city their printed name gives, from the curated mapping,
as a version the history tells apart; coordinates come from the offline gazetteer by a
documented rule; the cities the mapping set are the ones to confirm."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent, Version
from surveyapp.history.service import Provenance
from surveyapp.registry import cities, importer
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.service import FieldUpdate, change_fields
from surveyapp.vocabulary import ChangeSource

STAFF_EDIT = Provenance(ChangeSource.STAFF_EDIT, "curator@example.org")


def institution_of(row: int) -> Institution:
    return db.session.scalars(select(Entry).where(Entry.source_row == row)).one().institution


def city_versions(institution: Institution) -> list[Version]:
    versions = db.session.scalars(
        select(Version).where(Version.institution_id == institution.id).order_by(Version.number)
    ).all()
    return [v for v in versions if any(c.field == "city" for c in v.changes)]


def test_every_line_of_the_mapping_names_a_row_whose_printed_name_gives_its_words():
    with importer.TABLE1_CSV.open(encoding="utf-8", newline="") as source:
        printed = {int(r["source_row"]): r["institution"] for r in csv.DictReader(source)}
    lines = cities.mapping()
    assert len({line.row for line in lines}) == len(lines) == 19
    for line in lines:
        assert printed[line.row] == line.institution
        assert line.words in line.institution


def test_loading_table1_gives_mapped_institutions_their_city_as_a_version_of_the_mapping(
    table1, ctx
):
    assert table1.cities_set == 19
    herlev = institution_of(4)
    assert herlev.answers["city"] == "Herlev"
    (version,) = city_versions(herlev)
    assert version.source == ChangeSource.TABLE1_IMPORT
    assert version.source_ref == "table1_cities.toml"
    assert "confirm" in version.comment
    (change,) = version.changes
    assert (change.old_value, change.new_value, change.new_text) == (None, "Herlev", "Herlev")
    assert institution_of(9).answers["city"] == "Würzburg"
    assert institution_of(12).answers["city"] == "Dresden"


@pytest.mark.parametrize("row", [1, 13, 20, 33, 55])
def test_an_institution_whose_name_gives_no_city_gets_none(table1, ctx, row):
    assert "city" not in institution_of(row).answers


def test_to_confirm_names_the_cities_the_mapping_set_until_someone_gives_one(table1, ctx):
    herlev, wuerzburg, paris, no_city = (institution_of(r) for r in (4, 9, 5, 1))
    ids = [herlev.id, wuerzburg.id, paris.id, no_city.id]
    assert cities.to_confirm(ids) == {herlev.id, wuerzburg.id, paris.id}
    change_fields(wuerzburg, {"city": FieldUpdate("Wuerzburg", "Wuerzburg")}, STAFF_EDIT)
    submission = Provenance(ChangeSource.SUBMISSION, "cura@example.org", source_ref="submission 1")
    change_fields(paris, {"city": FieldUpdate("Villejuif", "Villejuif")}, submission)
    assert cities.to_confirm(ids) == {herlev.id}
    assert cities.to_confirm([]) == set()


def test_load_cities_applies_the_mapping_to_an_existing_registry_once(table1, ctx, runner):
    herlev, galway = institution_of(4), institution_of(15)
    for institution in (herlev, galway):
        change_fields(institution, {"city": FieldUpdate(None, "")}, STAFF_EDIT)
    change_fields(galway, {"city": FieldUpdate("Oranmore", "Oranmore")}, STAFF_EDIT)
    db.session.commit()

    result = runner.invoke(args=["registry", "load-cities"])
    assert result.exit_code == 0, result.output
    assert "1 cities set, 17 unchanged, 1 kept" in result.output
    assert "Table 1 row 15: 'Oranmore' kept" in result.output
    db.session.refresh(herlev)
    db.session.refresh(galway)
    assert herlev.answers["city"] == "Herlev"
    assert galway.answers["city"] == "Oranmore"
    assert city_versions(herlev)[-1].source_ref == "table1_cities.toml"
    assert cities.to_confirm([herlev.id, galway.id]) == {herlev.id}

    again = runner.invoke(args=["registry", "load-cities"])
    assert "0 cities set, 18 unchanged, 1 kept" in again.output
    assert len(city_versions(herlev)) == 3
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "registry.load_cities")
    ).all()
    assert len(events) == 2


@pytest.mark.parametrize(
    ("city", "country", "name", "latitude", "longitude"),
    [
        ("Herlev", "DK", "Herlev", 55.72, 12.44),  # only among places over 1,000 people
        ("Würzburg", "DE", "Würzburg", 49.79, 9.95),
        ("wurzburg", "DE", "Würzburg", 49.79, 9.95),  # case and accents ignored
        ("Torino", "IT", "Turin", 45.07, 7.69),  # an alternate name
        ("Candiolo", "IT", "Candiolo", 44.96, 7.60),
        ("Donostia / San Sebastián", "ES", "Donostia / San Sebastián", 43.31, -1.97),
        ("Athens", "GR", "Athens", 37.98, 23.73),  # not Athens, Georgia
        ("Paris", "FR", "Paris", 48.85, 2.35),  # not Paris, Texas
    ],
)
def test_a_city_is_found_by_name_and_country(city, country, name, latitude, longitude):
    found = cities.place(city, country)
    assert found is not None and found.name == name and found.country_code == country
    assert found.latitude == pytest.approx(latitude, abs=0.01)
    assert found.longitude == pytest.approx(longitude, abs=0.01)


def test_among_places_of_one_name_in_a_country_the_largest_wins():
    # Germany has a Frankfurt am Main and a Frankfurt (Oder): both called "Frankfurt" by
    # one of their names; the much larger one on the Main is taken.
    found = cities.place("Frankfurt", "DE")
    assert found is not None and found.longitude == pytest.approx(8.68, abs=0.05)


def test_an_unknown_city_or_country_has_no_place():
    assert cities.place("Nowhere-on-the-map", "DE") is None
    assert cities.place("Paris", None) is None
    assert cities.place("Paris", "JP") is None


def test_every_mapped_city_is_in_the_gazetteer(table1, ctx):
    for line in cities.mapping():
        assert cities.place(line.city, institution_of(line.row).country_code), line.city
