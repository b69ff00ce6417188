"""Two-factor login for staff: enrolment confirmed by a code, a second login step with a TOTP
or a recovery code, codes used once, wrong codes throttled, required for admins, reset by
another admin.

Every test runs on a fixed clock: the code module's ``utcnow`` is pinned, and the codes are
computed for that moment with pyotp's ``at``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from surveyapp.auth import two_factor
from surveyapp.auth.models import RecoveryCode
from surveyapp.auth.service import find_user
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.vocabulary import Role
from tests.conftest import PASSWORD, AuthActions, csrf_token

NOW = datetime(2026, 12, 3, 10, 0, 7, tzinfo=UTC)
ENROLLED_AT = NOW - timedelta(days=2)


@pytest.fixture
def clock(monkeypatch) -> list[datetime]:
    """The time the code checks see; a test moves it by replacing the one element."""
    moment = [NOW]
    monkeypatch.setattr(two_factor, "utcnow", lambda: moment[0])
    return moment


@pytest.fixture
def required(app, monkeypatch) -> None:
    """Admins must use two-factor login, as in production (the suite's config needs none)."""
    monkeypatch.setitem(app.config, "TWO_FACTOR_ROLES", ("admin",))


@pytest.fixture
def enrolled(app, make_user):
    """A staff user with two-factor login on; returns (email, secret, recovery codes)."""

    def enrol(email: str = "ana@example.org", *roles: Role) -> tuple[str, str, list[str]]:
        make_user(email, *roles)
        with app.app_context():
            user = find_user(email)
            secret = two_factor.pending_secret(user)
            code = pyotp.TOTP(secret).at(ENROLLED_AT)
            codes = two_factor.confirm_enrolment(user, code, now=ENROLLED_AT)
            db.session.commit()
        return email, secret, codes

    return enrol


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def enter_code(client, code: str):
    return client.post(
        "/login/code", data={"csrf_token": csrf_token(client, "/login/code"), "code": code}
    )


def test_enrolment_shows_a_server_drawn_qr_code_and_is_confirmed_by_a_current_code(
    app, make_user, auth, client, clock, ctx
):
    make_user("ana@example.org", Role.CURATOR)
    auth.login("ana@example.org")
    assert "Set up two-factor login" in client.get("/account/two-factor").get_data(as_text=True)
    assert find_user("ana@example.org").totp_secret is None  # a GET changes nothing
    start = client.post(
        "/account/two-factor/start", data={"csrf_token": csrf_token(client, "/account/two-factor")}
    )
    assert start.headers["Location"] == "/account/two-factor"
    page = client.get("/account/two-factor")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in html  # drawn here, allowed by "img-src 'self' data:"
    assert "img-src 'self' data:" in page.headers["Content-Security-Policy"]
    assert "<script" not in html.split("<main", 1)[-1]
    db.session.expire_all()
    secret = find_user("ana@example.org").totp_secret
    assert " ".join(secret[i : i + 4] for i in range(0, 32, 4)) in html
    client.post(
        "/account/two-factor/start", data={"csrf_token": csrf_token(client, "/account/two-factor")}
    )
    db.session.expire_all()
    assert find_user("ana@example.org").totp_secret == secret  # starting again keeps it

    token = csrf_token(client, "/account/two-factor")
    wrong = client.post("/account/two-factor", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 400
    db.session.expire_all()
    assert not find_user("ana@example.org").has_two_factor

    code = pyotp.TOTP(secret).at(NOW)
    shown = client.post("/account/two-factor", data={"csrf_token": token, "code": code})
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    codes = re.findall(r'<code class="secret">([a-z0-9-]+)</code>', shown.get_data(as_text=True))
    assert len(codes) == 10
    db.session.expire_all()
    user = find_user("ana@example.org")
    assert user.has_two_factor
    assert user.totp_enabled_at == NOW
    stored = [r.code_hash for r in db.session.scalars(select(RecoveryCode))]
    assert len(stored) == 10
    assert not any(c.replace("-", "") in h for c in codes for h in stored)
    again = client.get("/account/two-factor").get_data(as_text=True)
    assert not any(c in again for c in codes)  # shown once
    assert "Unused recovery codes: 10" in again
    assert [e.actor for e in events("user.two_factor_enable")] == ["ana@example.org"]


def test_switching_it_on_ends_every_other_session_and_keeps_this_one(
    app, make_user, auth, client, clock, ctx
):
    # someone logged in elsewhere with the password alone (perhaps a stolen one) is out
    make_user("ana@example.org", Role.CURATOR)
    elsewhere = AuthActions(app.test_client())
    elsewhere.login("ana@example.org")
    auth.login("ana@example.org")
    client.post(
        "/account/two-factor/start", data={"csrf_token": csrf_token(client, "/account/two-factor")}
    )
    page = client.get("/account/two-factor")
    assert page.headers["Cache-Control"] == "no-store"  # it shows the secret
    db.session.expire_all()
    secret = find_user("ana@example.org").totp_secret
    token = csrf_token(client, "/account/two-factor")
    code = pyotp.TOTP(secret).at(NOW)
    assert (
        client.post("/account/two-factor", data={"csrf_token": token, "code": code}).status_code
        == 200
    )
    assert client.get("/account/").status_code == 200
    assert elsewhere.client.get("/account/").status_code == 302


def test_the_password_alone_does_not_log_in_an_enrolled_user(
    app, enrolled, auth, client, clock, ctx
):
    email, secret, _ = enrolled()
    response = auth.login(email, next_url="/account/")
    assert response.headers["Location"] == "/login/code"
    assert client.get("/account/").status_code == 302  # not logged in yet
    assert enter_code(client, "123456").status_code == 200
    assert client.get("/account/").status_code == 302

    response = enter_code(client, pyotp.TOTP(secret).at(NOW))
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"
    assert client.get("/account/").status_code == 200
    (password,) = events("auth.password_accepted")
    (login,) = events("auth.login")  # the login counts from the code on, not the password
    assert password.id < login.id
    assert login.detail == {"second_factor": "totp"}
    assert find_user(email).last_login_at == NOW
    assert events("auth.two_factor_failed")[-1].detail == {"reason": "wrong code"}


def test_a_code_of_the_next_or_last_step_works_but_not_older_ones(app, enrolled, ctx):
    email, secret, _ = enrolled()
    user = find_user(email)
    totp = pyotp.TOTP(secret)
    with pytest.raises(two_factor.TwoFactorError):
        two_factor.verify_second_step(user, totp.at(NOW - timedelta(seconds=60)), "a", now=NOW)
    assert two_factor.verify_second_step(user, totp.at(NOW - timedelta(seconds=30)), "a", now=NOW)


def test_a_used_code_is_refused_as_a_replay(app, enrolled, client, clock, ctx):
    email, secret, _ = enrolled()
    code = pyotp.TOTP(secret).at(NOW)
    first = AuthActions(app.test_client())
    first.login(email)
    assert enter_code(first.client, code).status_code == 302

    AuthActions(client).login(email)
    clock[0] = NOW + timedelta(seconds=20)  # still within the accepted drift
    response = enter_code(client, code)
    assert response.status_code == 200
    assert str(two_factor.TwoFactorError.MESSAGE) in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302
    assert events("auth.two_factor_failed")[-1].detail == {"reason": "replayed code"}

    clock[0] = NOW + timedelta(seconds=30)
    assert enter_code(client, pyotp.TOTP(secret).at(clock[0])).status_code == 302


def test_a_recovery_code_logs_in_once(app, enrolled, client, clock, ctx):
    email, _, codes = enrolled()
    AuthActions(client).login(email)
    response = enter_code(client, codes[3].upper().replace("-", " "))
    assert response.status_code == 302
    assert "9 remain" in client.get("/account/").get_data(as_text=True)
    assert events("auth.login")[-1].detail == {"second_factor": "recovery"}

    other = AuthActions(app.test_client())
    other.login(email)
    assert enter_code(other.client, codes[3]).status_code == 200
    assert other.client.get("/account/").status_code == 302
    assert events("auth.two_factor_failed")[-1].detail == {"reason": "wrong recovery code"}
    assert two_factor.remaining_recovery_codes(find_user(email)) == 9


def test_new_recovery_codes_need_a_current_code_and_replace_the_old_ones(
    app, enrolled, client, clock, ctx
):
    email, secret, old = enrolled()
    AuthActions(client).login(email)
    enter_code(client, pyotp.TOTP(secret).at(NOW))
    token = csrf_token(client, "/account/two-factor")
    refused = client.post(
        "/account/two-factor/recovery-codes", data={"csrf_token": token, "code": "999999"}
    )
    assert refused.status_code == 400
    clock[0] = NOW + timedelta(seconds=30)
    response = client.post(
        "/account/two-factor/recovery-codes",
        data={"csrf_token": token, "code": pyotp.TOTP(secret).at(clock[0])},
    )
    assert response.status_code == 200
    new = re.findall(r'<code class="secret">([a-z0-9-]+)</code>', response.get_data(as_text=True))
    assert len(new) == 10
    assert not set(new) & set(old)
    assert two_factor.remaining_recovery_codes(find_user(email)) == 10
    assert [e.actor for e in events("user.recovery_codes_renew")] == [email]
    other = AuthActions(app.test_client())
    other.login(email)
    assert enter_code(other.client, old[0]).status_code == 200  # the old ones are gone
    assert enter_code(other.client, new[0]).status_code == 302


def test_wrong_codes_are_throttled_and_a_correct_password_does_not_clear_them(
    app, enrolled, client, clock, ctx
):
    email, secret, _ = enrolled()
    actions = AuthActions(client)
    actions.login(email)
    for guess in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        assert enter_code(client, f"{guess:06d}").status_code == 200
    actions.login(email)  # the password is right again: the count of wrong codes stays
    response = enter_code(client, pyotp.TOTP(secret).at(NOW))
    assert response.status_code == 200
    assert client.get("/account/").status_code == 302
    assert events("auth.two_factor_failed")[-1].detail == {"reason": "throttled"}


def test_the_code_step_needs_a_correct_password_first(client, enrolled, ctx):
    enrolled()
    response = client.get("/login/code")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_the_code_must_follow_the_password_within_minutes(
    app, enrolled, client, clock, monkeypatch, ctx
):
    email, secret, _ = enrolled()
    AuthActions(client).login(email)
    token = csrf_token(client, "/login/code")
    monkeypatch.setitem(app.config, "TWO_FACTOR_PENDING_MINUTES", -1)  # the minutes are over
    response = client.post(
        "/login/code", data={"csrf_token": token, "code": pyotp.TOTP(secret).at(NOW)}
    )
    assert response.headers["Location"] == "/login"
    assert client.get("/account/").status_code == 302


def test_an_admin_without_two_factor_must_set_it_up_before_anything_else(
    app, make_user, auth, client, required, clock, ctx
):
    make_user("boss@example.org", Role.ADMIN)
    response = auth.login("boss@example.org", next_url="/admin/users/")
    assert response.headers["Location"] == "/admin/users/"
    for path in ("/admin/users/", "/account/", "/staff/registry/"):
        blocked = client.get(path)
        assert blocked.status_code == 302, path
        assert blocked.headers["Location"] == "/account/two-factor"
    assert client.get("/api/v1/entries").status_code == 403
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "Your role requires two-factor login" in page

    token = csrf_token(client, "/account/two-factor")
    client.post("/account/two-factor/start", data={"csrf_token": token})
    db.session.expire_all()
    secret = find_user("boss@example.org").totp_secret
    client.post(
        "/account/two-factor", data={"csrf_token": token, "code": pyotp.TOTP(secret).at(NOW)}
    )
    assert client.get("/admin/users/").status_code == 200


def test_roles_not_required_may_log_in_with_the_password_alone(
    make_user, auth, client, required, ctx
):
    make_user("ana@example.org", Role.CURATOR)
    auth.login("ana@example.org")
    assert client.get("/account/").status_code == 200


def test_the_setting_can_require_it_of_any_role(app, make_user, auth, client, monkeypatch, ctx):
    monkeypatch.setitem(app.config, "TWO_FACTOR_ROLES", ("admin", "curator"))
    make_user("ana@example.org", Role.CURATOR)
    auth.login("ana@example.org")
    assert client.get("/account/").headers["Location"] == "/account/two-factor"


def test_another_admin_resets_two_factor_login_with_an_audit_event(
    app, make_user, enrolled, required, clock, ctx
):
    boss, boss_secret, _ = enrolled("boss@example.org", Role.ADMIN)
    email, _, _ = enrolled("ana@example.org", Role.ADMIN)
    ana = AuthActions(app.test_client())
    ana.login(email)
    admin = AuthActions(app.test_client())
    admin.login(boss)
    enter_code(admin.client, pyotp.TOTP(boss_secret).at(NOW))
    ana_id = find_user(email).id
    token = csrf_token(admin.client, f"/admin/users/{ana_id}")
    assert "Reset two-factor login" in admin.client.get(f"/admin/users/{ana_id}").get_data(
        as_text=True
    )

    response = admin.client.post(
        f"/admin/users/{ana_id}/reset-two-factor", data={"csrf_token": token}
    )
    assert response.status_code == 302
    db.session.expire_all()
    user = find_user(email)
    assert not user.has_two_factor
    assert user.totp_secret is None
    assert (
        db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == ana_id)).all() == []
    )
    (event,) = events("user.two_factor_reset")
    assert (event.actor, event.target_id) == (boss, ana_id)
    # The password alone now leads to setting up a new authenticator, and nothing else.
    assert ana.login(email).headers["Location"] == "/account/"
    assert ana.client.get("/account/").headers["Location"] == "/account/two-factor"

    boss_id = find_user(boss).id
    admin.client.post(f"/admin/users/{boss_id}/reset-two-factor", data={"csrf_token": token})
    db.session.expire_all()
    assert find_user(boss).has_two_factor  # not one's own


def test_the_command_line_resets_two_factor_login(runner, enrolled, ctx):
    email, _, _ = enrolled("boss@example.org", Role.ADMIN)
    result = runner.invoke(args=["users", "reset-2fa", email])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not find_user(email).has_two_factor
    assert events("user.two_factor_reset")[0].actor.startswith("cli:")
    assert runner.invoke(args=["users", "reset-2fa", "nobody@example.org"]).exit_code == 1


def test_the_password_step_is_unchanged_for_the_suite_logins(staff, client):
    """The fixtures' logins still open a session with the password only (testing config)."""
    assert PASSWORD
    assert client.get("/account/").status_code == 200
