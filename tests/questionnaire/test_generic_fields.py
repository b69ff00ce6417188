"""A campaign on a questionnaire beyond Table 1: every generic field type asked, read, saved,
pre-filled and shown back, with its condition, in the respondent's language."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Campaign
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire.models import Submission
from surveyapp.registry.models import Institution
from tests.campaigns.test_invitations import plain, tokens_in
from tests.questionnaire.test_form import post, prefilled

INSTITUTION = "Translational Center Regenerative Medicine TLC-RT Würzburg"


@pytest.fixture
def everything(table1, ctx, test_questionnaires, make_contact, mailbox):
    """Invite a contact for Table 1 rows 9-11 to a campaign on a test questionnaire (v1 by
    default); its link token."""

    def invite(version: int = 1) -> str:
        campaign = campaigns.create_campaign(
            f"Capacity v{version}",
            (utcnow() + timedelta(days=30)).date(),
            actor="test",
            questionnaire=f"everything-v{version}",
        )
        make_contact("pullig@example.org", 9, name="PD Dr. Oliver Pullig")
        campaigns.invite(campaign, actor="test")
        db.session.commit()
        send_pending()
        return tokens_in(mailbox.messages[-1])[0]

    return invite


def tag(html: str, name: str) -> str:
    """The opening tag of the input named ``name`` (the first, for radios and checkboxes)."""
    found = re.search(rf'<(?:input|textarea|select)[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert found, f"no input {name}"
    return found.group(0)


ANSWERS = {
    "institution_block-name": "TLC-RT",
    "institution_block-gmp": "yes",
    "institution_block-lots_per_year": "120",
    "institution_block-cleanroom_area": "12,50",
    "institution_block-authorised_on": "2020-05-01",
    "entries-0-platform": "car_t",
    "entries-0-platforms": ["car_t", "aav"],
    "entries-0-partners": "Fraunhofer ISC\r\nUniversity Hospital\r\n",
    "entries-0-description": "Autologous cartilage.",
}


def submission() -> Submission:
    found = db.session.scalars(select(Submission)).one()
    db.session.refresh(found)
    return found


def test_every_generic_field_has_its_own_input(client, everything):
    html = client.get(f"/i/{everything()}/form").get_data(as_text=True)
    batches = tag(html, "institution_block-lots_per_year")
    assert 'inputmode="numeric"' in batches and 'type="text"' in batches
    assert 'min="0"' in batches and 'max="10000"' in batches
    assert re.search(r'id="institution_block-lots_per_year-unit">batches<', html)
    assert 'inputmode="decimal"' in tag(html, "institution_block-cleanroom_area")
    assert 'type="date"' in tag(html, "institution_block-authorised_on")
    gmp = re.findall(r'<input[^>]*name="institution_block-gmp"[^>]*>', html)
    assert [re.search(r'value="(\w+)"', i).group(1) for i in gmp] == ["yes", "no", "unknown"]
    assert all('type="radio"' in i for i in gmp)
    assert 'type="radio"' in tag(html, "entries-0-platform")  # three options: radios
    assert 'type="checkbox"' in tag(html, "entries-0-platforms")
    assert tag(html, "entries-0-partners").startswith("<textarea")
    assert "One per line." in html
    assert 'maxlength="4000"' in tag(html, "entries-0-description")
    # every entry block asks the entry's fields
    assert 'name="entries-2-platforms"' in html
    assert "CAR-T and other engineered immune cells" in html


def test_answers_are_saved_in_their_shapes_and_come_back_on_the_link(client, everything):
    token = everything()
    assert post(client, token, ANSWERS).status_code == 200
    answers = submission().answers
    assert answers["institution"] == {
        "name": "TLC-RT",
        "gmp": "yes",
        "lots_per_year": 120,
        "cleanroom_area": "12.5",
        "authorised_on": "2020-05-01",
    }
    assert answers["entries"][0]["fields"] == {
        "platform": "car_t",
        "platforms": ["car_t", "aav"],
        "partners": ["Fraunhofer ISC", "University Hospital"],
        "description": "Autologous cartilage.",
    }
    again = prefilled(client.get(f"/i/{token}/form").get_data(as_text=True))
    assert again["institution_block-gmp"] == ["yes"]
    assert again["institution_block-lots_per_year"] == "120"
    assert again["institution_block-cleanroom_area"] == "12.5"
    assert again["institution_block-authorised_on"] == "2020-05-01"
    assert again["entries-0-platform"] == ["car_t"]
    assert again["entries-0-platforms"] == ["car_t", "aav"]
    assert again["entries-0-partners"].split() == ["Fraunhofer", "ISC", "University", "Hospital"]


def test_submitting_keeps_the_same_shapes(client, everything):
    token = everything()
    response = post(client, token, {**ANSWERS, "consent_store": "y"}, button="submit")
    assert response.status_code == 302
    version = submission().latest_version
    assert version.answers["institution"]["lots_per_year"] == 120
    assert version.answers["entries"][0]["fields"]["platforms"] == ["car_t", "aav"]


@pytest.mark.parametrize(
    ("name", "typed", "message"),
    [
        ("institution_block-lots_per_year", "many", "Enter a whole number, such as 12."),
        ("institution_block-lots_per_year", "20000", "Enter a number from 0 to 10000."),
        ("institution_block-cleanroom_area", "-3", "Enter a number of at least 0."),
        (
            "institution_block-authorised_on",
            "1.5.2020",
            "Enter a date as year-month-day, such as 2025-03-31.",
        ),
        ("entries-0-platform", "crispr", "Choose one of the answers offered."),
        ("entries-0-platforms", ["aav", "crispr"], "Choose only among the answers offered."),
        (
            "entries-0-description",
            "x" * 4001,
            "This may have at most 4000 characters; it has 4001.",
        ),
    ],
)
def test_a_refused_answer_is_named_beside_the_field_and_in_the_summary(
    client, everything, name, typed, message
):
    token = everything()
    data = {**ANSWERS, name: typed, "consent_store": "y"}
    response = post(client, token, data, button="submit")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'<p class="error" id="{name}-error">{message}</p>' in html
    summary = html.split('id="errors"')[1].split("</div>")[0]
    assert f'href="#{name}"' in summary and message in summary
    # Not submitted: kept as a draft, or (an over-long answer) not saved at all.
    assert all(s.status.value == "draft" for s in db.session.scalars(select(Submission)))


def test_a_conditional_field_says_when_to_answer_it_and_is_ignored_otherwise(client, everything):
    token = everything()
    html = client.get(f"/i/{token}/form").get_data(as_text=True)
    field = re.search(r'<div[^>]*id="institution_block-lots_per_year-field"[^>]*>', html)
    assert 'data-show-if="institution_block-gmp"' in field.group(0)
    assert 'data-show-values="yes"' in field.group(0)
    assert "Answer if GMP manufacturing is Yes." in html
    # gmp is "no": the typed number is dropped, and a wrong one does not block submitting
    data = {
        **ANSWERS,
        "institution_block-gmp": "no",
        "institution_block-lots_per_year": "lots",
        "consent_store": "y",
    }
    assert post(client, token, data, button="submit").status_code == 302
    assert submission().answers["institution"]["lots_per_year"] is None
    assert submission().answers["institution"]["gmp"] == "no"


def test_the_form_speaks_the_page_language_with_the_vocabularies_translations(client, everything):
    german = client.get(f"/i/{everything()}/form?lang=de").get_data(as_text=True)
    assert "CAR-T und andere veränderte Immunzellen" in german
    gmp = german.split('id="institution_block-gmp-field"')[1].split("</fieldset>")[0]
    assert ">Ja</label>" in gmp and ">Yes</label>" not in gmp


def test_the_form_is_prefilled_with_what_the_registry_approved(client, everything):
    institution = db.session.scalars(
        select(Institution).where(Institution.name == INSTITUTION)
    ).one()
    institution.answers = {"gmp": "yes", "lots_per_year": 40, "authorised_on": "2019-01-31"}
    first = min(institution.entries, key=lambda e: e.id)
    first.answers = {"platforms": ["aav"], "partners": ["Fraunhofer ISC"]}
    db.session.commit()
    data = prefilled(client.get(f"/i/{everything()}/form").get_data(as_text=True))
    assert data["institution_block-gmp"] == ["yes"]
    assert data["institution_block-lots_per_year"] == "40"
    assert data["institution_block-authorised_on"] == "2019-01-31"
    assert data["entries-0-platforms"] == ["aav"]
    assert data["entries-0-partners"].strip() == "Fraunhofer ISC"


def test_the_answer_page_and_the_email_show_generic_answers_as_text(client, everything, mailbox):
    token = everything()
    post(client, token, {**ANSWERS, "consent_store": "y"}, button="submit")
    page = client.get(f"/i/{token}/thanks").get_data(as_text=True)
    for shown in ("120 batches", "12.5 m²", "In vivo AAV", "Fraunhofer ISC; University Hospital"):
        assert shown in page
    assert re.search(r"GMP manufacturing</th><td>Yes<", page)
    send_pending()
    email = plain(mailbox.messages[-1])
    assert "Batches per year: 120 batches" in email
    assert "All platforms: CAR-T and other engineered immune cells; In vivo AAV" in email


def test_a_submission_renders_with_its_own_version_after_a_newer_one(client, everything):
    token = everything(1)
    post(client, token, {**ANSWERS, "consent_store": "y"}, button="submit")
    campaign = db.session.scalars(select(Campaign)).one()
    campaign.questionnaire_version = 2  # as if a later version were asked now
    db.session.commit()
    page = client.get(f"/i/{token}/thanks").get_data(as_text=True)
    assert "Cleanroom area" in page and "12.5 m²" in page
    assert "Clinical-trial units" not in page


REQUIRED = """
id = "required"
version = 1
title = "Required (test)"
table1_columns = []

[[sections]]
key = "centre"
title = "Centre"
level = "institution"

  [[sections.fields]]
  key = "gmp"
  label = "GMP manufacturing"
  type = "yes_no_unknown"
  vocabulary = "yes_no_unknown"
  in_table1 = false
  required = true

  [[sections.fields]]
  key = "lots_per_year"
  label = "Batches per year"
  type = "integer"
  in_table1 = false
  required = true
  show_if = { field = "gmp", in = ["yes"] }
"""


@pytest.mark.parametrize(
    ("sent", "errors"),
    [
        ({}, {"gmp": ["Please answer this question."]}),
        ({"gmp": "yes"}, {"lots_per_year": ["Please answer this question."]}),
        ({"gmp": "no"}, {}),
        ({"gmp": "yes", "lots_per_year": "4"}, {}),
    ],
)
def test_a_required_generic_field_is_required_only_while_it_is_asked(app, sent, errors):
    from werkzeug.datastructures import MultiDict

    from surveyapp.definitions import parse_definition
    from surveyapp.questionnaire.forms import questionnaire_form

    definition = parse_definition(REQUIRED)
    data = MultiDict({f"institution_block-{key}": value for key, value in sent.items()})
    with app.test_request_context():
        form = questionnaire_form(definition, formdata=data, meta={"csrf": False})
        form.validate()
        assert form.institution_block.form.errors == errors
