"""A respondent completes the capacity profile of table1-v2 on a phone: Table 1's answers
come pre-filled, the GMP answer reveals the questions it makes relevant, naming an
authorised ATMP answers the soft prompt, and what was typed is what is stored, on a page
that never scrolls sideways at 390 px.

Marked ``committed``: the server thread uses its own database connections.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire.models import Submission
from surveyapp.vocabulary import SubmissionStatus
from tests.browser.test_journey import TOKEN_LINK
from tests.campaigns.test_invitations import plain

pytestmark = pytest.mark.committed

PHONE = {"width": 390, "height": 844}
PROMPT = "Please answer this question too"


def scrolls_sideways(page: Any) -> bool:
    """Whether the page is wider than a 390 px phone screen."""
    return page.evaluate("document.documentElement.scrollWidth") > PHONE["width"]


def group(page: Any, name: str) -> Any:
    """A question answered by ticking, found by its legend as a screen reader finds it."""
    return page.get_by_role("group", name=name, exact=True)


@pytest.fixture
def v2_link(app, live_server, mailbox, make_contact, table1) -> str:
    """The emailed link of a contact of Table 1 row 12 (TU Dresden, routine application:
    yes) invited to a campaign on table1-v2."""
    with app.app_context():
        campaign = campaigns.create_campaign(
            "Centres of Excellence 2027",
            (utcnow() + timedelta(days=30)).date(),
            actor="test",
            questionnaire="table1-v2",
        )
        db.session.commit()
        make_contact("crtd@example.org", 12)
        campaigns.invite(campaign, actor="test")
        db.session.commit()
        assert send_pending().sent == 1
    return TOKEN_LINK.search(plain(mailbox.messages[-1])).group(1)


def test_a_respondent_completes_the_capacity_profile_on_a_phone(
    app, browser, live_server, v2_link, shots
):
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(v2_link)
    assert not scrolls_sideways(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Start").tap()
    shots(page, "prefilled")
    assert not scrolls_sideways(page)

    # Table 1's answers are there already; the capacity profile is still to answer.
    assert (
        page.get_by_label("Institution", exact=True)
        .input_value()
        .startswith("Center for Regenerative Therapies")
    )
    assert page.get_by_label("City", exact=True).input_value() == "Dresden"
    routine = group(page, "Routine application of approved ATMP")
    assert routine.get_by_label("Yes", exact=True).is_checked()
    assert page.get_by_text(PROMPT).is_visible()

    # Choosing how GMP manufacturing is done reveals the questions that follow from it.
    capacity = page.locator("#section-capacity")
    batches = capacity.get_by_label("ATMP batches manufactured per year")
    cleanrooms = group(page, "Cleanroom grades of the facility")
    assert not batches.is_visible() and not cleanrooms.is_visible()
    gmp = group(page, "GMP manufacturing of ATMPs")
    gmp.get_by_label("Through a partner", exact=True).tap()
    assert batches.is_visible() and not cleanrooms.is_visible()
    gmp.get_by_label("Own GMP facility", exact=True).tap()
    assert cleanrooms.is_visible()
    shots(page, "gmp-revealed")

    group(page, "Authorisations of the GMP manufacturing").get_by_role("checkbox").first.tap()
    cleanrooms.get_by_label("Grade A", exact=False).first.tap()
    batches.fill("24")
    group(page, "A clinical-trial unit that runs ATMP trials").get_by_label("Yes", exact=True).tap()
    capacity.get_by_label("ATMP clinical trials in the last five years as sponsor").fill("3")
    platforms = group(page, "Technology platforms")
    platforms.get_by_label("Gene editing", exact=True).tap()
    platforms.get_by_label("Pluripotent-stem-cell-derived products", exact=True).tap()
    group(page, "A knowledge-transfer or technology-transfer office").get_by_label(
        "Unknown", exact=True
    ).tap()
    group(page, "Public or patient outreach on ATMPs").get_by_label("No", exact=True).tap()
    research = group(page, "A stand-alone ATMP research programme")
    programme_name = capacity.get_by_label("Name of the research programme")
    assert not programme_name.is_visible()  # asked only once there is a programme
    research.get_by_label("Yes", exact=True).tap()
    programme_name.fill("CRTD Regenerative Therapies")
    assert not scrolls_sideways(page)

    # The programme names an authorised ATMP it gives; the soft prompt then goes away.
    group(page, "EU-authorised ATMPs administered to patients").get_by_label(
        "Kymriah", exact=False
    ).first.tap()
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue later").tap()
    shots(page, "saved")
    assert page.get_by_text(PROMPT).count() == 0
    assert not scrolls_sideways(page)

    # Everything typed is still there after coming back.
    page.reload()
    assert (
        group(page, "GMP manufacturing of ATMPs")
        .get_by_label("Own GMP facility", exact=True)
        .is_checked()
    )
    assert capacity.get_by_label("ATMP batches manufactured per year").input_value() == "24"
    assert capacity.get_by_label("Name of the research programme").is_visible()
    assert group(page, "Technology platforms").get_by_label("Gene editing", exact=True).is_checked()

    page.get_by_label("I agree that the registry stores", exact=False).tap()
    with page.expect_navigation():  # the thanks page, not the form it leaves
        page.get_by_role("button", name="Submit").tap()
    shots(page, "submitted")
    assert not scrolls_sideways(page)

    with app.app_context():
        sent = db.session.scalars(select(Submission)).one()
        assert sent.status == SubmissionStatus.SUBMITTED
        institution = sent.answers["institution"]
        assert institution["gmp_manufacturing"] == "own_facility"
        assert len(institution["gmp_authorisations"]) == 1
        assert institution["cleanroom_grades"] == ["a"]
        assert institution["batches_per_year"] == 24
        assert institution["clinical_trial_unit"] == "yes"
        assert institution["trials_as_sponsor"] == 3
        assert sorted(institution["technology_platforms"]) == ["gene_editing", "psc_derived"]
        assert institution["technology_transfer_office"] == "unknown"
        assert institution["outreach"] == "no"
        assert institution["research_programme"] == "yes"
        assert institution["research_programme_name"] == "CRTD Regenerative Therapies"
        assert institution["city"] == "Dresden"
        assert sent.answers["entries"][0]["fields"]["authorised_atmps"] == ["kymriah"]
