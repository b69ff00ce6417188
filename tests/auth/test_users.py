"""Admins manage staff in the UI; the command line creates users and the first admin."""

from __future__ import annotations

import re

from sqlalchemy import select

from surveyapp.auth.models import User
from surveyapp.auth.service import find_user
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.vocabulary import Role
from tests.conftest import AuthActions, csrf_token


def admin_client(app, make_user):
    make_user("boss@example.org", Role.ADMIN)
    actions = AuthActions(app.test_client())
    assert actions.login("boss@example.org").status_code == 302
    return actions.client


def audit_events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_admin_adds_a_user_who_can_log_in_with_the_password_shown_once(app, make_user, ctx):
    client = admin_client(app, make_user)
    response = client.post(
        "/admin/users/",
        data={
            "csrf_token": csrf_token(client, "/admin/users/"),
            "email": "New.Curator@Example.org",
            "roles": ["curator", "coordinator"],
        },
    )
    assert response.status_code == 200
    password = re.search(
        r'<code class="secret">([^<]+)</code>', response.get_data(as_text=True)
    ).group(1)
    user = find_user("new.curator@example.org")
    assert user.roles == [Role.COORDINATOR, Role.CURATOR]
    assert password not in user.password_hash
    newcomer = AuthActions(app.test_client())
    assert newcomer.login("new.curator@example.org", password).status_code == 302
    assert audit_events("user.create")[-1].detail["roles"] == ["coordinator", "curator"]


def test_adding_a_user_twice_or_without_role_is_explained(app, make_user):
    client = admin_client(app, make_user)
    token = csrf_token(client, "/admin/users/")
    response = client.post(
        "/admin/users/", data={"csrf_token": token, "email": "boss@example.org", "roles": ["admin"]}
    )
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    response = client.post("/admin/users/", data={"csrf_token": token, "email": "x@example.org"})
    assert "Choose at least one role." in response.get_data(as_text=True)


def test_an_admin_changes_roles_and_it_is_audited(app, make_user, ctx):
    client = admin_client(app, make_user)
    make_user("ana@example.org", Role.CURATOR)
    user_id = find_user("ana@example.org").id
    response = client.post(
        f"/admin/users/{user_id}/roles",
        data={
            "csrf_token": csrf_token(client, f"/admin/users/{user_id}"),
            "roles": ["coordinator"],
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert find_user("ana@example.org").roles == [Role.COORDINATOR]
    (event,) = audit_events("user.roles")
    assert (event.actor, event.detail["old"], event.detail["new"]) == (
        "boss@example.org",
        ["curator"],
        ["coordinator"],
    )


def test_the_last_admin_cannot_lose_the_role_or_be_deactivated(app, make_user, ctx):
    client = admin_client(app, make_user)
    user_id = find_user("boss@example.org").id
    token = csrf_token(client, f"/admin/users/{user_id}")
    response = client.post(
        f"/admin/users/{user_id}/roles", data={"csrf_token": token, "roles": ["curator"]}
    )
    assert response.status_code == 400
    assert "At least one active admin must remain." in response.get_data(as_text=True)
    client.post(f"/admin/users/{user_id}/deactivate", data={"csrf_token": token})
    db.session.expire_all()
    assert find_user("boss@example.org").active
    assert find_user("boss@example.org").roles == [Role.ADMIN]


def test_deactivate_reactivate_and_reset_password(app, make_user, ctx):
    client = admin_client(app, make_user)
    make_user("ana@example.org")
    user_id = find_user("ana@example.org").id
    token = csrf_token(client, f"/admin/users/{user_id}")
    client.post(f"/admin/users/{user_id}/deactivate", data={"csrf_token": token})
    db.session.expire_all()
    assert not find_user("ana@example.org").active
    client.post(f"/admin/users/{user_id}/activate", data={"csrf_token": token})
    db.session.expire_all()
    assert find_user("ana@example.org").active
    response = client.post(f"/admin/users/{user_id}/reset-password", data={"csrf_token": token})
    password = re.search(
        r'<code class="secret">([^<]+)</code>', response.get_data(as_text=True)
    ).group(1)
    assert AuthActions(app.test_client()).login("ana@example.org", password).status_code == 302
    assert {e.action for e in db.session.scalars(select(AuditEvent))} >= {
        "user.deactivate",
        "user.activate",
        "user.password_reset",
    }


def test_cli_creates_a_user_with_a_generated_password_shown_once(runner, ctx):
    result = runner.invoke(
        args=["users", "create", "Ana@Example.org", "--role", "admin", "--role", "curator"]
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"Password \(shown once, store it now\): (\S+)", result.output).group(1)
    user = find_user("ana@example.org")
    assert user.roles == [Role.ADMIN, Role.CURATOR]
    from surveyapp.auth.passwords import verify_password

    assert verify_password(user.password_hash, password)


def test_cli_reads_a_password_from_stdin_and_applies_the_policy(runner, ctx):
    result = runner.invoke(
        args=["users", "create", "ana@example.org", "--role", "curator", "--password-stdin"],
        input="password1\n",
    )
    assert result.exit_code == 1
    assert "commonly used passwords" in result.output
    result = runner.invoke(
        args=["users", "create", "ana@example.org", "--role", "curator", "--password-stdin"],
        input="a very particular phrase\n",
    )
    assert result.exit_code == 0
    assert "Password" not in result.output


def test_cli_first_admin_is_created_once(runner, ctx):
    first = runner.invoke(args=["users", "create-first-admin"])
    assert first.exit_code == 0
    assert "Password (shown once" in first.output
    second = runner.invoke(args=["users", "create-first-admin"])
    assert "An admin exists (admin@example.org); no account created." in second.output
    assert db.session.scalars(select(User)).all()[0].email == "admin@example.org"


def test_cli_rejects_a_bad_email(runner):
    result = runner.invoke(args=["users", "create", "not-an-email", "--role", "curator"])
    assert result.exit_code == 1
    assert "not a valid email address" in result.output


def test_staff_messages_follow_the_chosen_language(app, make_user):
    client = admin_client(app, make_user)
    client.get("/admin/users/?lang=de")
    response = client.post(
        "/admin/users/",
        data={
            "csrf_token": csrf_token(client, "/admin/users/"),
            "email": "boss@example.org",
            "roles": ["admin"],
        },
    )
    assert "Ein Benutzerkonto mit der E-Mail-Adresse boss@example.org gibt es bereits." in (
        response.get_data(as_text=True)
    )
