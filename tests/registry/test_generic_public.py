"""Fields of later questionnaires in the public registry: the institution page, the
directory's filters and the CSV, XLSX and JSON exports, with no code per field."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from surveyapp.definitions import use_directories
from surveyapp.extensions import db
from surveyapp.registry.models import Entry

SECRET = """
id = "secret"
version = 1
title = "A personal generic field (test)"
table1_columns = []

[[sections]]
key = "people"
title = "People"
level = "entry"

  [[sections.fields]]
  key = "head_of_lab"
  label = "Head of the laboratory"
  type = "long_text"
  personal = true
  in_table1 = false
"""


@pytest.fixture
def answered(app, make_entry, test_questionnaires):
    """Three entries in three institutions with answers to the test-only questionnaire."""
    ids = {
        "car": make_entry(institution="Car Centre", country="DE"),
        "aav": make_entry(institution="Vector Works", country="FR"),
        "none": make_entry(institution="Quiet Place", country="IT"),
    }
    with app.app_context():
        car, aav = db.session.get(Entry, ids["car"]), db.session.get(Entry, ids["aav"])
        car.institution.answers = {"gmp": "yes", "lots_per_year": 120}
        car.answers = {
            "platform": "car_t",
            "platforms": ["car_t", "aav"],
            "partners": ["=HYPERLINK(1)", "Uni B"],
            "description": "Autologous CAR-T",
        }
        aav.institution.answers = {"gmp": "no", "authorised_on": "2021-03-04"}
        aav.answers = {"platform": "aav", "platforms": ["aav"]}
        db.session.commit()
        return {name: db.session.get(Entry, i).institution_id for name, i in ids.items()} | {
            "entries": ids
        }


def institutions_listed(html: str) -> list[str]:
    return re.findall(r'institutions/\d+">([^<]+)</a>', html)


def test_the_institution_page_shows_every_answered_generic_field_with_its_label(client, answered):
    html = client.get(f"/institutions/{answered['car']}").get_data(as_text=True)
    assert "GMP manufacturing</dt><dd>Yes</dd>" in html
    assert "<dd>120 batches</dd>" in html
    assert "Main platform" in html and "CAR-T and other engineered immune cells" in html
    assert "CAR-T and other engineered immune cells; In vivo AAV" in html
    assert "=HYPERLINK(1); Uni B" in html
    assert "Autologous CAR-T" in html


def test_the_institution_page_reads_answers_in_the_pages_language(client, answered):
    html = client.get(f"/institutions/{answered['car']}?lang=de").get_data(as_text=True)
    assert "CAR-T und andere veränderte Immunzellen" in html


def test_the_directory_filters_by_choice_multi_choice_and_institution_level_answers(
    client, answered
):
    html = client.get("/").get_data(as_text=True)
    assert '<select id="platform" name="platform">' in html
    assert '<option value="car_t">CAR-T and other engineered immune cells</option>' in html
    assert '<select id="gmp" name="gmp">' in html
    assert institutions_listed(client.get("/?platform=aav").get_data(as_text=True)) == [
        "Vector Works"
    ]
    assert sorted(institutions_listed(client.get("/?platforms=aav").get_data(as_text=True))) == [
        "Car Centre",
        "Vector Works",
    ]
    assert institutions_listed(client.get("/?platforms=car_t").get_data(as_text=True)) == [
        "Car Centre"
    ]
    assert institutions_listed(client.get("/?gmp=no").get_data(as_text=True)) == ["Vector Works"]
    assert institutions_listed(client.get("/?gmp=yes&platform=aav").get_data(as_text=True)) == []


def test_an_unknown_code_in_a_generic_filter_is_reported_and_ignored(client, answered):
    html = client.get("/?platform=magic").get_data(as_text=True)
    assert "Main platform: Not a valid choice" in html
    assert len(institutions_listed(html)) == 3


def test_a_multi_choice_filter_matches_whole_codes_only(client, answered, ctx):
    entry = db.session.get(Entry, answered["entries"]["none"])
    # "_" is a LIKE wildcard: "car_t" must not match a stored "carXt".
    entry.answers = {"platforms": ["carXt"]}
    db.session.commit()
    assert institutions_listed(client.get("/?platforms=car_t").get_data(as_text=True)) == [
        "Car Centre"
    ]


def test_exports_have_one_column_per_generic_field_after_todays_columns(
    app, client, runner, answered, tmp_path, monkeypatch
):
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/registry/export.csv?platform=car_t").get_data(as_text=True))
        )
    )
    assert len(rows) == 1
    header = list(rows[0])
    assert header.index("last_confirmed") < header.index("gmp")
    beyond_table1 = header[header.index("last_confirmed") + 1 :]
    test_fields = [
        "name",
        "gmp",
        "lots_per_year",
        "cleanroom_area",
        "authorised_on",
        "platform",
        "platforms",
        "partners",
        "description",
        "trial_units",
    ]
    assert [key for key in beyond_table1 if key in test_fields] == test_fields
    # the shipped table1-v2's public fields follow; its personal contact point never does
    assert "gmp_manufacturing" in beyond_table1 and "city" in beyond_table1
    assert "facility_access_contact" not in beyond_table1
    row = rows[0]
    assert (row["gmp"], row["lots_per_year"], row["platforms"]) == ("yes", "120", "car_t; aav")
    assert row["partners"] == "'=HYPERLINK(1); Uni B"
    assert row["trial_units"] == ""

    # XLSX is the whole registry's snapshot, built by the command line, not filtered
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    assert runner.invoke(args=["registry", "build-xlsx"]).exit_code == 0
    workbook = load_workbook(io.BytesIO(client.get("/registry/export.xlsx").data))
    cells = list(workbook.active.iter_rows(values_only=True))
    by_gmp = [dict(zip(cells[0], row, strict=True)) for row in cells[1:]]
    (values,) = [v for v in by_gmp if v["gmp"] == "no"]
    assert (values["platforms"], values["authorised_on"]) == ("aav", "2021-03-04")

    records = client.get("/registry/export.json?platforms=aav").get_json()
    by_name = {r["institution"]: r for r in records}
    assert by_name["Car Centre"]["platforms"] == ["car_t", "aav"]
    assert by_name["Car Centre"]["lots_per_year"] == 120
    assert by_name["Vector Works"]["lots_per_year"] is None


def test_without_later_questionnaires_exports_keep_todays_columns(
    client, make_entry, table1_questionnaire_only
):
    make_entry()
    header = client.get("/registry/export.csv").get_data(as_text=True).splitlines()[0]
    assert header.split(",")[-1] == "last_confirmed"
    assert "platform" not in client.get("/").get_data(as_text=True)


@pytest.fixture
def secret_field(app, tmp_path, make_entry):
    """A questionnaire whose one field is personal, with an answer to it."""
    (tmp_path / "secret-v1.toml").write_text(SECRET, encoding="utf-8")
    shipped = list(app.config["QUESTIONNAIRE_DIRS"])
    use_directories([*shipped, tmp_path])
    entry_id = make_entry(institution="Private Lab")
    with app.app_context():
        entry = db.session.get(Entry, entry_id)
        entry.answers = {"head_of_lab": "Dr. Hidden Person"}
        entry.contact_public = True
        db.session.commit()
        yield entry.institution_id
    use_directories(shipped)


def test_personal_generic_fields_never_reach_public_output(client, secret_field):
    outputs = [
        client.get(f"/institutions/{secret_field}").get_data(as_text=True),
        client.get("/registry/export.csv").get_data(as_text=True),
        client.get("/registry/export.json").get_data(as_text=True),
        client.get("/api/v1/entries").get_data(as_text=True),
    ]
    for text in outputs:
        assert "Hidden Person" not in text
    assert "head_of_lab" not in outputs[1]
