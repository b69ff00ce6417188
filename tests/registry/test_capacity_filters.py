"""The public directory finds centres by the capacity profile of table1-v2: GMP on site,
clinical-trial unit, technology platform and the EU-authorised ATMPs administered; the
institution page shows the profile and the products."""

from __future__ import annotations

import pytest

from surveyapp.extensions import db
from surveyapp.history.service import Provenance
from surveyapp.registry import service as registry
from surveyapp.vocabulary import ChangeSource
from tests.conftest import institution_of_row
from tests.review.conftest import visible_text

EDIT = Provenance(ChangeSource.STAFF_EDIT, "curator@example.org")
DRESDEN = "Center for Regenerative Therapies"


@pytest.fixture
def profiled(table1, ctx):
    """TU Dresden (row 12) with a capacity profile and Kymriah given by its programme."""
    institution = institution_of_row(12)
    registry.change_fields(
        institution,
        {
            "gmp_manufacturing": registry.FieldUpdate("own_facility", ""),
            "clinical_trial_unit": registry.FieldUpdate("yes", ""),
            "technology_platforms": registry.FieldUpdate(["gene_editing", "car_t"], ""),
            "facility_access": registry.FieldUpdate("Ask the core facility.", ""),
        },
        EDIT,
    )
    registry.change_fields(
        institution.entries[0],
        {"authorised_atmps": registry.FieldUpdate(["kymriah", "glybera"], "")},
        EDIT,
    )
    db.session.commit()
    return institution


@pytest.mark.parametrize(
    "query",
    [
        "gmp_manufacturing=own_facility",
        "clinical_trial_unit=yes",
        "technology_platforms=gene_editing",
        "authorised_atmps=kymriah",
    ],
)
def test_the_directory_finds_centres_by_capacity(client, profiled, query):
    page = visible_text(client.get(f"/?{query}").get_data(as_text=True))
    assert DRESDEN in page
    assert "1 entry" in page


def test_a_filter_nobody_meets_finds_nothing_and_stays_visible(client, profiled):
    html = client.get("/?authorised_atmps=luxturna").get_data(as_text=True)
    assert DRESDEN not in html and "No entries match" in html
    assert '<details class="more-filters" open>' in html


def test_the_capacity_filters_are_folded_until_used(client, profiled):
    html = client.get("/").get_data(as_text=True)
    assert '<details class="more-filters">' in html
    assert ">Authorised ATMPs<" in html and ">GMP manufacturing<" in html


def test_the_institution_page_shows_the_profile_and_products(client, profiled):
    page = visible_text(client.get(f"/institutions/{profiled.id}").get_data(as_text=True))
    assert "Own GMP facility" in page and "Gene editing" in page
    assert "Kymriah" in page and "Glybera" in page
    assert "Ask the core facility." in page
