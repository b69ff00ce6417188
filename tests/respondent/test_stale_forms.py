"""A form sent to a link with a stale or missing CSRF token: to an unknown, expired or
revoked link, the one 404 page a GET gets (issue 17: the error handler looking the link up
failed with a 500); to a working link, a clear 400 (the questionnaire keeps what was typed)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Invitation
from surveyapp.database import utcnow
from surveyapp.extensions import db
from tests.campaigns.test_invitations import invite_and_send, tokens_in


def link_posts(app) -> list[str]:
    """Every link path that takes a POST with a CSRF token (one-click unsubscribe is
    posted by mail clients and needs none)."""
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/i/<token>")
        and "POST" in rule.methods
        and rule.endpoint != "link.one_click_unsubscribe"
    )


def test_a_stale_form_to_a_dead_link_gets_the_page_a_get_gets(
    app, campaign, make_contact, mailbox, client
):
    make_contact("a@example.org", 4)
    make_contact("b@example.org", 3)
    invite_and_send(campaign)
    revoked_token, expired_token = (tokens_in(m)[0] for m in mailbox.messages)
    first, second = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
    service.revoke(first, actor="test")
    second.expires_at = utcnow() - timedelta(days=60)  # long closed: no late draft either
    db.session.commit()
    refused = client.get(f"/i/{'x' * 43}").get_data(as_text=True)
    paths = link_posts(app)
    assert len(paths) >= 4  # start, opt-out, the questionnaire, nominations at least
    for path in paths:
        for token in (revoked_token, expired_token, "x" * 43):
            url = path.replace("<token>", token)
            for data in ({}, {"csrf_token": "stale"}):
                response = client.post(url, data=data)
                assert response.status_code == 404, url
                assert response.get_data(as_text=True) == refused, url


def test_a_stale_form_to_a_working_link_is_a_clear_400(
    app, campaign, make_contact, mailbox, client
):
    make_contact("a@example.org", 4)
    invite_and_send(campaign)
    (token,) = tokens_in(mailbox.messages[0])
    for path in link_posts(app):
        response = client.post(path.replace("<token>", token), data={"csrf_token": "stale"})
        assert response.status_code == 400, path
