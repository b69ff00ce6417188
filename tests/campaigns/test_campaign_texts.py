"""Invitation and reminder texts per language: each contact gets their language's texts,
else the campaign's default language's."""

from __future__ import annotations

from sqlalchemy import select

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Campaign, CampaignTexts
from surveyapp.campaigns.templates import DEFAULTS
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from tests.campaigns.test_invitations import html, plain
from tests.campaigns.test_views import coordinator
from tests.conftest import csrf_token, institution_of_row

ENGLISH = ("Dear", "Please answer", "Open your personal link", "January", "You received this")


def crlf(text: str) -> str:
    """Text as a browser sends a textarea's content."""
    return text.replace("\n", "\r\n")


def create_through_the_web(client, **changes: str) -> Campaign:
    data = {
        "csrf_token": csrf_token(client, "/campaigns/new"),
        "name": "Winter round",
        "opens_on": "2026-01-01",
        "closes_on": "2027-01-15",
        "sender_name": "Registry team",
        "sender_email": "team@example.org",
        "default_language": "en",
        "remind_after_days": "7",
        "max_reminders": "2",
        **{name: crlf(text) for name, text in DEFAULTS.items()},
        **changes,
    }
    response = client.post("/campaigns/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalars(select(Campaign).where(Campaign.name == "Winter round")).one()


def contact_in(language: str, email: str, row: int):
    contact, _ = service.upsert_contact(email, source="test", name="Dr. Test", language=language)
    service.link_contact(contact, institution_of_row(row), service.LinkStatus.CONFIRMED)
    db.session.commit()
    return contact


def text_of(message) -> str:
    """The plain-text part with the transport's CRLF line endings read as LF."""
    return plain(message).replace("\r\n", "\n")


def mail_to(mailbox, address: str):
    return next(m for m in mailbox.messages if m["To"].addresses[0].addr_spec == address)


def test_a_campaign_made_in_the_browser_sends_a_german_contact_a_fully_german_email(
    app, table1, make_user, mailbox, ctx
):
    client = coordinator(app, make_user)
    campaign = create_through_the_web(client)
    contact_in("de", "svane@example.org", 4)
    service.invite(campaign, actor="test")
    db.session.commit()
    assert send_pending().sent == 1
    message = mail_to(mailbox, "svane@example.org")
    assert (
        message["Subject"] == "Bitte bestätigen Sie Ihre ATMP-Einrichtung im europäischen Register"
    )
    for part in (plain(message), html(message)):
        assert "Guten Tag Dr. Test" in part
        assert "15. Januar 2027" in part
        for english in ENGLISH:
            assert english not in part, (english, part)


def test_each_contact_gets_their_languages_texts_else_the_default_languages(
    app, table1, make_user, mailbox, ctx
):
    client = coordinator(app, make_user)
    campaign = create_through_the_web(
        client,
        invitation_subject="Winter round: {{ institution }}",
        invitation_text=crlf("Hello {{ person }},\nplease answer by {{ deadline }}: {{ link }}\n"),
    )
    url = f"/campaigns/{campaign.id}/texts/de"
    editor = client.get(url).get_data(as_text=True)
    assert "Bitte bestätigen Sie Ihre ATMP-Einrichtung" in editor  # starts from the catalogue
    german = {
        "csrf_token": csrf_token(client, url),
        "invitation_subject": "Winterrunde: {{ institution }}",
        "invitation_text": crlf("Hallo {{ person }},\nbitte bis {{ deadline }}: {{ link }}\n"),
        "invitation_html": crlf('<p>Hallo {{ person }}, <a href="{{ link }}">Link</a></p>'),
        "reminder_subject": "Erinnerung",
        "reminder_text": "{{ link }}",
        "reminder_html": "<p>{{ link }}</p>",
    }
    assert client.post(url, data=german).status_code == 302
    row = db.session.scalars(select(CampaignTexts)).one()
    assert (row.language, row.updated_by) == ("de", "coord@example.org")
    assert "\r" not in row.invitation_text

    contact_in("de", "german@example.org", 4)
    contact_in("fr", "french@example.org", 3)
    contact_in("en", "english@example.org", 5)
    service.invite(campaign, actor="test")
    db.session.commit()
    assert send_pending().sent == 3

    to_german = mail_to(mailbox, "german@example.org")
    assert to_german["Subject"].startswith("Winterrunde: ")
    assert "Hallo Dr. Test,\nbitte bis 15. Januar 2027: http" in text_of(to_german)
    assert "You received" not in text_of(to_german)
    for address in ("french@example.org", "english@example.org"):
        message = mail_to(mailbox, address)
        assert message["Subject"].startswith("Winter round: ")
        assert "Hello Dr. Test,\nplease answer by January 15, 2027: http" in text_of(message)

    page = client.get(f"/campaigns/{campaign.id}/texts/en").get_data(as_text=True)
    assert "Hello {{ person }}" in page and f"/campaigns/{campaign.id}/texts/de" in page


def test_a_template_error_in_one_language_is_explained_and_nothing_saved(
    app, campaign, make_user, ctx
):
    client = coordinator(app, make_user)
    url = f"/campaigns/{campaign.id}/texts/de"
    data = {
        "csrf_token": csrf_token(client, url),
        **DEFAULTS,
        "invitation_subject": "Hallo {{ niemand }}",
    }
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "&#39;niemand&#39; is undefined" in response.get_data(as_text=True)
    assert db.session.scalars(select(CampaignTexts)).all() == []
