"""``GET /api/v1/releases`` and ``/api/v1/releases/{version}``: what a harvester or a
citation manager needs to fetch a release and check its files."""

from __future__ import annotations

import hashlib

import pytest

from surveyapp.extensions import db
from surveyapp.releases import publishing
from tests.api.schema import check


@pytest.fixture
def released(app, table1, ctx, tmp_path, monkeypatch):
    """Releases 1.0 and 1.1 in this test's own folder."""
    monkeypatch.setitem(app.config, "RELEASES_DIR", tmp_path / "releases")
    for version in ("1.0", "1.1"):
        publishing.make_release(version, f"Notes of {version}", "curator@example.org")
        db.session.commit()


def test_the_document_describes_both_endpoints(spec):
    assert spec["paths"]["/releases"]["get"]["operationId"] == "listReleases"
    version = spec["paths"]["/releases/{version}"]["get"]["parameters"][0]
    assert version["name"] == "version" and version["schema"]["pattern"]


def test_the_list_has_every_release_newest_first(client, spec, released):
    body = client.get("/api/v1/releases").get_json()
    check(spec, "ReleaseList", body)
    assert [r["version"] for r in body["items"]] == ["1.1", "1.0"]
    assert body["items"][0]["previous_version"] == "1.0"
    assert body["items"][1]["notes"] == "Notes of 1.0"
    assert "curator@example.org" not in str(body)


def test_a_release_names_its_files_with_addresses_that_serve_them_as_hashed(client, spec, released):
    response = client.get("/api/v1/releases/1.0")
    body = response.get_json()
    check(spec, "Release", body)
    assert body["entry_count"] == 55 and body["changes"]["entries_added"] == 55
    by_name = {f["name"]: f for f in body["files"]}
    assert {"registry.csv", "datapackage.json", "CITATION.cff", "SHA256SUMS"} <= set(by_name)
    served = client.get(by_name["datapackage.json"]["url"])
    assert hashlib.sha256(served.data).hexdigest() == by_name["datapackage.json"]["sha256"]
    assert response.headers["Last-Modified"]
    again = client.get("/api/v1/releases/1.0", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_an_unknown_release_is_a_problem_404(client, spec, released):
    response = client.get("/api/v1/releases/9.0")
    assert response.status_code == 404
    assert response.get_json()["detail"] == "There is no release 9.0."


def test_before_any_release_the_list_is_empty(client, spec, table1):
    body = client.get("/api/v1/releases").get_json()
    check(spec, "ReleaseList", body)
    assert body == {"items": []}
