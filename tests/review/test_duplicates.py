"""Duplicate candidates for submissions not tied to a registry institution, on Table 1's own
cases, and the choice to merge into one of them or create a new institution."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.history.models import Version
from surveyapp.questionnaire.models import Submission
from surveyapp.registry.models import Institution
from surveyapp.review import service
from surveyapp.vocabulary import SubmissionStatus
from tests.conftest import institution_of_row
from tests.review.conftest import decide, suggest, visible_text

THRESHOLD = 88


def candidates_for(submission) -> dict[int, list[str]]:
    return {
        institution.id: candidate.reasons
        for institution, candidate in service.duplicate_candidates(submission, THRESHOLD)
    }


@pytest.mark.parametrize(
    ("row", "fields", "expected_rows", "reason"),
    [
        # rows 9-11: one centre; a suggestion with its name finds it
        (
            9,
            {"institution": "Translational Centre Regenerative Medicine TLC-RT Wuerzburg"},
            [9],
            "similar name",
        ),
        # rows 16/17: one centre under two spellings
        (
            17,
            {"institution": "CCMI National University of Ireland Galway", "website": ""},
            [16, 17],
            "similar name",
        ),
        # rows 49/52: one company, one website
        (
            52,
            {"institution": "Hemafund", "website": "https://international.hemafund.com/"},
            [49, 52],
            "same website domain",
        ),
        # rows 24/30/31: three departments on one website domain
        (
            30,
            {"institution": "Rizzoli cell lab", "website": "http://www.ior.it/lab"},
            [24, 30, 31],
            "same website domain",
        ),
    ],
    ids=["rows-9-11", "rows-16-17", "rows-49-52", "rows-24-30-31"],
)
def test_table1_cases_are_found_with_their_reasons(
    client, table1, ctx, row, fields, expected_rows, reason
):
    country = institution_of_row(row).country_code
    submission = suggest(client, country=country, **fields)
    found = candidates_for(submission)
    for expected in expected_rows:
        institution = institution_of_row(expected)
        assert institution.id in found, (expected, found)
        assert any(r.startswith(reason) for r in found[institution.id])
        assert "same country" in found[institution.id]


def test_the_same_contact_email_is_a_reason(client, table1, ctx):
    from surveyapp.registry.models import Entry

    entry = db.session.scalars(select(Entry).where(Entry.source_row == 4)).one()
    entry.contact_email = "lead@herlev.example.dk"
    db.session.commit()
    submission = suggest(
        client,
        institution="Completely different name",
        country="SE",
        website="",
        your_email="lead@herlev.example.dk",
    )
    found = candidates_for(submission)
    assert found[entry.institution_id] == ["same contact email"]


def test_an_unknown_facility_has_no_candidates(client, table1, ctx):
    submission = suggest(client)  # Malta Cell Therapy Unit, not in Table 1
    assert candidates_for(submission) == {}


def test_a_submission_tied_to_an_institution_needs_no_candidates(client, table1, ctx):
    submission = suggest(client, institution_id=str(institution_of_row(4).id))
    assert submission.institution_id is not None
    assert candidates_for(submission) == {}


def test_merging_a_suggestion_into_a_candidate(client, staff, table1, ctx):
    hemafund = institution_of_row(49)
    submission = suggest(
        client,
        institution='LLC "Medical Center "HEMAFUND"',
        country="UA",
        website="https://hemafund.example.ua",
    )
    page = visible_text(client.get(f"/staff/review/{submission.id}").get_data(as_text=True))
    assert "Is it already in the registry?" in page
    assert "Compare and merge into this one" in page
    query = f"?merge_into={hemafund.id}"
    merge_page = client.get(f"/staff/review/{submission.id}{query}").get_data(as_text=True)
    assert "Approving merges into" in merge_page
    response = decide(client, submission.id, "approve", query=query)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    hemafund = db.session.get(Institution, hemafund.id)
    assert hemafund.website == "https://hemafund.example.ua"
    merged = db.session.get(Submission, submission.id)
    assert (merged.status, merged.institution_id) == (SubmissionStatus.APPROVED, hemafund.id)
    version = db.session.scalars(
        select(Version).where(Version.institution_id == hemafund.id).order_by(Version.id.desc())
    ).first()
    assert version.source_ref == f"submission {submission.id} v1"
    assert [c.field for c in version.changes] == ["website"]


def test_approving_a_new_facility_creates_an_institution(client, staff, table1, ctx):
    submission = suggest(client)
    before = db.session.scalar(select(db.func.count()).select_from(Institution))
    response = decide(client, submission.id, "approve")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(db.func.count()).select_from(Institution)) == before + 1
    created = db.session.scalars(
        select(Institution).where(Institution.name == "Malta Cell Therapy Unit")
    ).one()
    assert (created.country_code, created.website) == ("MT", "www.mctu.example.mt")
    assert db.session.get(Submission, submission.id).institution_id == created.id
