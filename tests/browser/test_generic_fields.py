"""Generic fields in a real browser: a conditional field hidden until the answer it
depends on is given, then answered and saved; the form and its refused state pass axe-core.

Marked ``committed``: the server thread uses its own database connections.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire.models import Submission
from tests.browser.test_accessibility import violations
from tests.browser.test_journey import TOKEN_LINK
from tests.campaigns.test_invitations import plain

pytestmark = pytest.mark.committed


def test_a_conditional_field_shows_only_when_relevant(
    app, browser, live_server, mailbox, make_contact, table1, test_questionnaires, shots
):
    with app.app_context():
        campaign = campaigns.create_campaign(
            "Capacity round",
            (utcnow() + timedelta(days=30)).date(),
            actor="test",
            questionnaire="everything-v1",
        )
        db.session.commit()
        make_contact("pullig@example.org", 9, name="PD Dr. Oliver Pullig")
        campaigns.invite(campaign, actor="test")
        db.session.commit()
        assert send_pending().sent == 1
    link = TOKEN_LINK.search(plain(mailbox.messages[-1])).group(1)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{link}/form")
    batches = page.get_by_label("Batches per year")
    assert not batches.is_visible()  # by static/questionnaire.js, under the page's CSP
    shots(page, "not-asked")
    page.get_by_role("group", name="GMP manufacturing").get_by_label("Yes", exact=True).check()
    assert batches.is_visible()
    shots(page, "asked")
    batches.fill("120")
    page.get_by_role("group", name="GMP manufacturing").get_by_label("No", exact=True).check()
    assert not batches.is_visible()
    page.get_by_role("group", name="GMP manufacturing").get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Save and continue later").click()
    page.wait_for_load_state()
    assert page.get_by_label("Batches per year").is_visible()
    with app.app_context():
        saved = db.session.scalars(select(Submission)).one()
        assert saved.answers["institution"]["lots_per_year"] == 120


def test_a_refused_generic_answer_lands_on_the_summary_on_a_phone(
    app, browser, live_server, mailbox, make_contact, table1, test_questionnaires, shots
):
    with app.app_context():
        campaign = campaigns.create_campaign(
            "Capacity round",
            (utcnow() + timedelta(days=30)).date(),
            actor="test",
            questionnaire="everything-v2",
        )
        db.session.commit()
        make_contact("pullig@example.org", 9, name="PD Dr. Oliver Pullig")
        campaigns.invite(campaign, actor="test")
        db.session.commit()
        assert send_pending().sent == 1
    link = TOKEN_LINK.search(plain(mailbox.messages[-1])).group(1)
    # axe-core is injected as an inline script, which the page's CSP would refuse
    page = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True).new_page()
    page.goto(f"{link}/form")
    assert violations(page) == []
    page.get_by_label("Name", exact=True).fill("TLC-RT")
    page.get_by_label("Clinical-trial units").fill("a few")
    page.get_by_role("button", name="Save and continue later").click()
    page.wait_for_load_state()
    shots(page, "refused")
    assert page.url.endswith("#errors")
    summary = page.locator("#errors")
    assert "Enter a whole number, such as 12." in summary.inner_text()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "institution_block-trial_units"
    assert violations(page) == []
