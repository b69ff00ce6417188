"""Logging in: one generic message, throttling, CSRF, safe redirects, a new session."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from surveyapp.auth.service import LoginFailed
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.vocabulary import Role
from tests.conftest import csrf_token

GENERIC = LoginFailed.MESSAGE


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def test_a_correct_login_opens_the_account_and_is_audited(client, make_user, auth, ctx):
    make_user("ana@example.org", Role.COORDINATOR)
    response = auth.login("Ana@Example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"
    assert "ana@example.org" in client.get("/account/").get_data(as_text=True)
    (event,) = events("auth.login")
    assert event.actor == "ana@example.org"
    assert event.remote_addr == "127.0.0.1"


@pytest.mark.parametrize(
    ("email", "password", "reason"),
    [
        ("ana@example.org", "not the password at all", "wrong password"),
        ("nobody@example.org", "whatever it may be", "unknown email"),
    ],
)
def test_any_failure_gets_the_same_message_and_is_audited_with_its_reason(
    client, make_user, auth, ctx, email, password, reason
):
    make_user("ana@example.org")
    response = auth.login(email, password)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert GENERIC in html
    assert "unknown" not in html.lower().replace(GENERIC.lower(), "")
    (event,) = events("auth.login_failed")
    assert event.detail == {"reason": reason}
    assert client.get("/account/").status_code == 302


def test_a_deactivated_account_cannot_log_in(client, make_user, auth, ctx):
    from surveyapp.auth.service import find_user

    make_user("old@example.org")
    find_user("old@example.org").active = False
    db.session.commit()
    assert GENERIC in auth.login("old@example.org").get_data(as_text=True)
    assert events("auth.login_failed")[0].detail == {"reason": "deactivated"}


def test_failures_are_throttled_per_account_even_with_the_right_password(
    client, make_user, auth, ctx
):
    make_user("ana@example.org")
    for _ in range(5):
        auth.login("ana@example.org", "wrong password, again")
    response = auth.login("ana@example.org")
    assert GENERIC in response.get_data(as_text=True)
    assert events("auth.login_failed")[-1].detail == {"reason": "throttled"}


def test_failures_are_throttled_per_address(client, make_user, auth, ctx):
    make_user("ana@example.org")
    for number in range(20):
        auth.login(f"guess{number}@example.org", "some guessed password")
    assert GENERIC in auth.login("ana@example.org").get_data(as_text=True)
    assert events("auth.login_failed")[-1].detail == {"reason": "throttled"}


def test_a_success_resets_the_account_count(client, make_user, auth, ctx):
    make_user("ana@example.org")
    for _ in range(4):
        auth.login("ana@example.org", "wrong password, again")
    assert auth.login("ana@example.org").status_code == 302
    auth.logout()
    for _ in range(4):
        auth.login("ana@example.org", "wrong password, again")
    assert auth.login("ana@example.org").status_code == 302


def test_the_throttle_window_passes(client, make_user, auth, ctx, app, monkeypatch):
    make_user("ana@example.org")
    for _ in range(5):
        auth.login("ana@example.org", "wrong password, again")
    monkeypatch.setitem(app.config, "LOGIN_WINDOW_MINUTES", 0)
    assert auth.login("ana@example.org").status_code == 302


def test_login_without_a_csrf_token_is_refused(client, make_user):
    make_user("ana@example.org")
    from tests.conftest import PASSWORD

    response = client.post("/login", data={"email": "ana@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/account/").status_code == 302


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("/admin/audit/", "/admin/audit/"),
        ("//evil.example/", "/account/"),
        ("https://evil.example/", "/account/"),
        ("/\\evil.example", "/account/"),
    ],
)
def test_after_login_only_local_paths(client, make_user, auth, next_url, location):
    make_user("ana@example.org", Role.ADMIN)
    response = auth.login("ana@example.org", next_url=next_url)
    assert response.headers["Location"] == location


def test_login_starts_a_new_session(client, make_user, auth):
    make_user("ana@example.org")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login("ana@example.org")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "login_at" in session


def test_the_login_page_speaks_german(client):
    html = client.get("/login?lang=de").get_data(as_text=True)
    assert "Anmeldung für Mitarbeitende" in html
    assert ">Passwort</label>" in html


@pytest.mark.committed
def test_concurrent_guesses_are_counted_one_after_the_other(app, make_user):
    # eight guesses at once against a limit of five: five passwords checked, three throttled
    make_user("ana@example.org")
    clients = [app.test_client() for _ in range(8)]
    tokens = [csrf_token(c) for c in clients]
    start = threading.Barrier(len(clients))
    errors: list[BaseException] = []

    def guess(client, token) -> None:
        try:
            start.wait()
            data = {"csrf_token": token, "email": "ana@example.org", "password": "a guess"}
            assert client.post("/login", data=data).status_code == 200
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with app.app_context():
        reasons = [e.detail["reason"] for e in events("auth.login_failed")]
    assert sorted(reasons) == ["throttled"] * 3 + ["wrong password"] * 5
