"""Saving a draft holds the same length limits as submitting: an over-long answer stores
nothing, keeps everything typed on the page and says beside the field what to shorten.

An outside test stored 2 MB in a 200-character field by pressing "Save" instead of
"Submit". The whole save is refused rather than the one field left out, so the draft never
holds part of what the page shows: the respondent reads that nothing was saved, with every
value still in the form, shortens the answer and saves again. Nominations and public
suggestions were already checked before anything is stored; their tests are here too.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.campaigns.models import Nomination
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.questionnaire.models import Submission
from tests.conftest import csrf_token
from tests.questionnaire.test_form import post, prefilled
from tests.questionnaire.test_widening import SUGGESTION
from tests.respondent.test_questionnaire_pages import the_invitation

REFUSED = "Nothing was saved yet: some answers are longer than allowed."
TWO_MB = "x" * (2 * 1024 * 1024)


def submissions() -> list[Submission]:
    db.session.expire_all()
    return list(db.session.scalars(select(Submission)))


@pytest.mark.parametrize("button", ["save", "add_entry", "submit"])
def test_an_over_long_answer_stops_every_save_and_keeps_what_was_typed(client, invited, button):
    token = invited(9)
    response = post(
        client,
        token,
        {
            "entries-0-diseases_targeted_add": TWO_MB,  # a 200-character field
            "entries-0-patients_treated": "95",
            "consent_store": "y",
        },
        button=button,
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert REFUSED in html
    assert "Field cannot be longer than 200 characters." in html
    kept = prefilled(html)
    assert kept["entries-0-diseases_targeted_add"] == TWO_MB
    assert kept["entries-0-patients_treated"] == "95"
    assert kept["consent_store"] == ["y"]
    assert submissions() == []  # not even an empty draft


def test_an_earlier_draft_stays_as_it_was_saved(client, invited):
    token = invited(9)
    assert post(client, token, {"entries-0-patients_treated": "95"}).status_code == 200
    response = post(
        client,
        token,
        {"entries-0-patients_treated": "96", "entries-0-contact_person": "P" * 301},
    )
    assert response.status_code == 400
    assert "Field cannot be longer than 300 characters." in response.get_data(as_text=True)
    (draft,) = submissions()
    fields = draft.answers["entries"][0]["fields"]
    assert fields["patients_treated"]["estimate"] == 95
    assert fields["contact_person"] != "P" * 301


def test_the_length_message_speaks_each_respondents_language(app, invited):
    """WTForms' own messages come from its catalogue in the page's language, read once
    per language, and one respondent's language never leaks into the next one's page."""
    german, english = app.test_client(), app.test_client()
    link = invited(9)
    german.get(f"/i/{link}/form?lang=de")
    long_name = {"entries-0-contact_person": "P" * 301}
    for _round in range(2):
        in_german = post(german, link, long_name).get_data(as_text=True)
        in_english = post(english, link, long_name).get_data(as_text=True)
        assert "Feld kann nicht länger als 300 Zeichen sein." in in_german
        assert "Field cannot be longer than 300 characters." in in_english
        assert "Feld kann nicht" not in in_english


def test_a_generic_text_over_its_length_stops_the_save(client, v2_link):
    """A generic field used to be stored as empty when too long, losing the earlier answer."""
    response = post(client, v2_link, {"institution_block-city": "D" * 201})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert REFUSED in html
    assert "This may have at most 200 characters; it has 201." in html
    assert prefilled(html)["institution_block-city"] == "D" * 201
    assert submissions() == []


def test_a_length_within_the_limit_is_saved_as_before(client, invited):
    token = invited(9)
    response = post(client, token, {"entries-0-diseases_targeted_add": "d" * 200})
    assert response.status_code == 200
    (draft,) = submissions()
    assert "d" * 200 in draft.answers["entries"][0]["fields"]["diseases_targeted"]


def test_an_over_long_answer_after_the_link_closed_keeps_no_late_draft(client, invited):
    token = invited(9)
    invitation = the_invitation()
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = client.post(
        f"/i/{token}/form",
        data={
            "csrf_token": csrf_token(client, "/suggest/"),  # the session's token
            "institution_block-institution": "I" * 501,
            "save": "y",
        },
    )
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)
    assert submissions() == []


def test_an_over_long_nomination_stores_nothing_and_keeps_the_input(client, invited):
    token = invited(4)
    url = f"/i/{token}/nominate"
    response = client.post(
        url, data={"csrf_token": csrf_token(client, url), "name": "N" * 501, "country": "MT"}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Field cannot be longer than 500 characters." in html
    assert "N" * 501 in html
    assert db.session.scalar(select(func.count(Nomination.id))) == 0


def test_an_over_long_suggestion_stores_nothing_and_keeps_the_input(client, table1, ctx):
    data = {**SUGGESTION, "note": TWO_MB, "csrf_token": csrf_token(client, "/suggest/")}
    response = client.post("/suggest/", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Field cannot be longer than 5000 characters." in html
    assert TWO_MB in html
    assert submissions() == []
    assert db.session.scalar(select(func.count(Nomination.id))) == 0
