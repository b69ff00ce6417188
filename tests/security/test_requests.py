"""Requests that change state: every one needs a valid CSRF token, and no GET changes
anything, whoever sends it."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from surveyapp.extensions import db

# RFC 8058 one-click unsubscribe is posted by mail clients, which cannot hold a CSRF
# token; the link token in the URL is the proof, and the action only stops mail.
CSRF_EXEMPT = {"link.unsubscribe"}
# A logout with a stale token still forgets the browser's session (a redirect, not a 400),
# but writes nothing: the fingerprint below shows it.
ENDS_THE_SESSION = {"auth.logout"}
# Audit events are a log of reads too (exports are recorded by design), not state.
NOT_STATE = {"audit_event"}


def fingerprint() -> str:
    """A hash of every row of every table that holds state."""
    digest = hashlib.sha256()
    for table in db.metadata.sorted_tables:
        if table.name in NOT_STATE:
            continue
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        digest.update(f"{table.name}:{rows!r}".encode())
    return digest.hexdigest()


def concrete(rule, token: str) -> str:
    """A URL for a rule, its arguments filled with values that exist."""
    values = {
        "token": token,
        "kind": "entry",
        "fmt": "csv",
        "name": "countries",
        "action": "resend",
        "filename": "style.css",
    }
    path = rule.rule
    for argument in rule.arguments:
        value = values.get(argument, "1")
        path = re.sub(rf"<(?:[a-z]+:)?{argument}>", value, path)
    return path


def test_no_get_changes_state(app, client, everything):
    token = everything
    before = fingerprint()
    visited = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("auth.logout",):
            continue
        response = client.get(concrete(rule, token))
        assert response.status_code < 500, rule.rule
        visited += 1
    db.session.expire_all()
    assert fingerprint() == before
    assert visited > 40


def test_every_state_changing_request_needs_a_csrf_token(app, client, everything):
    token = everything
    before = fingerprint()
    checked = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in CSRF_EXEMPT:
            continue
        response = client.post(concrete(rule, token), data={"anything": "y"})
        expected = 302 if rule.endpoint in ENDS_THE_SESSION else 400
        assert response.status_code == expected, (rule.rule, response.status_code)
        checked += 1
    db.session.expire_all()
    assert fingerprint() == before
    assert checked > 20


def test_a_get_never_writes_even_inside_its_own_transaction(client, invited, statements):
    """Stricter than the crawl: a GET must not even flush a write that is rolled back
    later (it would take SQLite's write lock and queue every other reader behind it)."""
    token = invited(9)
    with statements() as sent:
        for path in (f"/i/{token}", f"/i/{token}/form", f"/i/{token}/thanks", "/", "/statistics"):
            assert client.get(path).status_code in (200, 302)
    writes = [
        " ".join(statement.split()[:3])
        for statement in sent
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
