"""The Centres of Excellence figures on the statistics page and in /api/v1/stats: centres
(not entries) administering each EU-authorised ATMP, withdrawn products marked, and per
country the centres, GMP sites and clinical-trial units; each a table with a chart and a
CSV, in a fixed number of SQL statements; nothing of it while only Table 1 is asked."""

from __future__ import annotations

import csv
import io
import re

import jsonschema
import pytest
from openapi_spec_validator import validate

from surveyapp.definitions import table1 as table1_definition
from surveyapp.extensions import db
from surveyapp.history.service import Provenance
from surveyapp.registry.models import Entry
from surveyapp.registry.service import (
    FieldUpdate,
    add_entry,
    change_fields,
    retire_entry,
    updates_from_text,
)
from surveyapp.registry.statistics import capacity_statistics
from surveyapp.vocabulary import ChangeSource

EDIT = Provenance(ChangeSource.STAFF_EDIT, "curator@example.org")


def answer(target, **answers) -> None:
    """Give an institution or entry answers through the registry's change with history."""
    change_fields(target, {k: FieldUpdate(v, "") for k, v in answers.items()}, EDIT)


def second_entry(institution):
    """Another programme of the same institution."""
    updates, _ = updates_from_text(
        table1_definition().level_fields("entry"), {"atmp_type": "Gene therapy"}
    )
    return add_entry(institution, updates, EDIT)


@pytest.fixture
def registry(app, make_entry):
    """Five centres:

    - A (Germany): two programmes, both giving Kymriah, one also Yescarta; own GMP
      facility, a clinical-trial unit, CAR-T and gene editing;
    - B (Germany): Kymriah and ChondroCelect (withdrawn); GMP through a partner, no
      trial unit, CAR-T;
    - C (France): Yescarta; GMP planned, a trial unit;
    - D (France): its only programme (Kymriah) retired: counted nowhere, though it has
      an own GMP facility and a trial unit;
    - E (Italy): a programme, nothing answered.
    """
    ids = {name: make_entry(institution=f"Centre {name}", country=country)
           for name, country in (("A", "DE"), ("B", "DE"), ("C", "FR"), ("D", "FR"),
                                 ("E", "IT"))}  # fmt: skip
    with app.app_context():
        a, b, c, d = (db.session.get(Entry, ids[name]) for name in "ABCD")
        answer(a, authorised_atmps=["kymriah", "yescarta"])
        answer(second_entry(a.institution), authorised_atmps=["kymriah"])
        answer(a.institution, gmp_manufacturing="own_facility", clinical_trial_unit="yes",
               technology_platforms=["car_t", "gene_editing"])  # fmt: skip
        answer(b, authorised_atmps=["kymriah", "chondrocelect"])
        answer(b.institution, gmp_manufacturing="through_partner", clinical_trial_unit="no",
               technology_platforms=["car_t"])  # fmt: skip
        answer(c, authorised_atmps=["yescarta"])
        answer(c.institution, gmp_manufacturing="planned", clinical_trial_unit="yes")
        answer(d, authorised_atmps=["kymriah"])
        answer(d.institution, gmp_manufacturing="own_facility", clinical_trial_unit="yes")
        retire_entry(d, "Programme ended", EDIT)
        db.session.commit()
    return ids


def csv_rows(client, name: str) -> list[list[str]]:
    response = client.get(f"/statistics/{name}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def section(page: str, name: str) -> str:
    found = page[page.index(f'<section aria-labelledby="{name}">') :]
    return found[: found.index("</section>")]


def test_figures_count_centres_with_an_active_entry(registry, ctx):
    assert capacity_statistics() == {
        # A counts once for Kymriah though two programmes give it; D's is retired.
        "centres_by_authorised_atmp": {"chondrocelect": 1, "kymriah": 2, "yescarta": 2},
        "capacity_by_country": {
            "DE": {"institutions": 2, "gmp_sites": 2, "trial_units": 1},
            "FR": {"institutions": 1, "gmp_sites": 0, "trial_units": 1},
            "IT": {"institutions": 1, "gmp_sites": 0, "trial_units": 0},
        },
    }


def test_centres_per_product_is_a_table_with_chart_and_withdrawn_products_marked(client, registry):
    page = client.get("/statistics").get_data(as_text=True)
    assert (
        '<a href="#centres-by-authorised-atmp">Centres administering each EU-authorised ATMP</a>'
        in page
    )
    found = section(page, "centres-by-authorised-atmp")
    assert "<title>Kymriah: 2</title>" in found
    assert "<title>ChondroCelect (withdrawn): 1</title>" in found
    assert re.search(r'<th scope="row">Kymriah</th><td>authorised</td><td>2</td>', found)
    assert re.search(
        r'<th scope="row">ChondroCelect \(withdrawn\)</th><td>withdrawn</td><td>1</td>', found
    )
    assert "Glybera" not in found  # nobody administers it
    assert 'class="table-wrap" tabindex="0" role="group"' in found


def test_centres_per_product_downloads_as_csv(client, registry):
    assert csv_rows(client, "centres-by-authorised-atmp") == [
        ["Authorised ATMP", "Status", "Centres"],
        ["Kymriah", "authorised", "2"],
        ["Yescarta", "authorised", "2"],
        ["ChondroCelect (withdrawn)", "withdrawn", "1"],
    ]


def test_gmp_sites_and_trial_units_per_country(client, registry):
    page = client.get("/statistics").get_data(as_text=True)
    found = section(page, "capacity-by-country")
    assert '<h2 id="capacity-by-country">GMP sites and clinical-trial units by country</h2>' in (
        found
    )
    assert 'aria-label="GMP sites by country"' in found
    assert "<title>Germany: 2</title>" in found
    assert "<title>France" not in found  # no GMP site there: no bar
    assert re.search(r'<th scope="row">France</th><td>1</td><td>0</td><td>1</td>', found)
    assert csv_rows(client, "capacity-by-country") == [
        ["Country", "Centres", "GMP sites", "Clinical-trial units"],
        ["Germany", "2", "2", "1"],
        ["France", "1", "0", "1"],
        ["Italy", "1", "0", "0"],
    ]


def test_centres_per_technology_platform_count_institutions_once(client, registry):
    found = section(
        client.get("/statistics").get_data(as_text=True), "answers-technology_platforms"
    )
    assert '<th scope="col">Institutions</th>' in found
    # A has two programmes and counts once; four centres have an active entry.
    assert re.search(r'<th scope="row">CAR-T[^<]*</th><td>2</td><td>50%</td>', found)
    assert re.search(r'<th scope="row">Gene editing[^<]*</th><td>1</td><td>25%</td>', found)


def test_stats_api_carries_the_figures_as_the_openapi_document_describes(client, registry):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    stats = document["components"]["schemas"]["Stats"]
    assert {"centres_by_authorised_atmp", "capacity_by_country"} <= set(stats["required"])
    body = client.get("/api/v1/stats").get_json()
    jsonschema.validate(
        body,
        {"$ref": "#/components/schemas/Stats", "components": document["components"]},
        cls=jsonschema.Draft202012Validator,
    )
    assert body["centres_by_authorised_atmp"] == {"chondrocelect": 1, "kymriah": 2, "yescarta": 2}
    assert body["capacity_by_country"]["DE"] == {
        "institutions": 2,
        "gmp_sites": 2,
        "trial_units": 1,
    }
    body["capacity_by_country"]["DE"]["gmp_sites"] = -1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            body,
            {"$ref": "#/components/schemas/Stats", "components": document["components"]},
            cls=jsonschema.Draft202012Validator,
        )


def test_a_fixed_number_of_statements_whatever_the_registry_holds(
    app, registry, make_entry, statements
):
    def counted() -> int:
        with app.app_context():
            capacity_statistics()  # vocabulary versions looked up once per context
            with statements() as sent:
                capacity_statistics()
        return len(sent)

    few = counted()
    for n in range(6):
        entry_id = make_entry(institution=f"More {n}", country="AT")
        with app.app_context():
            entry = db.session.get(Entry, entry_id)
            answer(entry, authorised_atmps=["kymriah", "zolgensma"])
            answer(entry.institution, gmp_manufacturing="own_facility")
            db.session.commit()
    assert few == counted() == 2


def test_without_table1_v2_nothing_changes(client, make_entry, table1_questionnaire_only):
    make_entry()
    page = client.get("/statistics").get_data(as_text=True)
    assert "centres-by-authorised-atmp" not in page and "capacity-by-country" not in page
    assert client.get("/statistics/centres-by-authorised-atmp.csv").status_code == 404
    assert client.get("/statistics/capacity-by-country.csv").status_code == 404
    body = client.get("/api/v1/stats").get_json()
    assert "centres_by_authorised_atmp" not in body and "capacity_by_country" not in body
    stats = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Stats"]
    assert "capacity_by_country" not in stats["properties"]
