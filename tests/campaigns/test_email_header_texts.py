"""Texts that emails carry in a header (a campaign's name and sender name, subjects, a
contact's name) are one line: a line break refused at input, rather than every email of
the campaign failing for good when it is sent (issue 17)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Campaign, Contact, Nomination
from surveyapp.campaigns.service import CampaignError
from surveyapp.extensions import db
from tests.campaigns.test_views import coordinator
from tests.conftest import csrf_token, write_csv


@pytest.mark.parametrize(
    "settings",
    [
        {"sender_name": "Registry team\nBcc: everyone@example.org"},
        {"sender_name": "Registry team\r"},
        {"sender_name": "Registry\u2028team"},
        {"sender_name": "Registry\x85team"},
        {"sender_name": "Registry\x0bteam"},
        {"invitation_subject": "Hello\nBcc: everyone@example.org"},
        {"reminder_subject": "Reminder\r\n"},
    ],
)
def test_a_campaign_with_a_line_break_in_a_header_text_is_refused(table1, ctx, settings):
    with pytest.raises((CampaignError, ValueError), match="line"):
        service.create_campaign("Spring", date(2099, 1, 31), actor="test", **settings)
    with pytest.raises(CampaignError, match="one line"):
        service.create_campaign("Spring\nround", date(2099, 1, 31), actor="test")


def test_an_existing_campaign_cannot_take_a_line_break_either(campaign):
    with pytest.raises(CampaignError, match="sender name must be one line"):
        service.update_campaign(campaign, actor="test", sender_name="Team\nX-Evil: 1")
    assert campaign.sender_name == "ATMP facility registry"


def test_the_campaign_form_shows_the_line_break_beside_the_field(app, make_user, ctx):
    client = coordinator(app, make_user)
    page = client.get("/campaigns/new").get_data(as_text=True)
    assert "Sender name" in page
    response = client.post(
        "/campaigns/new",
        data={
            "csrf_token": csrf_token(client, "/campaigns/new"),
            "name": "Spring round",
            "opens_on": "2026-11-22",
            "closes_on": "2099-01-31",
            "sender_name": "Registry team\nBcc: everyone@example.org",
            "sender_email": "team@example.org",
            "default_language": "en",
            "remind_after_days": "7",
            "max_reminders": "2",
            "invitation_subject": "Hello {{ person }}",
            "invitation_text": "{{ link }}",
            "invitation_html": "<p>{{ link }}</p>",
            "reminder_subject": "Reminder",
            "reminder_text": "{{ link }}",
            "reminder_html": "<p>{{ link }}</p>",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This must be one line: remove the line break." in page
    assert "Spring round" in page  # what was typed is kept
    assert db.session.scalars(select(Campaign)).first() is None


def test_a_contact_name_with_a_line_break_is_refused_by_hand_and_by_import(
    table1, runner, tmp_path, ctx
):
    with pytest.raises(CampaignError, match="one line"):
        service.upsert_contact("a@example.org", source="test", name="Dr A\nBcc: x@example.org")
    path = write_csv(
        tmp_path / "contacts.csv",
        ["institution", "contact_person", "email", "country"],
        [
            ["Centre A", "Dr Good", "good@example.org", "Germany"],
            ["Centre B", "Dr Bad\nBcc: x@example.org", "bad@example.org", "Germany"],
            ["Centre\nC", "Dr Other", "other@example.org", "Germany"],
        ],
    )
    result = runner.invoke(args=["contacts", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 contact imported" in result.output
    assert "contact_person: holds a line break" in result.output
    assert "institution: holds a line break" in result.output
    emails = set(db.session.scalars(select(Contact.email)))
    assert emails == {"good@example.org"}


def test_a_nominated_facility_with_a_line_break_becomes_one_line(client, invited, ctx):
    token = invited(4)
    url = f"/i/{token}/nominate"
    data = {
        "csrf_token": csrf_token(client, url),
        "name": "Valletta\nGene Lab",
        "country": "MT",
        "contact_email": "lab@example.mt",
    }
    assert client.post(url, data=data).status_code == 200
    nomination = db.session.scalars(select(Nomination)).one()
    assert nomination.name == "Valletta Gene Lab"
    contact = db.session.get(Contact, nomination.contact_id)
    assert contact.institution_name == "Valletta Gene Lab"  # a contact, one line
