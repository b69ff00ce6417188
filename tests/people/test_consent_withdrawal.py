"""Withdrawing the consent to publish from the confirmation email or the thanks page: a GET
shows the button, the POST hides the contact at once; a bad link gets the one 404 page."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.questionnaire.models import Submission
from surveyapp.registry.models import Entry
from tests.conftest import csrf_token
from tests.people.conftest import EMAIL


def without_csrf_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


def shown_entries() -> list[Entry]:
    db.session.expire_all()
    return db.session.scalars(
        select(Entry).where(Entry.contact_email == EMAIL, Entry.contact_public)
    ).all()


def test_the_emailed_link_withdraws_the_consent_at_once(client, journey):
    assert len(shown_entries()) == 3
    path = journey.withdrawal_link.split("127.0.0.1:5000", 1)[-1]
    page = client.get(path)
    assert page.status_code == 200
    assert "Withdraw my consent" in page.get_data(as_text=True)
    assert len(shown_entries()) == 3, "a GET changes nothing"

    done = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert done.status_code == 200
    assert "Consent withdrawn" in done.get_data(as_text=True)
    assert shown_entries() == []
    submission = db.session.get(Submission, journey.submission_id)
    assert submission.consent_publish is False
    assert not any(v.consent_publish for v in submission.versions)
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "people.consent_withdrawn")
    ).one()


def test_the_thanks_page_links_to_the_withdrawal(client, journey):
    html = client.get(f"/i/{journey.token}/thanks").get_data(as_text=True)
    assert f"/i/{journey.token}/withdraw-consent" in html
    path = f"/i/{journey.token}/withdraw-consent"
    assert client.post(path, data={"csrf_token": csrf_token(client, path)}).status_code == 200
    assert shown_entries() == []


def test_a_bad_token_gets_the_same_404_as_other_bad_links(app, journey):
    client = app.test_client()  # a visitor, not the logged-in curator
    bad = "x" * 43
    invalid = client.get(f"/i/{bad}")
    assert invalid.status_code == 404
    for response in (
        client.get(f"/i/{bad}/withdraw-consent"),
        client.post(f"/i/{bad}/withdraw-consent", data={"csrf_token": csrf_token(client)}),
    ):
        assert response.status_code == 404
        assert without_csrf_tokens(response.get_data(as_text=True)) == without_csrf_tokens(
            invalid.get_data(as_text=True)
        )
    assert len(shown_entries()) == 3


def test_the_privacy_notice_states_the_retention_and_whom_to_ask(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PRIVACY_CONTACT", "dpo@registry.example.org")
    monkeypatch.setitem(app.config, "RETENTION_DRAFT_DAYS", 123)
    monkeypatch.setitem(app.config, "RETENTION_CONTACT_CAMPAIGNS", 4)
    html = client.get("/privacy").get_data(as_text=True)
    assert "dpo@registry.example.org" in html
    assert "after 123 days" in html and "after 4 closed campaigns" in html
    assert 'href="/privacy"' in client.get("/").get_data(as_text=True)


def test_the_link_withdraws_after_the_invitation_expired_but_not_once_revoked(client, journey):
    invitation = db.session.get(Invitation, journey.invitation_id)
    invitation.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    path = f"/i/{journey.token}/withdraw-consent"
    assert client.get(f"/i/{journey.token}").status_code == 404
    assert client.get(path).status_code == 200
    assert client.post(path, data={"csrf_token": csrf_token(client, path)}).status_code == 200
    assert shown_entries() == []

    campaigns.revoke(db.session.get(Invitation, journey.invitation_id), actor="test")
    db.session.commit()
    assert client.get(path).status_code == 404
