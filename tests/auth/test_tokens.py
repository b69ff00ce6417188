"""Personal API tokens: shown once, stored as a hash, revocable; the API then shows contacts."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from surveyapp.auth.models import ApiToken
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from tests.conftest import csrf_token


def create_token(client, name: str = "nightly sync") -> str:
    response = client.post(
        "/account/tokens", data={"csrf_token": csrf_token(client, "/account/"), "name": name}
    )
    assert response.status_code == 200
    match = re.search(r'<code class="secret">(sat_[^<]+)</code>', response.get_data(as_text=True))
    assert match
    return match.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_shown_once_and_only_its_hash_is_stored(client, staff, ctx):
    token = create_token(client)
    assert token not in client.get("/account/").get_data(as_text=True)
    record = db.session.scalars(select(ApiToken)).one()
    assert record.token_hash != token and len(record.token_hash) == 64
    dump = " ".join(str(row) for row in db.session.execute(text("SELECT * FROM api_token")))
    assert token not in dump
    assert token[:10] == record.prefix
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "token.create"))
    assert event.detail == {"name": "nightly sync"}


def test_the_api_shows_contacts_with_a_valid_token(app, client, staff, table1):
    token = create_token(client)
    anonymous = app.test_client()
    herlev = anonymous.get("/api/v1/entries?country=DK").get_json()["items"][0]
    assert herlev["contact_person"] is None
    assert herlev["needs_curation"] is None
    with_token = anonymous.get("/api/v1/entries?country=DK", headers=bearer(token)).get_json()
    assert with_token["items"][0]["contact_person"] == "Dr. Inge Marie Svane"
    assert with_token["items"][0]["needs_curation"] is True
    one = anonymous.get(f"/api/v1/entries/{herlev['id']}", headers=bearer(token)).get_json()
    assert one["contact_person"] == "Dr. Inge Marie Svane"


def test_the_api_shows_contacts_to_a_staff_session(client, staff, table1):
    item = client.get("/api/v1/entries?country=DK").get_json()["items"][0]
    assert item["contact_person"] == "Dr. Inge Marie Svane"


@pytest.mark.parametrize(
    "header", ["Bearer sat_not-a-real-token", "Bearer ", "Basic abc", "Bearer " + "x" * 300]
)
def test_a_wrong_token_gets_401_not_public_data(client, table1, header):
    response = client.get("/api/v1/entries", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_a_revoked_token_stops_working(app, client, staff, table1, ctx):
    token = create_token(client)
    token_id = db.session.scalars(select(ApiToken.id)).one()
    response = client.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/account/")}
    )
    assert response.status_code == 302
    assert app.test_client().get("/api/v1/stats", headers=bearer(token)).status_code == 401
    assert "revoked" in client.get("/account/").get_data(as_text=True)


def test_a_deactivated_users_token_stops_working(app, client, staff, table1, ctx):
    from surveyapp.auth.service import find_user

    token = create_token(client)
    find_user(staff).active = False
    db.session.commit()
    assert app.test_client().get("/api/v1/stats", headers=bearer(token)).status_code == 401


def test_one_cannot_revoke_someone_elses_token(app, client, staff, make_user, ctx):
    create_token(client)
    token_id = db.session.scalars(select(ApiToken.id)).one()
    from tests.conftest import AuthActions

    other = AuthActions(app.test_client())
    make_user("other@example.org")
    other.login("other@example.org")
    response = other.client.post(
        f"/account/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token(other.client, "/account/")},
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, token_id).revoked_at is None


def test_a_token_needs_a_name(client, staff):
    response = client.post(
        "/account/tokens", data={"csrf_token": csrf_token(client, "/account/"), "name": ""}
    )
    assert response.status_code == 400
    assert "This field is required" in response.get_data(as_text=True)


def test_a_token_opens_the_api_only_not_staff_pages(app, client, staff, table1):
    token = create_token(client)
    other = app.test_client()
    assert other.get("/account/", headers=bearer(token)).status_code == 302
    assert other.get("/staff/registry/export.csv", headers=bearer(token)).status_code == 302
    assert other.get("/api/v1/stats", headers=bearer(token)).status_code == 200
