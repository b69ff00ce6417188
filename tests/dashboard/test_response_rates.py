"""Coordinators' response rates: the funnel of a hand-built campaign, its breakdowns,
responses per day, non-responders, addresses to fix and the table across campaigns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation
from surveyapp.dashboard import service
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.vocabulary import InvitationStatus, Role
from tests.conftest import csrf_token, institution_of_row


@pytest.fixture
def hand_built(campaign, make_contact):
    """Five invitations: 4 sent (1 bounced), 3 opened, 2 started, 2 submitted on two days,
    1 approved. Contacts: three German-speaking for German rows, two English for Italy."""
    specs = [
        ("a@example.org", 9, "de"),
        ("b@example.org", 12, "de"),
        ("c@example.org", 13, "de"),
        ("d@example.org", 24, "en"),
        ("e@example.org", 30, "en"),
    ]
    for email, row, language in specs:
        contact = make_contact(email, row)
        contact.language = language
    db.session.commit()
    campaigns.invite(campaign, actor="test")
    invitations = {
        i.contact.email: i
        for i in db.session.scalars(select(Invitation).where(Invitation.campaign_id == campaign.id))
    }
    now = utcnow()
    yesterday = now - timedelta(days=1)
    for email in ("a@example.org", "b@example.org", "c@example.org", "d@example.org"):
        campaigns.set_status(invitations[email], InvitationStatus.SENT, at=yesterday)
    campaigns.mark_bounced([invitations["d@example.org"]], "550 no such user", actor="test")
    for email in ("a@example.org", "b@example.org", "c@example.org"):
        campaigns.set_status(invitations[email], InvitationStatus.OPENED, at=yesterday)
    for email in ("a@example.org", "b@example.org"):
        campaigns.set_status(invitations[email], InvitationStatus.STARTED, at=yesterday)
    campaigns.set_status(invitations["a@example.org"], InvitationStatus.SUBMITTED, at=yesterday)
    campaigns.set_status(invitations["b@example.org"], InvitationStatus.SUBMITTED, at=now)
    campaigns.set_status(invitations["a@example.org"], InvitationStatus.APPROVED, at=now)
    db.session.commit()
    return campaign


def test_the_funnel_of_a_hand_built_campaign(hand_built):
    funnel = service.funnel(hand_built)
    assert funnel.counts == {
        "invited": 5,
        "delivered": 3,
        "opened": 3,
        "started": 2,
        "submitted": 2,
        "approved": 1,
    }
    assert funnel.rate("submitted") == pytest.approx(0.4)


def test_the_funnel_by_country_and_language(hand_built):
    figures = service.funnels(hand_built)
    by_country = dict(figures.by_country)
    assert set(by_country) == {"DE", "IT"}
    assert by_country["DE"].counts["invited"] == 3
    assert by_country["DE"].counts["submitted"] == 2
    assert by_country["IT"].counts == {
        "invited": 2,
        "delivered": 0,
        "opened": 0,
        "started": 0,
        "submitted": 0,
        "approved": 0,
    }
    by_language = dict(figures.by_language)
    assert by_language["de"].counts["opened"] == 3
    assert by_language["en"].counts["invited"] == 2


def test_responses_per_day(hand_built):
    today = utcnow().date()
    assert service.responses_per_day(hand_built) == [
        (today - timedelta(days=1), 1),
        (today, 1),
    ]


def test_non_responders_and_addresses_to_fix(hand_built):
    assert service.non_responder_count(hand_built) == 1  # c: sent, opened, not started
    fix = service.undeliverable(hand_built)
    assert [i.contact.email for i in fix] == ["d@example.org"]


def test_the_campaign_page_shows_it_all(client, make_user, auth, hand_built):
    make_user("coordinator@example.org", Role.COORDINATOR)
    auth.login("coordinator@example.org")
    page = client.get(f"/staff/response-rates/{hand_built.id}").get_data(as_text=True)
    assert "Delivered" in page and "60%" in page  # 3 of 5 delivered
    assert "Germany" in page and "Italy" in page
    assert "d@example.org" in page
    assert f"/campaigns/{hand_built.id}/remind" in page
    assert "1 invitation can be reminded now." in page
    overview = client.get("/staff/response-rates/").get_data(as_text=True)
    assert hand_built.name in overview
    assert "40%" in overview  # submitted 2 of 5


def test_curators_do_not_see_response_rates(client, staff, hand_built):
    assert client.get(f"/staff/response-rates/{hand_built.id}").status_code == 403


def test_reaching_an_institution_invites_then_reminds(
    client, make_user, auth, campaign, make_contact
):
    from tests.forms import form_values

    stale = service.most_stale()[0]
    make_contact("lab@example.org", stale.source_row)
    institution = stale.institution
    make_user("coordinator@example.org", Role.COORDINATOR)
    auth.login("coordinator@example.org")
    page = client.get("/staff/dashboard/").get_data(as_text=True)
    action = f"/staff/response-rates/institutions/{institution.id}/reach"
    values = form_values(page, action)
    assert values["campaign"] == str(campaign.id)
    assert client.post(action, data=values).status_code == 302
    invitation = db.session.scalars(
        select(Invitation).where(Invitation.institution_id == institution.id)
    ).one()
    campaigns.set_status(invitation, InvitationStatus.SENT, at=utcnow())
    db.session.commit()
    client.post(action, data=values)
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).reminders_sent == 1


def test_reaching_an_institution_without_contact_says_what_to_do(client, make_user, auth, campaign):
    institution = institution_of_row(4)
    make_user("coordinator@example.org", Role.COORDINATOR)
    auth.login("coordinator@example.org")
    response = client.post(
        f"/staff/response-rates/institutions/{institution.id}/reach",
        data={
            "campaign": str(campaign.id),
            "csrf_token": csrf_token(client, "/staff/dashboard/"),
        },
        follow_redirects=True,
    )
    assert "has no confirmed contact yet" in response.get_data(as_text=True)
