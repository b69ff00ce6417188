"""The questionnaire's forms bind each field once and give every form its own copy.

What the copies share (label, flags, validators, choices) never changes after a field is
built; what a form changes (data, raw input, errors) must stay with that form, however
many forms a process builds one after another or side by side.
"""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from surveyapp.definitions import load_definition
from surveyapp.questionnaire import forms

# An integer field of every programme block, and what a respondent may type in it.
PATIENTS = "patients_treated"


@pytest.fixture
def definition(ctx):
    return load_definition()  # Table 1's questionnaire


def _typed(patients: str) -> MultiDict:
    return MultiDict(
        {
            "institution_block-institution": "Klinikum",
            f"entries-0-{PATIENTS}": patients,
            f"entries-1-{PATIENTS}": "3",
        }
    )


def _build(definition, patients: str):
    form = forms.questionnaire_form(definition, formdata=_typed(patients), meta={"csrf": False})
    form.validate()
    return form


def test_each_form_keeps_its_own_input_and_errors(definition):
    refused = _build(definition, "many")
    accepted = _build(definition, "12")

    first, second = refused.entries[0].form[PATIENTS], accepted.entries[0].form[PATIENTS]
    assert first.errors and not second.errors
    assert (first.raw_data, second.data) == (["many"], 12)
    assert accepted.entries[1].form[PATIENTS].data == 3
    assert refused.institution_block.form["institution"].data == "Klinikum"


def test_an_error_added_to_one_form_stays_in_that_form(definition):
    one, other = _build(definition, "12"), _build(definition, "12")
    one.consent_store.errors = ["Tick this"]
    one.entries[0].form[PATIENTS].errors.append("Too many")

    assert other.consent_store.errors == []
    assert other.entries[0].form[PATIENTS].errors == []


def test_a_field_is_built_once_for_each_place(definition):
    """Two forms hold two fields for the same input, sharing what was built once (its
    label); a field in another block is a field of its own."""
    one, other = _build(definition, "12"), _build(definition, "13")
    here, there = one.entries[0].form[PATIENTS], other.entries[0].form[PATIENTS]

    assert here is not there
    assert here.label is there.label
    assert here.label is not one.entries[1].form[PATIENTS].label
    assert one.entries[1].form[PATIENTS].id == f"entries-1-{PATIENTS}"


def test_blocks_and_sub_forms_belong_to_their_form(definition):
    one, other = _build(definition, "12"), _build(definition, "12")

    assert one.entries is not other.entries
    assert one.entries.entries[0] is not other.entries.entries[0]
    assert one.institution_block.form is not other.institution_block.form
    assert one.entries[0].form[PATIENTS]._form is one.entries[0].form
