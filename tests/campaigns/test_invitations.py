"""Invitations: one per campaign, contact and institution; personal links by real email."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, text

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Invitation, InvitationToken
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.vocabulary import InvitationStatus

LINK = re.compile(r"http://127\.0\.0\.1:\d+/i/([A-Za-z0-9_-]{43})(?![/A-Za-z0-9_-])")


def plain(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def tokens_in(message) -> list[str]:
    return list(dict.fromkeys(LINK.findall(plain(message))))


def invite_and_send(campaign) -> None:
    service.invite(campaign, actor="test")
    db.session.commit()
    report = send_pending()
    assert report.failed == 0, report.summary()


def test_the_invitation_arrives_with_both_parts_headers_and_a_working_link(
    campaign, make_contact, mailbox, client
):
    make_contact("svane@example.org", 4, name="Dr. Inge Marie Svane")
    invite_and_send(campaign)
    (message,) = mailbox.messages
    assert message["To"].addresses[0].addr_spec == "svane@example.org"
    assert message["To"].addresses[0].display_name == "Dr. Inge Marie Svane"
    assert message["Reply-To"] == "team@example.org"
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith(">")
    assert message.is_multipart()
    assert {p.get_content_type() for p in message.iter_parts()} == {"text/plain", "text/html"}
    unsubscribe = message["List-Unsubscribe"]
    assert "<mailto:" in unsubscribe and "<http://127.0.0.1:5000/i/" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Dear Dr. Inge Marie Svane" in plain(message)
    assert "National Center for Cancer Immune Therapy" in plain(message)
    assert "/opt-out" in plain(message) and "Stop these emails" in html(message)
    (token,) = tokens_in(message)
    page = client.get(f"/i/{token}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Registry update 2026" in body and "National Center for Cancer Immune" in body
    assert page.headers["Referrer-Policy"] == "no-referrer"
    invitation = db.session.scalars(select(Invitation)).one()
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.SENT
    assert [e.status for e in invitation.events] == [InvitationStatus.QUEUED, InvitationStatus.SENT]


def test_a_contact_for_two_institutions_gets_one_email_with_a_link_for_each(
    campaign, make_contact, mailbox, client
):
    make_contact("issakov@example.org", 49, 52, name="Yaroslav Issakov")
    invite_and_send(campaign)
    (message,) = mailbox.messages
    tokens = tokens_in(message)
    assert len(tokens) == 2
    names = [client.get(f"/i/{t}").get_data(as_text=True) for t in tokens]
    assert "Medical Center" in names[0] and "Medical Biotech Company" in names[1]
    assert db.session.scalar(select(text("count(*)")).select_from(Invitation)) == 2


def test_a_contact_without_institution_is_invited_to_describe_a_new_one(
    campaign, make_contact, mailbox, client
):
    make_contact("new@example.org")
    invite_and_send(campaign)
    (token,) = tokens_in(mailbox.messages[0])
    assert "a new institution" in client.get(f"/i/{token}").get_data(as_text=True)


def test_inviting_again_only_adds_the_new_contacts(campaign, make_contact, mailbox):
    make_contact("a@example.org", 4)
    invite_and_send(campaign)
    make_contact("b@example.org", 3)
    report = service.invite(campaign, actor="test")
    assert (report.invitations, report.emails) == (1, 1)


def test_no_token_is_stored_in_clear_anywhere(campaign, make_contact, mailbox):
    make_contact("svane@example.org", 4)
    invite_and_send(campaign)
    (token,) = tokens_in(mailbox.messages[0])
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            assert token not in repr(tuple(row)), table.name
    stored = db.session.scalars(select(InvitationToken.token_hash)).one()
    assert stored == service.token_hash(token)


def test_every_email_carries_a_fresh_token_and_all_stay_valid(
    campaign, make_contact, mailbox, client
):
    make_contact("svane@example.org", 4)
    invite_and_send(campaign)
    invitation = db.session.scalars(select(Invitation)).one()
    service.resend(invitation, actor="test")
    db.session.commit()
    send_pending()
    first, second = (tokens_in(m)[0] for m in mailbox.messages)
    assert first != second
    assert client.get(f"/i/{first}").status_code == 200
    assert client.get(f"/i/{second}").status_code == 200


def test_unknown_expired_and_revoked_links_get_the_same_404(
    campaign, make_contact, mailbox, client
):
    make_contact("a@example.org", 4)
    make_contact("b@example.org", 3)
    invite_and_send(campaign)
    revoked_token, expired_token = (tokens_in(m)[0] for m in mailbox.messages)
    first, second = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
    service.revoke(first, actor="test")
    second.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    pages = [client.get(f"/i/{t}") for t in (revoked_token, expired_token, "x" * 43)]
    assert {p.status_code for p in pages} == {404}
    assert len({p.get_data(as_text=True) for p in pages}) == 1
    assert "This link is not valid" in pages[0].get_data(as_text=True)


def test_opening_a_link_changes_nothing_the_first_action_marks_opened(
    campaign, make_contact, mailbox, client
):
    from tests.conftest import csrf_token

    make_contact("a@example.org", 4)
    invite_and_send(campaign)
    (token,) = tokens_in(mailbox.messages[0])
    for _ in range(3):
        client.get(f"/i/{token}")
    invitation = db.session.scalars(select(Invitation)).one()
    db.session.refresh(invitation)
    assert invitation.opened_at is None
    client.post(f"/i/{token}/start", data={"csrf_token": csrf_token(client, f"/i/{token}")})
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.OPENED
    assert invitation.opened_at is not None


def test_links_use_the_configured_site_not_the_request_host(
    app, campaign, make_contact, mailbox, make_user, monkeypatch
):
    from surveyapp.vocabulary import Role
    from tests.conftest import AuthActions, csrf_token

    monkeypatch.setitem(app.config, "SITE_URL", "https://registry.example.eu")
    make_contact("a@example.org", 4)
    make_user("coord@example.org", Role.COORDINATOR)
    coordinator = AuthActions(app.test_client())
    coordinator.client.environ_base["HTTP_HOST"] = "evil.example"
    coordinator.login("coord@example.org")
    url = f"/campaigns/{campaign.id}"
    response = coordinator.client.post(
        f"{url}/invite", data={"csrf_token": csrf_token(coordinator.client, url)}
    )
    assert response.status_code == 302
    assert "login" not in response.headers["Location"]
    send_pending()
    body = plain(mailbox.messages[0])
    assert "https://registry.example.eu/i/" in body
    assert "evil.example" not in body


def test_the_link_pages_are_rate_limited(app, campaign, client, monkeypatch):
    from surveyapp.extensions import limiter

    monkeypatch.setitem(app.config, "LINK_RATE_LIMIT", "3 per minute")
    limiter.reset()
    codes = [client.get(f"/i/{'y' * 43}").status_code for _ in range(5)]
    limiter.reset()
    assert codes[:3] == [404, 404, 404]
    assert codes[3:] == [429, 429]


def test_robots_txt_excludes_the_links(client):
    assert "Disallow: /i/" in client.get("/robots.txt").get_data(as_text=True)
