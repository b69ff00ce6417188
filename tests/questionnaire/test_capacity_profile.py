"""A campaign on table1-v2: the Table 1 answers come pre-filled, so a respondent only adds
the capacity profile and the authorised ATMPs; a routine application without a product is
asked about, never refused; every new answer reaches the registry through the review."""

from __future__ import annotations

from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.history.models import FieldChange, Version
from surveyapp.questionnaire.models import Submission
from surveyapp.registry import cities
from surveyapp.vocabulary import SubmissionStatus
from tests.conftest import institution_of_row
from tests.questionnaire.test_form import post, prefilled
from tests.review.conftest import decide, take

PROMPT = "Please answer this question too"
CAPACITY = {
    "institution_block-city": "Dresden",
    "institution_block-gmp_manufacturing": "own_facility",
    "institution_block-gmp_authorisations": ["manufacturing_authorisation"],
    "institution_block-cleanroom_grades": ["a", "b"],
    "institution_block-product_classes_manufactured": ["gene_therapy"],
    "institution_block-batches_per_year": "24",
    "institution_block-clinical_trial_unit": "yes",
    "institution_block-trials_as_sponsor": "3",
    "institution_block-trials_as_site": "7",
    "institution_block-trial_phases": ["phase_1", "phase_1_2"],
    "institution_block-technology_transfer_office": "yes",
    "institution_block-biocluster_companies": "40",
    "institution_block-biocluster_institutes": "12",
    "institution_block-biocluster_names": "Biosaxony\r\nMax Planck CBG",
    "institution_block-stages_covered": ["discovery", "preclinical", "phase_1"],
    "institution_block-research_programme": "yes",
    "institution_block-research_programme_name": "CRTD Regenerative Therapies",
    "institution_block-technology_platforms": ["gene_editing", "psc_derived"],
    "institution_block-training_programmes": "yes",
    "institution_block-outreach": "no",
    "institution_block-facility_access": "Write to the core facility; we answer within a week.",
}


def submission() -> Submission:
    found = db.session.scalars(select(Submission)).one()
    db.session.refresh(found)
    return found


def test_table1_answers_are_prefilled_and_the_new_sections_follow(client, v2_link):
    html = client.get(f"/i/{v2_link}/form").get_data(as_text=True)
    data = prefilled(html)
    assert data["institution_block-institution"].startswith("Center for Regenerative Therapies")
    assert data["institution_block-country"] == "DE"
    assert data["entries-0-routine_application"] in ("yes", ["yes"])
    assert 'id="section-capacity"' in html and "<h2>Capacity profile</h2>" in html
    assert "<h3>Authorised ATMPs administered</h3>" in html
    assert "Kymriah" in html and "Glybera" in html
    assert not data.get("institution_block-gmp_manufacturing")
    # the city comes from the name Table 1 printed; the respondent is asked to check it
    assert data["institution_block-city"] == "Dresden"
    assert "please check it" in html


def test_a_routine_application_without_a_product_is_asked_about_not_refused(client, v2_link):
    html = client.get(f"/i/{v2_link}/form").get_data(as_text=True)
    assert PROMPT in html
    assert "Routine application of approved ATMP: Yes" in html

    response = post(client, v2_link, {"consent_store": "y"}, button="submit")
    assert response.status_code == 302
    assert submission().status == SubmissionStatus.SUBMITTED


def test_naming_a_product_answers_the_prompt(client, v2_link):
    post(client, v2_link, {"entries-0-authorised_atmps": ["kymriah", "yescarta"]})
    html = client.get(f"/i/{v2_link}/form").get_data(as_text=True)
    assert PROMPT not in html
    assert submission().answers["entries"][0]["fields"]["authorised_atmps"] == [
        "kymriah",
        "yescarta",
    ]


def test_every_new_answer_reaches_the_registry_with_history(client, v2_link, staff):
    answers = {
        **CAPACITY,
        "entries-0-authorised_atmps": ["kymriah", "glybera"],
        "entries-0-qualified_treatment_centre": ["kymriah"],
        "entries-0-hospital_exemption_products": "ARI-0001",
        "consent_store": "y",
    }
    assert post(client, v2_link, answers, button="submit").status_code == 302
    sent = submission()
    take(client, sent.id)
    response = decide(client, sent.id, "approve")
    assert response.status_code == 302, response.get_data(as_text=True)

    db.session.expire_all()
    institution = institution_of_row(12)
    assert institution.answers["city"] == "Dresden"
    assert institution.answers["gmp_manufacturing"] == "own_facility"
    assert institution.answers["batches_per_year"] == 24
    assert institution.answers["trial_phases"] == ["phase_1", "phase_1_2"]
    assert institution.answers["biocluster_names"] == ["Biosaxony", "Max Planck CBG"]
    assert institution.answers["technology_platforms"] == ["gene_editing", "psc_derived"]
    entry = next(e for e in institution.entries if e.source_row == 12)
    assert entry.answers["authorised_atmps"] == ["kymriah", "glybera"]
    assert entry.answers["qualified_treatment_centre"] == ["kymriah"]
    assert entry.answers["hospital_exemption_products"] == ["ARI-0001"]

    changed = set(
        db.session.scalars(
            select(FieldChange.field).join(Version).where(Version.institution_id == institution.id)
        )
    )
    assert {"gmp_manufacturing", "technology_platforms", "city"} <= changed
    assert cities.to_confirm([institution.id]) == set()

    public = client.get(f"/institutions/{institution.id}").get_data(as_text=True)
    assert "Own GMP facility" in public and "Kymriah" in public
    assert "Write to the core facility" in public
