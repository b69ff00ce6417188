"""The capacity profile and the authorised ATMPs of table1-v2 in ``/api/v1``: typed values
beside Table 1's, described by the OpenAPI document the API serves, filterable like the
directory; the access contact point (personal) withheld from the public."""

from __future__ import annotations

from openapi_spec_validator import validate

from tests.api.test_generic_fields import check
from tests.registry.test_capacity_filters import profiled  # noqa: F401 (fixture)


def test_capacity_answers_are_served_as_documented(client, profiled):  # noqa: F811
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    body = client.get("/api/v1/entries?per_page=100&gmp_manufacturing=own_facility").get_json()
    check(document, "EntryPage", body)
    assert [item["id"] for item in body["items"]] == [e.id for e in profiled.entries]
    item = next(i for i in body["items"] if i["authorised_atmps"])
    assert item["gmp_manufacturing"] == "own_facility"
    assert item["technology_platforms"] == ["gene_editing", "car_t"]
    assert item["authorised_atmps"] == ["kymriah", "glybera"]
    assert item["facility_access_contact"] is None  # personal: withheld from the public

    described = str(document["components"]["schemas"]["Entry"]["properties"]["authorised_atmps"])
    assert "kymriah" in described and "waskyra" in described


def test_a_product_filter_finds_the_centres_administering_it(client, profiled):  # noqa: F811
    found = client.get("/api/v1/entries?authorised_atmps=kymriah").get_json()
    assert {i["institution_id"] for i in found["items"]} == {profiled.id}
    assert client.get("/api/v1/entries?authorised_atmps=luxturna").get_json()["items"] == []
