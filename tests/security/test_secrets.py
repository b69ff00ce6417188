"""Tokens and passwords never appear in logs or in clear in the database; links in emails
never come from the request's Host header; oversized requests are refused."""

from __future__ import annotations

import logging

from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.logs import redact
from surveyapp.mail.service import send_pending
from tests.campaigns.test_invitations import plain, tokens_in
from tests.conftest import PASSWORD


def database_dump() -> str:
    """Every value of every table as text."""
    parts = []
    for table in db.metadata.sorted_tables:
        parts += [repr(row) for row in db.session.execute(select(table))]
    return "\n".join(parts)


def test_tokens_and_passwords_never_in_clear_in_the_database(client, invited, staff):
    token = invited(9)
    client.get(f"/i/{token}/form")
    dump = database_dump()
    assert token not in dump
    assert PASSWORD not in dump
    assert "$argon2id$" in dump


def test_tokens_and_passwords_never_in_logs(app, client, invited, make_user, auth, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    token = invited(9)
    make_user("curator@example.org")
    auth.login("curator@example.org")
    auth.login("curator@example.org", password="wrong " + PASSWORD)
    client.get(f"/i/{token}/form")
    logging.getLogger("werkzeug").info('127.0.0.1 - - "GET /i/%s/form HTTP/1.1" 200 -', token)
    # aiosmtpd ("mail.log") is the test's mail server: it logs the emails it receives.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert token not in logged
    assert PASSWORD not in logged
    assert "/i/[token]/form" in logged


def test_redaction_keeps_other_paths():
    assert redact("GET /institutions/12 and /i/abcDEF0123456789_-xyz/form") == (
        "GET /institutions/12 and /i/[token]/form"
    )


def test_email_links_never_take_the_request_host(app, client, invited, mailbox):
    """Even when the worker runs inside a request for another host, links use SITE_URL."""
    from tests.questionnaire.test_form import post

    token = invited(9)
    assert post(client, token, {"consent_store": "y"}, button="submit").status_code == 302
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        assert send_pending().sent >= 1
    body = plain(mailbox.messages[-1])
    assert "evil.example" not in body
    assert "http://127.0.0.1:5000/i/" in body
    assert tokens_in(mailbox.messages[0])


def test_oversized_requests_get_413(app, client, table1, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    big = "x" * (1024 * 1024 + 10)
    assert client.post("/suggest/", data={"note": big}).status_code == 413
    assert client.post("/login", data={"password": big}).status_code == 413


def test_uploads_over_the_limit_get_413(app, client, staff, monkeypatch):
    import io

    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    upload = (io.BytesIO(b"institution,country\n" + b"a,b\n" * 40_000), "big.csv")
    response = client.post(
        "/staff/registry/import/", data={"file": upload}, content_type="multipart/form-data"
    )
    assert response.status_code == 413


def test_nul_characters_are_refused_with_a_clear_400(client, table1):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/suggest/")
    response = client.post("/suggest/", data={"institution": "Lab\x00", "csrf_token": token})
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert client.get("/?q=a%00b").status_code == 400
