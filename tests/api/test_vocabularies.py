"""`GET /api/v1/vocabularies/authorised-atmps`: the EU-authorised ATMPs of the newest
version, withdrawn ones included, with the evidence cut-off, as the OpenAPI document says."""

from __future__ import annotations

import csv
import io

import jsonschema
import pytest

from surveyapp.extensions import db
from surveyapp.registry.authorised_atmps import SHIPPED_CSV, import_products
from tests.api.schema import check


def test_the_document_describes_the_vocabulary_endpoint(spec):
    operation = spec["paths"]["/vocabularies/authorised-atmps"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AuthorisedAtmps"
    }


def test_every_shipped_product_with_its_class_status_dates_and_cut_off(client, spec):
    response = client.get("/api/v1/vocabularies/authorised-atmps")
    assert response.status_code == 200
    body = response.get_json()
    check(spec, "AuthorisedAtmps", body)
    assert (body["id"], body["version"], body["cut_off"]) == ("authorised_atmps", 1, "2026-01")
    assert body["source"].startswith("EMA EPARs")
    products = {product["code"]: product for product in body["products"]}
    assert len(products) == 31
    assert products["chondrocelect"] == {
        "code": "chondrocelect",
        "name": "ChondroCelect",
        "active_substance": "characterised viable autologous cartilage cells expanded ex vivo "
        "expressing specific marker proteins",
        "atmp_class": "tissue engineered",
        "status": "withdrawn",
        "status_changed": "2016-07-29",
        "first_authorised": "2009-10-05",
        "therapeutic_area": "cartilage defects of the knee (femoral condyle)",
        "holder": "TiGenix NV",
        "sources": [
            "https://www.ema.europa.eu/en/medicines/human/EPAR/chondrocelect",
            "https://www.ema.europa.eu/en/news/european-medicines-agency-recommends-first-"
            "marketing-authorisation-advanced-therapy-medicinal-product",
            "https://www.regulatoryrapporteur.org/cpd-supplements/understanding-the-basics-of-"
            "atmp-regulation/99.article",
            "http://www.genpharmservices.com/chondrocelect/",
        ],
        "confidence": "high",
    }
    kymriah = products["kymriah"]
    assert (kymriah["status"], kymriah["status_changed"], kymriah["first_authorised"]) == (
        "authorised",
        None,
        "2018-08",
    )
    by_status = {}
    for product in body["products"]:
        by_status[product["status"]] = by_status.get(product["status"], 0) + 1
    assert by_status == {"authorised": 23, "withdrawn": 6, "expired": 1, "not renewed": 1}


def test_a_recorded_version_is_served_at_once(app, client, spec):
    with SHIPPED_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    yescarta = next(row for row in rows if row["product"] == "Yescarta")
    yescarta["status"], yescarta["status_changed"] = "expired", "2026-03"
    rows.append({**yescarta, "product": "Newcel", "status": "authorised", "status_changed": ""})
    products_file = io.StringIO()
    writer = csv.DictWriter(products_file, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    with app.app_context():
        import_products(products_file.getvalue(), "test", cut_off="2026-03-31")
        db.session.commit()
    body = client.get("/api/v1/vocabularies/authorised-atmps").get_json()
    check(spec, "AuthorisedAtmps", body)
    assert (body["version"], body["cut_off"]) == (2, "2026-03-31")
    products = {product["code"]: product for product in body["products"]}
    assert len(products) == 32
    assert products["newcel"]["name"] == "Newcel"
    assert (products["yescarta"]["status"], products["yescarta"]["status_changed"]) == (
        "expired",
        "2026-03",
    )


def test_the_schema_refuses_what_the_vocabulary_never_holds(client, spec):
    body = client.get("/api/v1/vocabularies/authorised-atmps").get_json()
    product = body["products"][0]
    for wrong in (
        {**product, "status": "suspended"},
        {**product, "atmp_class": "cell therapy"},
        {**product, "first_authorised": "October 2009"},
        {**product, "unexpected": 1},
    ):
        with pytest.raises(jsonschema.ValidationError):
            check(spec, "AuthorisedAtmps", {**body, "products": [wrong]})
