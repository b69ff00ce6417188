"""Each Centre of Excellence criterion is judged from the capacity answers as documented,
edge cases included, and dated by when its answers were last set or confirmed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.models import Version
from surveyapp.network.criteria import CRITERIA, assess, judge
from tests.network import make_institution, statements


def state(answers, criterion):
    return judge(answers)[criterion][0]


def evidence(answers, criterion):
    return judge(answers)[criterion][1]


def test_every_criterion_is_judged_in_the_topics_order(ctx):
    assert list(judge({})) == [
        "biocluster",
        "gmp",
        "trials",
        "spectrum",
        "research_programme",
        "knowledge_transfer",
        "training_outreach",
    ]
    assert [c.key for c in CRITERIA] == list(judge({}))
    assert {s for s, _ in judge({}).values()} == {"unknown"}


@pytest.mark.parametrize(
    ("companies", "institutes", "expected"),
    [
        (12, 3, "met"),
        (0, 3, "not_met"),  # zero companies: no biocluster, whatever the institutes
        (0, None, "not_met"),
        (12, 0, "not_met"),
        (12, None, "unknown"),
        (None, None, "unknown"),
    ],
)
def test_biocluster_needs_companies_and_institutes(ctx, companies, institutes, expected):
    answers = {"biocluster_companies": companies, "biocluster_institutes": institutes}
    assert state(answers, "biocluster") == expected


def test_biocluster_evidence_prints_both_counts_and_what_is_missing(ctx):
    assert evidence({"biocluster_companies": 0}, "biocluster") == (
        "0 companies and ? research institutes in the region"
    )


@pytest.mark.parametrize(
    ("answer", "expected", "shown"),
    [
        ("own_facility", "met", "GMP manufacturing: Own GMP facility"),
        ("through_partner", "met", "GMP manufacturing: Through a partner"),
        ("planned", "not_met", "GMP manufacturing: Planned"),
        ("none", "not_met", "GMP manufacturing: None"),
        (None, "unknown", "GMP manufacturing: not answered"),
    ],
)
def test_gmp_is_met_by_an_own_facility_or_a_partner(ctx, answer, expected, shown):
    assert judge({"gmp_manufacturing": answer})["gmp"] == (expected, shown)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"clinical_trial_unit": "yes"}, "met"),
        ({"clinical_trial_unit": "yes", "trials_as_sponsor": 0, "trials_as_site": 0}, "met"),
        # trials counted without a unit: run through another body, they count
        ({"clinical_trial_unit": "no", "trials_as_site": 3}, "met"),
        ({"trials_as_sponsor": 2}, "met"),
        ({"clinical_trial_unit": "unknown", "trials_as_site": 1}, "met"),
        ({"clinical_trial_unit": "no", "trials_as_sponsor": 0, "trials_as_site": 0}, "not_met"),
        ({"clinical_trial_unit": "no"}, "not_met"),
        ({"clinical_trial_unit": "unknown", "trials_as_sponsor": 0}, "unknown"),
        ({"trials_as_sponsor": 0, "trials_as_site": 0}, "unknown"),
        ({}, "unknown"),
    ],
)
def test_clinical_trials_need_a_unit_or_trials(ctx, answers, expected):
    assert state(answers, "trials") == expected


def test_clinical_trials_evidence_shows_the_unit_and_the_counts(ctx):
    assert evidence({"clinical_trial_unit": "no", "trials_as_site": 3}, "trials") == (
        "Clinical-trial unit: No; ATMP trials in the last five years: ? as sponsor, 3 as site"
    )
    assert evidence({"clinical_trial_unit": "unknown"}, "trials") == "Clinical-trial unit: Unknown"
    assert evidence({}, "trials") == "Clinical-trial unit: not answered"


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        (["discovery", "preclinical", "phase_1"], "met"),
        (["discovery", "phase_2_3"], "met"),
        (["preclinical", "process_development", "phase_1", "phase_2_3"], "not_met"),
        (["discovery", "preclinical", "gmp_manufacturing"], "not_met"),
        (["routine_care"], "not_met"),
        ([], "unknown"),
        (None, "unknown"),
    ],
)
def test_spectrum_runs_from_discovery_to_a_clinical_phase(ctx, stages, expected):
    assert state({"stages_covered": stages}, "spectrum") == expected


def test_spectrum_evidence_lists_the_stages_by_label(ctx):
    assert evidence({"stages_covered": ["discovery", "phase_1"]}, "spectrum") == (
        "Stages covered: Discovery, Phase I trials"
    )


@pytest.mark.parametrize(
    ("criterion", "field", "title"),
    [
        ("research_programme", "research_programme", "Stand-alone ATMP research programme"),
        ("knowledge_transfer", "technology_transfer_office", "Technology-transfer office"),
    ],
)
def test_yes_no_criteria_follow_their_answer(ctx, criterion, field, title):
    assert judge({field: "yes"})[criterion] == ("met", f"{title}: Yes")
    assert judge({field: "no"})[criterion] == ("not_met", f"{title}: No")
    assert judge({field: "unknown"})[criterion] == ("unknown", f"{title}: Unknown")
    assert judge({})[criterion] == ("unknown", f"{title}: not answered")


@pytest.mark.parametrize(
    ("training", "outreach", "expected"),
    [
        ("yes", "no", "met"),
        (None, "yes", "met"),
        ("unknown", "yes", "met"),
        ("no", "no", "not_met"),
        ("no", "unknown", "unknown"),
        ("no", None, "unknown"),
        (None, None, "unknown"),
    ],
)
def test_training_or_outreach_is_enough(ctx, training, outreach, expected):
    answers = {"training_programmes": training, "outreach": outreach}
    assert state(answers, "training_outreach") == expected


def test_training_and_outreach_evidence_names_both(ctx):
    assert evidence({"training_programmes": "yes"}, "training_outreach") == (
        "Training programmes: Yes; Outreach: not answered"
    )


def test_an_assessment_is_dated_by_the_latest_change_or_confirmation(ctx):
    confirmed = datetime(2026, 1, 5, tzinfo=UTC)
    institution = make_institution(
        "Dated Centre",
        answers={"gmp_manufacturing": "own_facility"},
        confirmed_at=confirmed,
    )
    changed = db.session.scalar(
        select(func.max(Version.created_at)).where(Version.institution_id == institution.id)
    )
    verdicts = assess([institution])[institution.id]
    assert verdicts["gmp"].state == "met"
    assert verdicts["gmp"].evidence == "GMP manufacturing: Own GMP facility"
    assert verdicts["gmp"].confirmed_at == changed  # the change is later than 5 January
    # never answered: a confirmation of the entry confirms nothing about it
    assert verdicts["biocluster"].confirmed_at is None

    institution.entries[0].confirmed_at = utcnow() + timedelta(days=1)
    db.session.flush()
    later = assess([institution])[institution.id]
    assert later["gmp"].confirmed_at == institution.entries[0].confirmed_at
    assert later["biocluster"].confirmed_at is None


def test_a_retired_entrys_confirmation_does_not_date_the_profile(ctx):
    institution = make_institution(
        "Closed Centre",
        answers={"outreach": "yes"},
        retired=True,
        confirmed_at=utcnow() + timedelta(days=3),
    )
    verdict = assess([institution])[institution.id]["training_outreach"]
    assert verdict.confirmed_at is not None
    assert verdict.confirmed_at < utcnow() + timedelta(days=1)


def test_assessing_takes_two_queries_whatever_the_number(ctx):
    few = [make_institution(f"Few {n}", answers={"outreach": "yes"}) for n in range(2)]
    many = [make_institution(f"Many {n}", answers={"outreach": "yes"}) for n in range(20)]
    counts = []
    for institutions in (few, many):
        with statements() as sent:
            assess(institutions)
        counts.append(len(sent))
    assert counts == [2, 2]
