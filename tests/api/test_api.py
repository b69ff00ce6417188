"""The read-only JSON API and its OpenAPI document."""

from __future__ import annotations

import jsonschema
import pytest

from surveyapp.api.openapi import openapi_document
from tests.api.schema import check


def test_the_schema_check_rejects_what_the_document_does_not_describe(client, table1, spec):
    item = client.get("/api/v1/entries?per_page=1").get_json()["items"][0]
    with pytest.raises(jsonschema.ValidationError):
        check(spec, "Entry", {**item, "unexpected": 1})
    with pytest.raises(jsonschema.ValidationError):
        check(spec, "Entry", {**item, "atmp_types": ["magic"]})


def test_the_openapi_document_is_valid_and_served(spec):
    assert spec["openapi"].startswith("3.1")
    assert set(spec["paths"]) == {
        "/entries",
        "/entries/{entry_id}",
        "/institutions",
        "/institutions/{institution_id}",
        "/stats",
        "/vocabularies/authorised-atmps",
        "/releases",
        "/releases/{version}",
        "/openapi.json",
    }
    assert spec == openapi_document()


def test_entries_page_matches_the_document(client, table1, spec):
    body = client.get("/api/v1/entries?per_page=500").get_json()
    check(spec, "EntryPage", body)
    assert body["total"] == 55
    assert len(body["items"]) == 55


def test_one_entry_matches_the_document(client, table1, spec):
    item = client.get("/api/v1/entries?country=DK").get_json()["items"][0]
    body = client.get(f"/api/v1/entries/{item['id']}").get_json()
    check(spec, "Entry", body)
    assert body["institution"].startswith("National Center for Cancer Immune Therapy")
    assert body["country"] == "Denmark"
    assert body["country_code"] == "DK"
    assert body["patients_treated"] == "114"
    assert (body["patients_estimate"], body["patients_qualifier"]) == (114, "exact")
    assert body["atmp_types"] == ["somatic_cell_therapy"]
    assert body["contract_research"] == "Yes"
    assert body["contract_research_value"] == "yes"
    assert body["contact_person"] is None
    assert body["contact_email"] is None
    # permanent public ids beside the numeric ones, the same the institution shows
    institution = client.get(f"/api/v1/institutions/{body['institution_id']}").get_json()
    assert body["institution_public_id"] == institution["public_id"]
    assert client.get(f"/id/{body['public_id']}").status_code == 301


def test_stats_match_the_document_and_hand_counted_table1(client, table1, spec):
    body = client.get("/api/v1/stats").get_json()
    check(spec, "Stats", body)
    assert body["entries"] == 55
    by_country = body["entries_by_country"]
    assert (by_country["IT"], by_country["ES"], by_country["DE"], by_country["FR"]) == (14, 7, 5, 4)
    assert by_country["unknown"] == 1
    assert sum(by_country.values()) == 55
    assert body["entries_by_contract_research"] == {
        "yes": 22,
        "no": 12,
        "possible": 8,
        "unknown": 13,
    }
    assert body["entries_by_routine_application"] == {
        "no": 24,
        "yes": 6,
        "clinical_trials_only": 2,
        "unknown": 23,
    }
    assert body["patients_treated_by_country"] == {
        "CZ": 0,
        "DK": 114,
        "FR": 0,
        "DE": 80,
        "IL": 300,
        "IT": 74,
        "ES": 900,
        "UA": 2,
        "GB": 17,
    }


@pytest.mark.parametrize(
    ("query", "total"),
    [
        ("country=de", 5),
        ("country=DE&atmp_type=gene_therapy", 3),
        ("q=hemafund", 2),
        ("q=nothing-like-this", 0),
        ("atmp_type=combined", 1),
    ],
)
def test_entries_filters(client, table1, query, total):
    body = client.get(f"/api/v1/entries?{query}").get_json()
    assert body["total"] == total
    assert len(body["items"]) == total


def test_pagination_pages_through_everything_once(client, table1):
    seen = []
    for page in (1, 2, 3):
        body = client.get(f"/api/v1/entries?per_page=20&page={page}").get_json()
        assert (body["page"], body["per_page"], body["pages"], body["total"]) == (page, 20, 3, 55)
        seen += [item["source_row"] for item in body["items"]]
    assert seen == list(range(1, 56))
    assert client.get("/api/v1/entries?per_page=20&page=4").get_json()["items"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("per_page=501", "per_page: must be a whole number from 1 to 500"),
        ("per_page=0", "per_page: must be a whole number from 1 to 500"),
        ("page=abc", "page: must be a whole number"),
        ("country=Germany", "country: must be an ISO 3166-1 alpha-2 code"),
        ("country=XX", "country: must be an ISO 3166-1 alpha-2 code"),
        ("atmp_type=magic", "atmp_type: must be one of gene_therapy"),
        ("q=" + "x" * 201, "q: must be at most 200 characters"),
    ],
)
def test_bad_parameters_get_a_400_problem_naming_them(client, spec, query, message):
    response = client.get(f"/api/v1/entries?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    check(spec, "Problem", body)
    assert message in body["detail"]


def test_unknown_entry_and_path_are_json_404s(client, spec):
    for url in ("/api/v1/entries/999999", "/api/v1/nothing"):
        response = client.get(url)
        assert response.status_code == 404
        check(spec, "Problem", response.get_json())


def test_the_api_is_read_only(client, table1):
    assert client.post("/api/v1/entries", json={}).status_code in (400, 405)
    assert client.delete("/api/v1/entries/1").status_code == 405
