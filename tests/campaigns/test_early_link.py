"""A link opened before its campaign's opening day says when the survey opens, and nothing
else happens; opting out works at any time."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import db
from tests.campaigns.test_opening_date import later_campaign
from tests.conftest import csrf_token


def early_token(make_contact) -> str:
    campaign = later_campaign()
    make_contact("svane@example.org", 4)
    service.invite(campaign, actor="test")
    invitation = db.session.scalars(select(Invitation)).one()
    token = service.mint_token(invitation)
    db.session.commit()
    return token


def test_a_link_opened_early_says_when_the_survey_opens(client, table1, make_contact):
    token = early_token(make_contact)
    for path in (f"/i/{token}", f"/i/{token}/form", f"/i/{token}/nominate"):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert "This survey opens on" in page and "2030" in page, path
        assert "Nothing has changed" not in page and 'name="submit"' not in page, path


def test_nothing_is_recorded_before_the_opening_day(client, table1, make_contact):
    token = early_token(make_contact)
    response = client.post(f"/i/{token}/start", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 200
    assert "This survey opens on" in response.get_data(as_text=True)
    assert db.session.scalars(select(Invitation)).one().opened_at is None


def test_opting_out_works_before_the_opening_day(client, table1, make_contact):
    token = early_token(make_contact)
    page = client.get(f"/i/{token}/opt-out")
    assert page.status_code == 200
    assert "This survey opens on" not in page.get_data(as_text=True)
    assert service.campaign_not_open_yet(service.find_campaign("Round 2030")) == date(2030, 3, 1)
