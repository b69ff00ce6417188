"""The public release pages and files, and the staff page that makes a release."""

from __future__ import annotations

import hashlib

import pytest

from surveyapp.releases import publishing
from surveyapp.vocabulary import Role
from tests.conftest import csrf_token


def test_before_the_first_release_the_list_says_so(client, table1):
    page = client.get("/releases/")
    assert page.status_code == 200
    assert "No release has been published yet" in page.get_data(as_text=True)


def test_the_list_shows_each_release_with_notes_counts_and_downloads(client, table1, release):
    release("1.0", "For the CoE call")
    release("1.1")
    page = client.get("/releases/").get_data(as_text=True)
    assert page.index("Release 1.1") < page.index("Release 1.0")
    assert "For the CoE call" in page and "55 entries" in page
    assert "/releases/1.0/files/registry.csv" in page and "/releases/1.1/changelog" in page
    assert "Since 1.0:" in page and "The first release." in page


def test_a_release_page_tells_how_to_cite_it_and_lists_hashes(client, table1, release):
    made = release("1.0")
    page = client.get("/releases/1.0").get_data(as_text=True)
    assert "release 1.0 [dataset]" in page and "/releases/1.0" in page
    for published in made.files:
        assert published.sha256 in page and f"/releases/1.0/files/{published.name}" in page
    release("1.1")
    assert "A newer release exists" in client.get("/releases/1.0").get_data(as_text=True)


def test_the_changelog_page_shows_each_change_with_old_and_new(client, table1, release, make_entry):
    release("1.0")
    make_entry("Nova Cell Centre", "AT")
    release("1.1")
    page = client.get("/releases/1.1/changelog").get_data(as_text=True)
    assert "Entries added (1)" in page and "Nova Cell Centre" in page
    assert "Institutions added (1)" in page
    first = client.get("/releases/1.0/changelog").get_data(as_text=True)
    assert "The first release" in first


def test_files_are_served_as_published_with_a_strong_etag_and_304(client, table1, release):
    made = release("1.0")
    published = made.file("registry.csv")
    response = client.get("/releases/1.0/files/registry.csv")
    assert response.status_code == 200
    assert hashlib.sha256(response.data).hexdigest() == published.sha256
    assert response.headers["ETag"] == f'"{published.sha256}"'
    assert "immutable" in response.headers["Cache-Control"]
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "atmp-registry-1.0-registry.csv" in response.headers["Content-Disposition"]
    again = client.get(
        "/releases/1.0/files/registry.csv", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""
    since = client.get(
        "/releases/1.0/files/registry.csv",
        headers={"If-Modified-Since": response.headers["Last-Modified"]},
    )
    assert since.status_code == 304


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/releases/9.9", "There is no release 9.9."),
        ("/releases/9.9/changelog", "There is no release 9.9."),
        ("/releases/1.0/files/secrets.txt", "Release 1.0 has no file secrets.txt."),
        ("/releases/1.0/files/surveyapp.sqlite", "Release 1.0 has no file surveyapp.sqlite."),
        ("/releases/1.0/files/..", "Release 1.0 has no file ..."),
    ],
)
def test_unknown_releases_and_files_are_not_found(client, table1, release, path, message):
    release("1.0")
    response = client.get(path)
    assert response.status_code == 404 and message in response.get_data(as_text=True)


@pytest.mark.parametrize("damage", ["missing", "replaced"])
def test_a_file_missing_or_replaced_on_the_server_is_never_served(client, table1, release, damage):
    release("1.0")
    path = publishing.release_dir("1.0") / "registry.json"
    path.chmod(0o644)
    if damage == "missing":
        path.unlink()
    else:
        path.write_text("[]\n")
    response = client.get("/releases/1.0/files/registry.json")
    assert response.status_code == 404
    assert "missing from the server or is not the one published" in response.get_data(as_text=True)


def test_a_curator_makes_a_release_from_the_page(client, table1, staff, ctx):
    page = client.get("/staff/releases/new").get_data(as_text=True)
    assert 'value="1.0"' in page and "This will be the first release." in page
    token = csrf_token(client, "/staff/releases/new")
    response = client.post(
        "/staff/releases/new", data={"version": "1.0", "notes": "First", "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/releases/1.0")
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Release 1.0 is published: 55 entries" in shown
    assert publishing.get_release("1.0").created_by == staff
    assert 'value="1.1"' in client.get("/staff/releases/new").get_data(as_text=True)


def test_the_page_keeps_what_was_typed_and_says_what_is_wrong(client, table1, staff, release):
    release("1.0")
    token = csrf_token(client, "/staff/releases/new")
    response = client.post(
        "/staff/releases/new",
        data={"version": "0.9", "notes": "My careful notes", "csrf_token": token},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "needs a higher version than 1.0" in page and "My careful notes" in page
    assert 'value="0.9"' in page


def test_a_large_registry_is_released_by_the_command(client, app, table1, staff, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "RELEASE_PAGE_MAX_ENTRIES", 10)
    page = client.get("/staff/releases/new").get_data(as_text=True)
    assert "flask registry release VERSION" in page and '<form method="post"' not in page
    token = csrf_token(client, "/releases/")
    response = client.post("/staff/releases/new", data={"version": "1.0", "csrf_token": token})
    assert response.status_code == 200 and publishing.latest_release() is None


def test_coordinators_may_read_releases_but_not_make_them(client, table1, make_user, auth):
    auth.login(make_user("coordinator@example.org", Role.COORDINATOR))
    assert client.get("/releases/").status_code == 200
    assert "Make a release" not in client.get("/releases/").get_data(as_text=True)
    assert client.get("/staff/releases/new").status_code == 403
