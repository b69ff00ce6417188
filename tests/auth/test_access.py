"""Who may use which page: every staff route, for anonymous users, wrong roles, right roles."""

from __future__ import annotations

import re

import pytest

from surveyapp.auth.access import RESTRICTED, STAFF
from surveyapp.vocabulary import Role

PUBLIC_BLUEPRINTS = {
    "registry",
    "identifiers",
    "releases",
    "api",
    "auth",
    "link",
    "questionnaire",
    "suggest",
    "statistics",
    "consent",
    "privacy",
    None,
}


def staff_routes(app) -> list[tuple[str, str, str, tuple[Role, ...]]]:
    """(method, path, endpoint, allowed roles) for every route of a restricted blueprint."""
    routes = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0] or None
        if blueprint in RESTRICTED:
            path = re.sub(r"<int:\w+>", "1", rule.rule)
            path = path.replace("<fmt>", "csv").replace("<action>", "resend")
            path = path.replace("<kind>", "entry").replace("<name>", "table1-v1")
            method = "GET" if "GET" in rule.methods else "POST"
            routes.append((method, path, rule.endpoint, RESTRICTED[blueprint]))
    return sorted(routes)


def test_every_blueprint_is_public_on_purpose_or_restricted(app):
    blueprints = {r.endpoint.rpartition(".")[0] or None for r in app.url_map.iter_rules()}
    assert blueprints - PUBLIC_BLUEPRINTS - {"static"} == set(RESTRICTED) - {None}
    assert set(RESTRICTED) == {
        "account",
        "users",
        "audit",
        "registry_staff",
        "registry_import",
        "contacts",
        "campaigns",
        "registry_curation",
        "review",
        "coverage",
        "response_rates",
        "questionnaires",
        "responses",
        "readiness",
        "network_planner",
        "release_staff",
        "people",
    }


@pytest.fixture
def no_csrf(app, monkeypatch):
    """Access checks are about roles; CSRF is tested on its own."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


def _routes():
    from surveyapp import create_app

    return staff_routes(create_app("testing"))


ROUTES = _routes()


@pytest.mark.parametrize(
    ("method", "path", "endpoint", "roles"), ROUTES, ids=[r[2] for r in ROUTES]
)
def test_anonymous_users_are_sent_to_the_login_page(client, no_csrf, method, path, endpoint, roles):
    response = client.open(path, method=method)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("method", "path", "endpoint", "roles"), ROUTES, ids=[r[2] for r in ROUTES]
)
def test_a_wrong_role_gets_403(client, no_csrf, make_user, auth, method, path, endpoint, roles):
    wrong = [r for r in Role if r not in roles]
    if not wrong:
        assert roles == STAFF  # open to every staff role: there is no wrong role to try
        return
    make_user("wrong@example.org", *wrong)
    auth.login("wrong@example.org")
    assert client.open(path, method=method).status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "endpoint", "roles"), ROUTES, ids=[r[2] for r in ROUTES]
)
def test_the_right_role_gets_through(
    client, no_csrf, make_user, auth, method, path, endpoint, roles
):
    make_user("right@example.org", roles[0])
    auth.login("right@example.org")
    response = client.open(path, method=method)
    assert response.status_code not in (401, 403)
    assert not response.headers.get("Location", "").startswith("/login")
