"""Every nomination and public suggestion reaches the coordinators, who turn it into a
contact in one step or dismiss it."""

from __future__ import annotations

import re

from sqlalchemy import select

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Contact, Nomination
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.questionnaire.models import Submission
from surveyapp.vocabulary import NominationStatus, Role
from tests.campaigns.test_views import coordinator
from tests.conftest import AuthActions, csrf_token
from tests.questionnaire.test_widening import SUGGESTION, confirm_suggestion
from tests.review.conftest import visible_text


def shows(page: str, status: str, number: int) -> bool:
    """True when the page's status counts give ``number`` for ``status``."""
    return re.search(rf"\b{status}\s*:\s*{number}\b", page) is not None


def nominate(client, token: str, **fields: str):
    url = f"/i/{token}/nominate"
    response = client.post(url, data={"csrf_token": csrf_token(client, url), **fields})
    assert response.status_code == 200, response.get_data(as_text=True)


def suggest(client) -> None:
    """A public suggestion, confirmed by its sender (only then do coordinators see it)."""
    data = {**SUGGESTION, "csrf_token": csrf_token(client, "/suggest/")}
    assert client.post("/suggest/", data=data).status_code == 200
    confirm_suggestion(
        client, db.session.scalars(select(Submission).order_by(Submission.id.desc())).first()
    )


def test_a_nomination_without_email_and_a_suggestion_are_listed_for_coordinators(
    app, client, invited, make_user, ctx
):
    token = invited(4)
    nominate(client, token, name="Valletta Gene Lab", country="MT", website="www.vgl.example.mt")
    suggest(client)
    staff = coordinator(app, make_user)
    page = visible_text(staff.get("/contacts/nominations").get_data(as_text=True))
    assert "Valletta Gene Lab (MT)" in page and "www.vgl.example.mt" in page
    assert "Nominated by pullig@example.org" in page and "Registry update 2026" in page
    assert "Malta Cell Therapy Unit (MT)" in page and "Public suggestion" in page
    assert "Review: Submitted" in page
    assert shows(page, "New", 2)
    campaigns = staff.get("/campaigns/").get_data(as_text=True)
    assert "2 new" in campaigns
    rates = staff.get("/staff/response-rates/").get_data(as_text=True)
    assert "2 new nominations and suggestions wait for a coordinator." in rates


def test_a_nomination_becomes_a_contact_in_one_step_and_invited_with_it(
    app, client, invited, make_user, campaign, ctx
):
    token = invited(4)
    nominate(client, token, name="Valletta Gene Lab", country="MT", website="www.vgl.example.mt")
    nomination = db.session.scalars(select(Nomination)).one()
    staff = coordinator(app, make_user)
    url = f"/contacts/nominations/{nomination.id}/contact"
    form = staff.get(url).get_data(as_text=True)
    assert 'value="Valletta Gene Lab"' in form and 'value="MT"' in form
    response = staff.post(
        url,
        data={
            "csrf_token": csrf_token(staff, url),
            "email": "Director@VGL.example.mt",
            "name": "Dr. Maria Borg",
            "institution_name": "Valletta Gene Lab",
            "country": "MT",
            "language": "en",
            "active": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    contact = db.session.scalars(
        select(Contact).where(Contact.email == "director@vgl.example.mt")
    ).one()
    assert (contact.name, contact.country_code, contact.active) == ("Dr. Maria Borg", "MT", True)
    assert (nomination.status, nomination.contact_id) == (
        NominationStatus.CONTACT_CREATED,
        contact.id,
    )
    assert nomination.decided_by == "coord@example.org"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "nomination.contact")
    ).one()
    assert (event.actor, event.target_id) == ("coord@example.org", nomination.id)
    listed = visible_text(staff.get("/contacts/nominations").get_data(as_text=True))
    assert shows(listed, "Contact created", 1) and shows(listed, "New", 0)

    service.invite(campaign, actor="test")
    db.session.commit()
    db.session.refresh(nomination)
    assert nomination.status == NominationStatus.INVITED
    invited_only = staff.get("/contacts/nominations?status=invited").get_data(as_text=True)
    assert "Valletta Gene Lab" in invited_only
    assert "Valletta Gene Lab" not in staff.get("/contacts/nominations?status=new").get_data(
        as_text=True
    )


def test_a_suggestion_becomes_a_contact_and_another_is_dismissed(
    app, client, table1, make_user, ctx
):
    suggest(client)
    suggest(client)
    first, second = (item.id for item in _suggestions())
    staff = coordinator(app, make_user)
    url = f"/contacts/nominations/{first}/contact"
    form = staff.get(url).get_data(as_text=True)
    assert 'value="ann@example.org"' in form and 'value="Malta Cell Therapy Unit"' in form
    data = {
        "csrf_token": csrf_token(staff, url),
        "email": "ann@example.org",
        "name": "Ann Example",
        "institution_name": "Malta Cell Therapy Unit",
        "country": "MT",
        "language": "en",
        "active": "y",
    }
    assert staff.post(url, data=data).status_code == 302
    listing = "/contacts/nominations"
    dismissed = staff.post(
        f"/contacts/nominations/{second}/dismiss",
        data={"csrf_token": csrf_token(staff, listing)},
    )
    assert dismissed.status_code == 302
    statuses = {item.id: item.status for item in _suggestions()}
    assert statuses == {
        first: NominationStatus.CONTACT_CREATED,
        second: NominationStatus.DISMISSED,
    }
    page = visible_text(staff.get(listing).get_data(as_text=True))
    assert (
        shows(page, "New", 0) and shows(page, "Dismissed", 1) and shows(page, "Contact created", 1)
    )
    again = staff.post(url, data=data)
    assert "already created" in staff.get(again.headers["Location"]).get_data(as_text=True)


def test_only_coordinators_and_admins_see_nominations(app, make_user, ctx):
    make_user("cura@example.org", Role.CURATOR)
    curator = AuthActions(app.test_client())
    curator.login("cura@example.org")
    assert curator.client.get("/contacts/nominations").status_code == 403


def _suggestions():
    from surveyapp.campaigns.nominations import nominated_facilities

    return sorted(
        (item for item in nominated_facilities() if item.kind == "suggestion"),
        key=lambda item: item.id,
    )


def test_the_staff_navigation_counts_new_nominations_for_coordinators(
    app, client, table1, make_user, ctx
):
    suggest(client)
    staff = coordinator(app, make_user)
    navigation = visible_text(staff.get("/staff/dashboard/").get_data(as_text=True))
    assert "Nominations 1 new" in navigation
    make_user("cura@example.org", Role.CURATOR)
    curator = AuthActions(app.test_client())
    curator.login("cura@example.org")
    assert "Nominations" not in curator.client.get("/staff/dashboard/").get_data(as_text=True)
