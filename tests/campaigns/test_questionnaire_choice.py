"""A campaign chooses the questionnaire version it asks when it is created, and keeps it."""

from __future__ import annotations

from datetime import date

import pytest

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Campaign
from surveyapp.extensions import db
from tests.campaigns.test_views import coordinator
from tests.conftest import csrf_token


def test_the_command_line_creates_a_campaign_on_a_chosen_version(runner, ctx, test_questionnaires):
    result = runner.invoke(
        args=[
            "campaigns",
            "create",
            "Capacity",
            "--closes",
            "2027-03-31",
            "--questionnaire",
            "everything-v2",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "asking everything-v2" in result.output
    campaign = service.find_campaign("Capacity")
    assert (campaign.questionnaire_id, campaign.questionnaire_version) == ("everything", 2)


def test_the_default_is_table1_v1_and_an_unknown_version_is_refused(runner, ctx):
    created = service.create_campaign("Plain", date(2027, 3, 31), actor="test")
    assert (created.questionnaire_id, created.questionnaire_version) == ("table1", 1)
    with pytest.raises(service.CampaignError, match="table9-v1"):
        service.create_campaign("Odd", date(2027, 3, 31), actor="test", questionnaire="table9-v1")
    refused = runner.invoke(
        args=["campaigns", "create", "Odd", "--closes", "2027-03-31", "--questionnaire", "x"]
    )
    assert refused.exit_code != 0 and "No usable questionnaire" in refused.output


def test_the_campaign_form_offers_every_version_and_the_edit_form_none(
    app, make_user, ctx, test_questionnaires
):
    staff = coordinator(app, make_user)
    page = staff.get("/campaigns/new").get_data(as_text=True)
    for name in ("table1-v1", "everything-v1", "everything-v2"):
        assert f'value="{name}"' in page
    form = {
        "csrf_token": csrf_token(staff, "/campaigns/new"),
        "name": "Second round",
        "questionnaire": "everything-v1",
        "opens_on": "2026-12-01",
        "closes_on": "2027-02-28",
        "sender_name": "Registry",
        "sender_email": "registry@example.org",
        "default_language": "en",
        "remind_after_days": "7",
        "max_reminders": "2",
        **{key: value for key, value in service.email_templates.DEFAULTS.items()},
    }
    response = staff.post("/campaigns/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    campaign = db.session.query(Campaign).filter_by(name="Second round").one()
    assert (campaign.questionnaire_id, campaign.questionnaire_version) == ("everything", 1)
    edit = staff.get(f"/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert 'name="questionnaire"' not in edit
