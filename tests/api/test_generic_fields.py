"""Fields of later questionnaires in /api/v1: entries carry them, the OpenAPI document is
generated from the definitions in use and describes the real responses, stats count them."""

from __future__ import annotations

import jsonschema
import pytest
from openapi_spec_validator import validate

from surveyapp.extensions import db
from surveyapp.registry.models import Entry
from tests.api.schema import check


@pytest.fixture
def answered(app, make_entry, test_questionnaires):
    """Four entries: three answered the test-only questionnaire, one did not."""
    made = [make_entry(institution=f"Centre {n}", country="DE") for n in range(4)]
    institution_answers = [
        {"gmp": "yes", "lots_per_year": 10, "authorised_on": "2020-01-31"},
        {"gmp": "yes", "lots_per_year": 30, "cleanroom_area": "120.5"},
        {"gmp": "no", "lots_per_year": 100},
        {},
    ]
    entry_answers = [
        {"platform": "car_t", "platforms": ["car_t", "aav"], "partners": ["Uni A"]},
        {"platform": "aav", "platforms": ["aav"]},
        {"platform": "aav", "description": "In vivo"},
        {},
    ]
    with app.app_context():
        for entry_id, own, institution in zip(
            made, entry_answers, institution_answers, strict=True
        ):
            entry = db.session.get(Entry, entry_id)
            entry.answers = own
            entry.institution.answers = institution
        db.session.commit()
    return made


@pytest.fixture
def spec(client, answered):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    return document


def test_entries_carry_generic_fields_as_the_document_describes(client, spec, answered):
    body = client.get("/api/v1/entries?per_page=10").get_json()
    check(spec, "EntryPage", body)
    first = client.get(f"/api/v1/entries/{answered[0]}").get_json()
    check(spec, "Entry", first)
    assert first["gmp"] == "yes"
    assert first["lots_per_year"] == 10
    assert first["authorised_on"] == "2020-01-31"
    assert first["platforms"] == ["car_t", "aav"]
    assert first["partners"] == ["Uni A"]
    assert first["description"] is None
    assert client.get(f"/api/v1/entries/{answered[1]}").get_json()["cleanroom_area"] == "120.5"


def test_the_document_is_generated_from_the_definitions_in_use(client, spec, answered):
    entry = spec["components"]["schemas"]["Entry"]["properties"]
    assert entry["platform"]["enum"] == ["car_t", "aav", "other", None]
    assert entry["lots_per_year"]["type"] == ["integer", "null"]
    assert entry["platforms"]["items"]["enum"] == ["car_t", "aav", "other"]
    parameters = {p["name"] for p in spec["paths"]["/entries"]["get"]["parameters"]}
    assert {"gmp", "platform", "platforms"} <= parameters
    item = client.get(f"/api/v1/entries/{answered[0]}").get_json()
    with pytest.raises(jsonschema.ValidationError):
        check(spec, "Entry", {**item, "platform": "magic"})
    with pytest.raises(jsonschema.ValidationError):
        check(spec, "Entry", {**item, "lots_per_year": -1})


def test_entries_filter_by_generic_answers_and_name_a_bad_code(client, spec, answered):
    def ids(query: str) -> list[int]:
        return [i["id"] for i in client.get(f"/api/v1/entries?{query}").get_json()["items"]]

    assert ids("platform=aav") == [answered[1], answered[2]]
    assert ids("platforms=car_t") == [answered[0]]
    assert ids("gmp=yes&platforms=aav") == [answered[0], answered[1]]
    response = client.get("/api/v1/entries?platform=magic")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"].startswith("platform: must be one of car_t, aav, other")


def test_stats_count_choices_and_describe_integers(client, spec, answered):
    body = client.get("/api/v1/stats").get_json()
    check(spec, "Stats", body)
    answers = body["answers"]
    assert answers["platform"] == {
        "level": "entry",
        "counted": "entries",
        "kind": "counts",
        "total": 4,
        "counts": {"car_t": 1, "aav": 2, "unknown": 1},
    }
    assert answers["platforms"]["counts"] == {"car_t": 1, "aav": 2, "unknown": 2}
    assert answers["gmp"]["counted"] == "institutions"
    assert answers["gmp"]["counts"] == {"yes": 2, "no": 1, "unknown": 1}
    batches = answers["lots_per_year"]
    assert (batches["answers"], batches["unanswered"]) == (3, 1)
    assert (batches["min"], batches["median"], batches["max"]) == (10, 30, 100)
    assert batches["buckets"][0] == {"from": 10, "to": 28, "count": 1}
    assert sum(b["count"] for b in batches["buckets"]) == 3
    assert batches["buckets"][-1]["to"] == 100
    assert answers["trial_units"]["answers"] == 0
    assert answers["trial_units"]["buckets"] == []
    assert "cleanroom_area" not in answers  # decimals are not counted


def test_without_later_questionnaires_the_api_is_as_before(
    client, make_entry, table1_questionnaire_only
):
    make_entry()
    stats = client.get("/api/v1/stats").get_json()
    assert "answers" not in stats
    document = client.get("/api/v1/openapi.json").get_json()
    assert "answers" not in document["components"]["schemas"]["Stats"]["properties"]
    assert "platform" not in document["components"]["schemas"]["Entry"]["properties"]
    item = client.get("/api/v1/entries").get_json()["items"][0]
    assert "platform" not in item and "gmp" not in item
