"""The curators' statement budgets (issue 18): the review queue and a submission's review
page send a fixed number of SQL statements, however many submissions the queue lists, how
many programmes and fields a submission compares, how many other submissions about the
same institution wait beside it, and how many registry institutions look like a suggested
one.

Each page is counted with few and with many such rows. The budgets are today's counts: a
change that adds a statement per row fails the comparison, and one that adds any statement
at all fails the budget, which it then raises on purpose, saying why. Counts include the
SAVEPOINT and ROLLBACK TO the tests' transaction wraps around each request (production
sends neither); they are the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy

from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Campaign, Invitation
from surveyapp.extensions import db
from surveyapp.questionnaire import service as questionnaire
from surveyapp.questionnaire.models import Submission
from surveyapp.registry.models import Institution
from surveyapp.vocabulary import LinkStatus
from tests.respondent.test_statement_budget import institution_with
from tests.review.conftest import suggest

# The queue: the curator and their roles; the campaigns to filter by; the page of
# submissions with, loaded together, their versions, invitations, institutions, campaigns
# and contacts; the page's total; the count per status; the other open submissions about
# the listed institutions; the unverified suggestions and those awaiting confirmation; the
# savepoint and its rollback.
QUEUE_BUDGET = 16
# A submission's page: the curator and roles; the submission, its versions and its
# institution; the other open submissions about that institution with, loaded together,
# their versions, invitations and contacts; the institution's entries and their ATMP types;
# the decisions so far; the submission's invitation, contact and campaign; the savepoint
# and its rollback.
SUBMISSION_PAGE_BUDGET = 17
# A suggested new facility's page: the curator and roles; the submission and its versions;
# the registry institutions with its website domain, its contact email and names in its
# country; the candidates themselves in one query; the decisions so far; the savepoint and
# its rollback.
SUGGESTION_PAGE_BUDGET = 11


def submitted(campaign: Campaign, institution: Institution, email: str) -> Submission:
    """A contact of the institution invited to the campaign submits its programmes with one
    answer changed in each (so every row of the comparison has something to show)."""
    contact, _ = campaigns.upsert_contact(email, source="test")
    campaigns.link_contact(contact, institution, LinkStatus.CONFIRMED, actor="test")
    campaigns.invite(campaign, actor="test", contact_ids=[contact.id])
    invitation = db.session.scalars(
        select(Invitation).where(Invitation.contact_id == contact.id)
    ).one()
    submission = questionnaire.submission_for(invitation)
    answers = copy.deepcopy(submission.answers)
    for block in answers["entries"]:
        block["fields"]["patients_treated"] = {"estimate": 99, "qualifier": None}
    questionnaire.submit(
        submission,
        invitation,
        answers,
        submit_key=f"key-{email}",
        consent_store=True,
        consent_publish=False,
    )
    db.session.commit()
    return submission


def page_cost(client, statements, url: str) -> int:
    """The statements one showing of a page sends."""
    with statements() as sent:
        assert client.get(url).status_code == 200
    return len(sent)


def test_the_queue_costs_the_same_for_8_submissions_as_for_2(client, campaign, staff, statements):
    few = institution_with(1, name="Few programmes")
    submitted(campaign, few, "few-1@example.org")
    submitted(campaign, few, "few-2@example.org")
    with_two = page_cost(client, statements, "/staff/review/")
    for number in range(3):
        many = institution_with(3, name=f"Many programmes {number}")
        submitted(campaign, many, f"many-{number}-1@example.org")
        submitted(campaign, many, f"many-{number}-2@example.org")
    with_eight = page_cost(client, statements, "/staff/review/")
    assert client.get("/staff/review/").get_data(as_text=True).count("@example.org<br>") == 8
    assert with_eight == with_two
    assert with_two <= QUEUE_BUDGET


def test_a_submissions_page_costs_the_same_for_5_programmes_and_3_others_as_for_1_and_1(
    client, campaign, staff, statements
):
    few = institution_with(1, name="Few programmes")
    reviewed = submitted(campaign, few, "few@example.org")
    submitted(campaign, few, "few-other@example.org")
    with_few = page_cost(client, statements, f"/staff/review/{reviewed.id}")
    many = institution_with(5, name="Many programmes")
    reviewed = submitted(campaign, many, "many@example.org")
    for number in range(3):
        submitted(campaign, many, f"many-other-{number}@example.org")
    with_many = page_cost(client, statements, f"/staff/review/{reviewed.id}")
    html = client.get(f"/staff/review/{reviewed.id}").get_data(as_text=True)
    assert html.count("many-other-") >= 3  # the others in flight, named
    assert with_many == with_few
    assert with_few <= SUBMISSION_PAGE_BUDGET


def test_a_suggestions_page_costs_the_same_for_5_duplicate_candidates_as_for_1(
    client, table1, ctx, staff, statements
):
    costs = []
    for candidates in (1, 5):
        for number in range(candidates):
            institution_with(
                1,
                name=f"Cell laboratory {candidates}-{number}",
                website=f"https://hospital-{candidates}.example.org/lab-{number}",
            )
        db.session.commit()
        suggestion = suggest(
            client,
            institution=f"Hospital {candidates} cell therapy unit",
            website=f"https://hospital-{candidates}.example.org/unit",
        )
        url = f"/staff/review/{suggestion.id}"
        html = client.get(url).get_data(as_text=True)
        assert html.count("same website domain") == candidates
        costs.append(page_cost(client, statements, url))
    assert costs[1] == costs[0]
    assert costs[0] <= SUGGESTION_PAGE_BUDGET
