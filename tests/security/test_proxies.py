"""Behind a reverse proxy, TRUSTED_PROXIES makes the client's own address the one login
throttling, rate limits and the audit log see (issue 17: every client shared the proxy's
address, so twenty bad logins from anyone locked out all staff); without it, a client's
X-Forwarded-For is ignored, since anyone can write one."""

from __future__ import annotations

import pytest
from flask import request

import config
from surveyapp import create_app

FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def seen_by(trusted_proxies: int, app) -> str:
    """The client address and scheme an app with this setting sees behind one proxy."""

    class Behind(config.TestingConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        TRUSTED_PROXIES = trusted_proxies

    behind = create_app(Behind)
    behind.add_url_rule("/address", "address", lambda: f"{request.remote_addr} {request.scheme}")
    return behind.test_client().get("/address", headers=FORWARDED).get_data(as_text=True)


@pytest.mark.parametrize(("trusted", "seen"), [(1, "203.0.113.7 https"), (0, "127.0.0.1 http")])
def test_the_client_address_comes_from_the_trusted_proxy_only(app, trusted, seen):
    assert seen_by(trusted, app) == seen


def test_no_proxy_is_trusted_by_default():
    assert config.Config.TRUSTED_PROXIES == 0
