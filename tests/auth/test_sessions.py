"""Sessions end on logout, password change, deactivation and after idle or absolute timeouts."""

from __future__ import annotations

import time

import pytest

from surveyapp.vocabulary import Role
from tests.conftest import PASSWORD, AuthActions, csrf_token


def logged_in(client) -> bool:
    return client.get("/account/").status_code == 200


def second_browser(app, email: str) -> AuthActions:
    other = AuthActions(app.test_client())
    assert other.login(email).status_code == 302
    return other


def test_logout_ends_the_users_sessions_everywhere(app, client, make_user, auth, ctx):
    make_user("ana@example.org")
    auth.login("ana@example.org")
    elsewhere = second_browser(app, "ana@example.org")
    assert logged_in(elsewhere.client)
    auth.logout()
    assert not logged_in(client)
    assert not logged_in(elsewhere.client)


@pytest.mark.parametrize("token", ["stale", None])
def test_a_logout_with_a_stale_or_missing_token_still_ends_this_session(
    client, make_user, auth, ctx, token
):
    make_user("ana@example.org")
    auth.login("ana@example.org")
    response = client.post("/logout", data={"csrf_token": token} if token else {})
    assert response.status_code == 302 and response.location.endswith("/login")
    assert not logged_in(client)
    assert "You have logged out." in client.get("/login").get_data(as_text=True)


def test_a_stolen_cookie_is_useless_after_logout(app, client, make_user, auth):
    make_user("ana@example.org")
    auth.login("ana@example.org")
    cookie = client.get_cookie("session").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert not logged_in(thief)


def test_a_password_change_ends_other_sessions_and_keeps_this_one(app, client, make_user, auth):
    make_user("ana@example.org")
    auth.login("ana@example.org")
    elsewhere = second_browser(app, "ana@example.org")
    new = "another long and unusual passphrase"
    response = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(client, "/account/"),
            "current": PASSWORD,
            "new": new,
            "confirm": new,
        },
    )
    assert response.status_code == 302
    assert logged_in(client)
    assert not logged_in(elsewhere.client)
    auth.logout()
    assert auth.login("ana@example.org", new).status_code == 302


def test_a_rejected_password_change_says_why_and_changes_nothing(client, make_user, auth):
    make_user("ana@example.org")
    auth.login("ana@example.org")
    response = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(client, "/account/"),
            "current": PASSWORD,
            "new": "password1",
            "confirm": "password1",
        },
    )
    assert response.status_code == 400
    assert "commonly used passwords" in response.get_data(as_text=True)
    auth.logout()
    assert auth.login("ana@example.org").status_code == 302


def test_deactivation_ends_the_users_sessions(app, client, make_user, auth):
    make_user("boss@example.org", Role.ADMIN)
    make_user("ana@example.org")
    victim = second_browser(app, "ana@example.org")
    auth.login("boss@example.org")
    from surveyapp.auth.service import find_user

    with app.app_context():
        user_id = find_user("ana@example.org").id
    response = client.post(
        f"/admin/users/{user_id}/deactivate",
        data={"csrf_token": csrf_token(client, f"/admin/users/{user_id}")},
    )
    assert response.status_code == 302
    assert not logged_in(victim.client)
    assert victim.login("ana@example.org").status_code == 200


def test_an_idle_session_expires(app, client, make_user, auth):
    make_user("ana@example.org")
    auth.login("ana@example.org")
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - idle - 5
    response = client.get("/account/")
    assert response.status_code == 302
    assert "expired" in client.get("/login").get_data(as_text=True)


def test_an_active_session_still_ends_at_the_absolute_timeout(app, client, make_user, auth):
    make_user("ana@example.org")
    auth.login("ana@example.org")
    absolute = app.config["SESSION_ABSOLUTE_HOURS"] * 3600
    with client.session_transaction() as session:
        session["login_at"] = int(time.time()) - absolute - 5
    assert client.get("/account/").status_code == 302


def test_a_recent_session_continues(client, make_user, auth):
    make_user("ana@example.org")
    auth.login("ana@example.org")
    for _ in range(3):
        assert logged_in(client)


def test_session_cookies_are_httponly_and_samesite(client, make_user, auth):
    make_user("ana@example.org")
    response = auth.login("ana@example.org")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_cookies_are_secure():
    import config

    assert config.ProductionConfig.SESSION_COOKIE_SECURE is True
