"""``changed_since`` on /api/v1/entries and /api/v1/institutions, and the institutions
endpoints: a harvester fetches only what changed since its last visit, and an institution's
change (its name) reaches every one of its entries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from sqlalchemy import func, select, update

from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.service import Provenance
from surveyapp.registry import service
from surveyapp.registry.merging import merge_institutions
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.service import FieldUpdate, change_fields
from surveyapp.vocabulary import ChangeSource
from tests.api.schema import check
from tests.conftest import institution_of_row

EDIT = Provenance(ChangeSource.STAFF_EDIT, "curator@example.org")


def since(moment: datetime) -> str:
    """A ``changed_since`` query value, the '+' of its offset encoded."""
    return quote(moment.isoformat())


def ids(body) -> set[int]:
    return {item["id"] for item in body["items"]}


def shared_institution_id() -> int:
    """An institution of Table 1 with more than one entry."""
    return db.session.scalars(
        select(Entry.institution_id).group_by(Entry.institution_id).having(func.count() > 1)
    ).first()


@pytest.fixture
def after_import(table1, ctx) -> datetime:
    """An instant after Table 1 was loaded (backdated a day, so that no test's instant
    falls within the import) and before anything changed."""
    yesterday = utcnow() - timedelta(days=1)
    db.session.execute(update(Entry).values(updated_at=yesterday))
    db.session.execute(update(Institution).values(updated_at=yesterday))
    db.session.commit()
    return utcnow()


def test_only_entries_changed_since_the_instant_are_listed(client, after_import):
    entry = db.session.scalars(select(Entry).order_by(Entry.id)).first()
    change_fields(entry, {"contract_research": FieldUpdate("no", "No")}, EDIT)
    db.session.commit()

    body = client.get(f"/api/v1/entries?changed_since={since(after_import)}").get_json()
    assert (body["total"], ids(body)) == (1, {entry.id})
    assert body["items"][0]["contract_research"] == "No"

    before_import = after_import - timedelta(days=2)
    assert client.get(f"/api/v1/entries?changed_since={since(before_import)}").json["total"] == 55
    later = utcnow()
    assert client.get(f"/api/v1/entries?changed_since={since(later)}").json["total"] == 0
    assert client.get("/api/v1/entries").json["total"] == 55


def test_an_institutions_change_reaches_each_of_its_entries(client, after_import):
    institution = db.session.get(Institution, shared_institution_id())
    expected = {entry.id for entry in institution.entries if entry.is_active}
    assert len(expected) > 1
    change_fields(
        institution, {"institution": FieldUpdate("Renamed Centre", "Renamed Centre")}, EDIT
    )
    db.session.commit()

    body = client.get(f"/api/v1/entries?changed_since={since(after_import)}&per_page=500").json
    assert ids(body) == expected
    assert {item["institution"] for item in body["items"]} == {"Renamed Centre"}
    listed = client.get(f"/api/v1/institutions?changed_since={since(after_import)}").json
    assert (listed["total"], ids(listed)) == (1, {institution.id})
    assert listed["items"][0]["institution"] == "Renamed Centre"


def test_an_entry_change_lists_its_institution(client, after_import):
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 7)).one()
    service.retire_entry(entry, "closed", EDIT)
    db.session.commit()

    listed = client.get(f"/api/v1/institutions?changed_since={since(after_import)}").json
    assert ids(listed) == {entry.institution_id}
    assert entry.id not in listed["items"][0]["entries"]
    entries = client.get(f"/api/v1/entries?changed_since={since(after_import)}").json
    assert entries["total"] == 0  # retired entries are not listed


def test_an_instant_is_read_in_its_zone_and_without_one_as_utc(client, after_import):
    entry = db.session.scalars(select(Entry).order_by(Entry.id)).first()
    change_fields(entry, {"contract_research": FieldUpdate("no", "No")}, EDIT)
    db.session.commit()
    changed = entry.updated_at
    just_before = changed - timedelta(seconds=1)
    just_after = changed + timedelta(seconds=1)

    def total(value: str) -> int:
        response = client.get(f"/api/v1/entries?changed_since={value}")
        assert response.status_code == 200, response.json
        return response.json["total"]

    berlin = timezone(timedelta(hours=2))
    assert total(since(just_before.astimezone(berlin))) == 1
    assert total(since(just_after.astimezone(berlin))) == 0
    naive = just_before.replace(tzinfo=None).isoformat()  # read as UTC
    assert total(naive) == 1
    assert total(just_before.strftime("%Y-%m-%dT%H:%M:%S") + "Z") == 1
    assert total(just_before.astimezone(berlin).isoformat().replace("+", " ")) == 1
    assert total(changed.date().isoformat()) >= 1
    assert total((changed + timedelta(days=1)).date().isoformat()) == 0


@pytest.mark.parametrize("url", ["/api/v1/entries", "/api/v1/institutions"])
@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-13-01",
        "2026-01-01T25:00",
        "31.01.2026",
        "1700000000",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_a_malformed_instant_is_a_400_problem_naming_the_parameter(client, spec, url, value):
    response = client.get(f"{url}?changed_since={quote(value)}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    check(spec, "Problem", response.json)
    assert response.json["detail"].startswith("changed_since: must be an ISO 8601 date")


def test_institutions_page_matches_the_document(client, table1, spec, ctx):
    body = client.get("/api/v1/institutions?per_page=500").get_json()
    check(spec, "InstitutionPage", body)
    count = db.session.scalar(select(func.count()).select_from(Institution))
    assert body["total"] == count == len(body["items"])
    assert [item["id"] for item in body["items"]] == sorted(item["id"] for item in body["items"])
    listed = sorted(entry_id for item in body["items"] for entry_id in item["entries"])
    assert listed == sorted(db.session.scalars(select(Entry.id)))

    first = client.get("/api/v1/institutions?per_page=20&page=2").get_json()
    assert (first["page"], first["per_page"], first["total"]) == (2, 20, count)
    assert [item["id"] for item in first["items"]] == [i["id"] for i in body["items"][20:40]]


def test_one_institution_matches_the_document_with_public_fields_only(client, table1, spec, ctx):
    entry = client.get("/api/v1/entries?country=DK").get_json()["items"][0]
    institution = db.session.get(Institution, entry["institution_id"])
    institution.answers = {
        "gmp_manufacturing": "own_facility",
        "clinical_trial_unit": "yes",
        "facility_access_contact": "Dr. Private Person",
    }
    db.session.commit()

    body = client.get(f"/api/v1/institutions/{institution.id}").get_json()
    check(spec, "Institution", body)
    assert body["institution"] == entry["institution"]
    assert (body["country"], body["country_code"]) == ("Denmark", "DK")
    assert body["entries"] == [entry["id"]]
    assert (body["gmp_manufacturing"], body["clinical_trial_unit"]) == ("own_facility", "yes")
    assert "facility_access_contact" not in body
    assert "Dr. Private Person" not in client.get("/api/v1/institutions?per_page=500").text
    assert (
        "facility_access_contact" not in spec["components"]["schemas"]["Institution"]["properties"]
    )


def test_the_institution_schema_follows_the_definitions_in_use(spec):
    properties = spec["components"]["schemas"]["Institution"]["properties"]
    assert {"id", "institution", "country", "website", "entries", "last_changed"} <= set(properties)
    assert properties["gmp_manufacturing"]["enum"][:2] == ["none", "planned"]
    assert "contract_research" not in properties  # an entry-level field


def test_an_unknown_institution_is_a_json_404(client, spec):
    response = client.get("/api/v1/institutions/999999")
    assert response.status_code == 404
    check(spec, "Problem", response.get_json())


def test_changed_since_is_documented(spec):
    for path in ("/entries", "/institutions"):
        names = [p["name"] for p in spec["paths"][path]["get"]["parameters"]]
        assert "changed_since" in names


def test_a_merge_shows_in_changed_since_and_the_merged_id_leads_to_the_survivor(
    client, spec, after_import
):
    keep, retire = institution_of_row(9), institution_of_row(12)
    moved = [entry.id for entry in retire.entries]
    merge_institutions(keep, retire, "curator@example.org")
    db.session.commit()

    listed = client.get(f"/api/v1/institutions?changed_since={since(after_import)}").json
    check(spec, "InstitutionPage", listed)
    by_id = {item["id"]: item for item in listed["items"]}
    assert set(by_id) == {keep.id, retire.id}
    assert (by_id[retire.id]["replaced_by"], by_id[retire.id]["entries"]) == (keep.id, [])
    assert by_id[keep.id]["replaced_by"] is None
    assert set(moved) <= set(by_id[keep.id]["entries"])
    assert by_id[keep.id]["public_id"] == keep.public_id

    response = client.get(f"/api/v1/institutions/{retire.id}")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/api/v1/institutions/{keep.id}")
    entries = client.get(f"/api/v1/entries?changed_since={since(after_import)}").json
    assert set(moved) <= ids(entries)
