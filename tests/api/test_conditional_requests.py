"""ETag, Last-Modified and 304 on /api/v1: a client that asks again with the validators it
holds gets an empty 304 while nothing changed, the new data once something did, and a
staff member's answer (personal data) never shares a validator with the public's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from werkzeug.http import http_date

from surveyapp.auth.service import create_token, find_user
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.service import Provenance
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.service import FieldUpdate, change_fields
from surveyapp.vocabulary import ChangeSource, Role

EDIT = Provenance(ChangeSource.STAFF_EDIT, "curator@example.org")


@pytest.fixture
def urls(table1, ctx) -> list[str]:
    """Every GET of the API that returns data."""
    entry = db.session.scalars(select(Entry).order_by(Entry.id)).first()
    return [
        "/api/v1/entries?country=DE",
        f"/api/v1/entries/{entry.id}",
        "/api/v1/institutions",
        f"/api/v1/institutions/{entry.institution_id}",
        "/api/v1/stats",
        "/api/v1/vocabularies/authorised-atmps",
        "/api/v1/openapi.json",
    ]


@pytest.fixture
def token(app, make_user, ctx) -> str:
    """An API token of a curator."""
    user = find_user(make_user("curator@example.org", Role.CURATOR))
    secret = create_token(user, "nightly sync")
    db.session.commit()
    return secret


def test_every_answer_with_data_has_a_strong_etag_and_a_repeat_gets_an_empty_304(client, urls):
    for url in urls:
        first = client.get(url)
        assert first.status_code == 200, url
        etag = first.headers["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/"), url
        assert "Authorization" in first.headers["Vary"], url

        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304, url
        assert again.data == b"", url
        assert again.headers["ETag"] == etag, url

        other = client.get(url, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200, url
        assert other.data == first.data, url


def test_a_change_gives_a_new_etag_and_the_new_data(client, urls):
    entry_url, institution_url = urls[1], urls[3]
    held = {url: client.get(url).headers["ETag"] for url in (entry_url, institution_url)}
    entry = db.session.scalars(select(Entry).order_by(Entry.id)).first()
    change_fields(entry.institution, {"institution": FieldUpdate("Renamed", "Renamed")}, EDIT)
    db.session.commit()

    for url, etag in held.items():
        response = client.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 200, url
        assert response.headers["ETag"] != etag, url
        assert response.json["institution"] == "Renamed", url
    entries = client.get("/api/v1/entries?per_page=1", headers={"If-None-Match": held[entry_url]})
    assert entries.status_code == 200


def test_last_modified_is_the_newest_change_and_if_modified_since_gets_304(client, urls):
    entry_url = urls[1]
    entry = db.session.scalars(select(Entry).order_by(Entry.id)).first()
    newest = max(entry.updated_at, entry.institution.updated_at)
    response = client.get(entry_url)
    assert response.headers["Last-Modified"] == http_date(newest)

    listed = client.get("/api/v1/entries")
    registry_newest = max(
        db.session.scalar(select(func.max(Entry.updated_at))),
        db.session.scalar(select(func.max(Institution.updated_at))),
    )
    assert listed.headers["Last-Modified"] == http_date(registry_newest)

    for url in (entry_url, "/api/v1/entries", "/api/v1/institutions", "/api/v1/stats"):
        modified = client.get(url).headers["Last-Modified"]
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304, url
        earlier = http_date(newest - timedelta(days=1))
        assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200, url


def test_a_list_that_lost_an_entry_is_modified(client, urls, ctx):
    """Retiring an entry removes it from the list: the list's Last-Modified moves on, even
    though every entry still listed is unchanged."""
    yesterday = utcnow() - timedelta(days=1)  # Table 1 loaded a day ago
    db.session.execute(update(Entry).values(updated_at=yesterday))
    db.session.execute(update(Institution).values(updated_at=yesterday))
    db.session.commit()
    listed = client.get("/api/v1/entries?country=DE")
    entry = db.session.scalars(select(Entry).where(Entry.country_code == "DE")).first()
    change_fields(entry, {"status": FieldUpdate("retired", "closed")}, EDIT)
    db.session.commit()

    again = client.get(
        "/api/v1/entries?country=DE",
        headers={"If-Modified-Since": listed.headers["Last-Modified"]},
    )
    assert again.status_code == 200
    assert again.json["total"] == listed.json["total"] - 1


def test_staff_answers_have_their_own_etag(app, client, urls, token):
    bearer = {"Authorization": f"Bearer {token}"}
    for url in urls[:2]:
        public = client.get(url)
        staff = client.get(url, headers=bearer)
        assert staff.status_code == 200
        assert staff.headers["ETag"] != public.headers["ETag"], url
        assert "Last-Modified" not in staff.headers  # curation flags change staff answers
        crossed = client.get(url, headers={**bearer, "If-None-Match": public.headers["ETag"]})
        assert crossed.status_code == 200, url
        assert client.get(url, headers={"If-None-Match": staff.headers["ETag"]}).status_code == 200
        repeated = client.get(url, headers={**bearer, "If-None-Match": staff.headers["ETag"]})
        assert repeated.status_code == 304, url


def test_even_an_answer_equal_for_staff_has_another_etag(client, urls, token):
    stats = "/api/v1/stats"
    public = client.get(stats)
    staff = client.get(stats, headers={"Authorization": f"Bearer {token}"})
    assert staff.data == public.data
    assert staff.headers["ETag"] != public.headers["ETag"]


def test_the_document_describes_304_and_the_validators(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        get = item["get"]
        assert "304" in get["responses"], path
        assert {"ETag", "Last-Modified"} <= set(get["responses"]["200"]["headers"]), path
        names = {p["name"] for p in get["parameters"] if p["in"] == "header"}
        assert names == {"If-None-Match", "If-Modified-Since"}, path
