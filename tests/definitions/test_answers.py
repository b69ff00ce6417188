"""Answers to the generic field types: read from what was typed, with a message saying
what is wrong, and rendered as people read them."""

from __future__ import annotations

import pytest

from surveyapp.definitions import check_file
from surveyapp.definitions.answers import condition_met, json_schema, read, render
from tests.conftest import TEST_FORMS_DIR


@pytest.fixture
def everything(test_questionnaires):
    return check_file(TEST_FORMS_DIR / "everything-v1.toml")


@pytest.mark.parametrize(
    ("key", "typed", "stored"),
    [
        ("lots_per_year", " 120 ", 120),
        ("cleanroom_area", "12,50", "12.5"),
        ("authorised_on", "2024-03-01", "2024-03-01"),
        ("gmp", "Yes", "yes"),
        ("platform", "car_t", "car_t"),
        ("platform", "in vivo aav", "aav"),
        ("platforms", ["car_t", "In vivo AAV", "car_t"], ["car_t", "aav"]),
        ("partners", "Charité\r\nRigshospitalet; Charité", ["Charité", "Rigshospitalet"]),
        ("description", "A centre.", "A centre."),
        ("lots_per_year", "", None),
    ],
)
def test_typed_answers_are_stored_in_their_shape(everything, key, typed, stored):
    assert read(everything.field(key), typed).value == stored


@pytest.mark.parametrize(
    ("key", "typed", "message"),
    [
        ("lots_per_year", "12.5", "must be a whole number; '12.5' is not"),
        ("lots_per_year", "-1", "must be at least 0"),
        ("lots_per_year", "10001", "must be at most 10000"),
        ("cleanroom_area", "about 20", "must be a number"),
        ("authorised_on", "1 March 2024", "must be a date as YYYY-MM-DD"),
        ("gmp", "perhaps", "must be one of yes, no, unknown"),
        ("platforms", ["car_t", "crispr"], "'crispr' is not a choice offered"),
    ],
)
def test_a_wrong_answer_says_what_is_wrong(everything, key, typed, message):
    reading = read(everything.field(key), typed)
    assert reading.value is None and message in reading.problem


def test_values_render_with_labels_units_and_translations(everything):
    assert render(everything.field("lots_per_year"), 120) == "120 batches"
    assert render(everything.field("platforms"), ["car_t", "aav"]) == (
        "CAR-T and other engineered immune cells; In vivo AAV"
    )
    assert render(everything.field("platform"), "car_t", "de").startswith("CAR-T und")
    assert render(everything.field("gmp"), "unknown") == "Unknown"
    assert render(everything.field("partners"), None) == ""


def test_a_conditional_field_is_asked_only_when_its_condition_is_met(everything):
    batches = everything.field("lots_per_year")
    assert condition_met(batches, {"gmp": "yes"})
    assert not condition_met(batches, {"gmp": "no"}) and not condition_met(batches, {})
    assert condition_met(everything.field("gmp"), {})


def test_each_type_has_a_json_schema(everything):
    assert json_schema(everything.field("lots_per_year"))["maximum"] == 10000
    assert json_schema(everything.field("platforms"))["items"]["enum"] == ["car_t", "aav", "other"]
    assert json_schema(everything.field("authorised_on"))["format"] == "date"
