"""Headers on every response, capability-link practice, and where redirects may go."""

from __future__ import annotations

import pytest

import config
from surveyapp import create_app

PAGES = ["/", "/statistics", "/map", "/suggest/", "/login", "/api/v1/stats", "/nowhere", "/i/x"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, table1, path):
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in policy
    script = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert "'unsafe-inline'" not in script and "http" not in script
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # not over plain HTTP


def test_production_sends_hsts(app):
    class Production(config.ProductionConfig):
        SECRET_KEY = "x" * 48
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]

    production = create_app(Production)
    response = production.test_client().get("/robots.txt")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_capability_links_send_no_referrer_and_are_not_indexed(client, invited):
    token = invited(9)
    for path in (f"/i/{token}", f"/i/{token}/form"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
    assert "Disallow: /i/" in client.get("/robots.txt").get_data(as_text=True)
    assert client.get("/i/not-a-real-token-at-all-0000000000000/form").status_code == 404


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "http:/x"]
)
def test_login_redirects_only_to_local_paths(client, make_user, auth, target):
    make_user("curator@example.org")
    response = auth.login("curator@example.org", next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "/staff/review/", "/staff/dashboard/") or (
        response.headers["Location"].startswith("/") and "evil" not in response.headers["Location"]
    )
