"""Coordinator pages: campaigns, invitations with status filters and actions, previews."""

from __future__ import annotations

from sqlalchemy import select

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Campaign, Contact, Invitation
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.vocabulary import InvitationStatus, Role
from tests.conftest import AuthActions, csrf_token


def coordinator(app, make_user):
    make_user("coord@example.org", Role.COORDINATOR)
    actions = AuthActions(app.test_client())
    actions.login("coord@example.org")
    return actions.client


def test_a_coordinator_creates_a_campaign_and_template_errors_are_explained(app, make_user, ctx):
    client = coordinator(app, make_user)
    form = client.get("/campaigns/new").get_data(as_text=True)
    assert "Dear {{ person }}" in form
    data = {
        "csrf_token": csrf_token(client, "/campaigns/new"),
        "name": "Spring round",
        "opens_on": "2026-11-22",
        "closes_on": "2099-01-31",
        "sender_name": "Registry team",
        "sender_email": "team@example.org",
        "default_language": "en",
        "remind_after_days": "7",
        "max_reminders": "2",
        "invitation_subject": "Hello {{ nobody }}",
        "invitation_text": "{{ link }}",
        "invitation_html": "<p>{{ link }}</p>",
        "reminder_subject": "Reminder",
        "reminder_text": "{{ link }}",
        "reminder_html": "<p>{{ link }}</p>",
    }
    response = client.post("/campaigns/new", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "invitation_subject: &#39;nobody&#39; is undefined" in page
    assert "Spring round" in page  # what was typed is kept
    data["invitation_subject"] = "Hello {{ person }}"
    response = client.post("/campaigns/new", data=data)
    assert response.status_code == 302
    campaign = db.session.scalars(select(Campaign)).one()
    assert (campaign.name, campaign.sender_email) == ("Spring round", "team@example.org")


def test_the_campaign_page_counts_filters_and_acts(app, campaign, make_contact, make_user, mailbox):
    make_contact("a@example.org", 3)
    make_contact("b@example.org", 4)
    service.invite(campaign, actor="test")
    db.session.commit()
    send_pending()
    first, second = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
    service.set_status(second, InvitationStatus.SUBMITTED)
    db.session.commit()
    client = coordinator(app, make_user)
    url = f"/campaigns/{campaign.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Sent</a>: 1" in page and "Submitted</a>: 1" in page
    unanswered = client.get(f"{url}?status=unanswered").get_data(as_text=True)
    assert "a@example.org" in unanswered and "b@example.org" not in unanswered
    detail = f"{url}/invitations/{first.id}"
    token = csrf_token(client, detail)
    client.post(f"{detail}/bounced", data={"csrf_token": token})
    db.session.refresh(first)
    assert first.status == InvitationStatus.BOUNCED
    client.post(f"{detail}/revoke", data={"csrf_token": token})
    db.session.refresh(first)
    assert first.revoked_at is not None
    response = client.post(f"{detail}/resend", data={"csrf_token": token})
    assert "revoked or expired" in client.get(response.headers["Location"]).get_data(as_text=True)
    timeline = client.get(detail).get_data(as_text=True)
    assert "Queued" in timeline and "Bounced" in timeline


def test_an_invitation_of_another_campaign_is_not_found(app, campaign, make_contact, make_user):
    make_contact("a@example.org", 3)
    service.invite(campaign, actor="test")
    other = service.create_campaign("Other", campaign.closes_on, actor="test")
    db.session.commit()
    invitation = db.session.scalars(select(Invitation)).one()
    client = coordinator(app, make_user)
    assert client.get(f"/campaigns/{other.id}/invitations/{invitation.id}").status_code == 404


def test_the_preview_shows_a_real_contacts_email(app, campaign, make_contact, make_user):
    contact = make_contact("svane@example.org", 4, name="Dr. Inge Marie Svane")
    client = coordinator(app, make_user)
    page = client.get(f"/campaigns/{campaign.id}/preview?contact_id={contact.id}").get_data(
        as_text=True
    )
    assert "Dear Dr. Inge Marie Svane" in page
    assert "National Center for Cancer Immune Therapy" in page


def test_contacts_are_added_by_hand_with_their_problems_explained(app, table1, make_user, ctx):
    client = coordinator(app, make_user)
    token = csrf_token(client, "/contacts/")
    response = client.post(
        "/contacts/",
        data={
            "csrf_token": token,
            "email": "x@example.org",
            "country": "Atlantis",
            "language": "en",
        },
    )
    assert response.status_code == 400
    assert "no country is named &#39;Atlantis&#39;" in response.get_data(as_text=True)
    response = client.post(
        "/contacts/",
        data={
            "csrf_token": token,
            "email": "someone@ior.it",
            "name": "Some One",
            "institution_name": "Rizzoli",
            "country": "Italy",
            "language": "it",
        },
    )
    assert response.status_code == 302
    contact = db.session.scalars(select(Contact)).one()
    assert contact.country_code == "IT"
    assert len(contact.links) == 3  # the three ior.it institutions, proposed


def test_contacts_are_imported_through_the_page(app, table1, make_user, ctx):
    import io

    client = coordinator(app, make_user)
    body = "email,contact_person,country\nok@example.org,Ok,FR\nbroken,Broken,FR\n"
    response = client.post(
        "/contacts/import",
        data={
            "csrf_token": csrf_token(client, "/contacts/"),
            "file": (io.BytesIO(body.encode()), "contacts.csv"),
        },
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert "1 imported" in page
    assert "1 row skipped" in page and "An email address must have an @-sign." in page
