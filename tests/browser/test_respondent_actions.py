"""What a respondent does from the emailed link, counted in a real browser: "nothing has
changed" in at most two actions, a new institution that needs no typing for what the
coordinator already knew, and every state of the landing page, the late-draft page and a
refused Submit looked at on a desktop and a phone.

Marked ``committed``: the server thread uses its own database connections.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire.models import Submission
from surveyapp.vocabulary import Role, SubmissionStatus
from tests.browser.test_journey import TOKEN_LINK, emailed_link
from tests.campaigns.test_invitations import plain

pytestmark = pytest.mark.committed
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


class Actions:
    """Counts what a person does: clicks and ticks, and keys typed."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.clicks = 0
        self.keystrokes = 0

    def click(self, locator: Any) -> None:
        self.clicks += 1
        locator.click()
        self.page.wait_for_load_state()

    def check(self, locator: Any) -> None:
        self.clicks += 1
        locator.check()

    def type(self, locator: Any, text: str) -> None:
        self.clicks += 1  # moving into the field
        locator.press_sequentially(text)
        self.keystrokes += len(text)


def test_nothing_has_changed_takes_two_actions_from_the_emailed_link(
    app, browser, live_server, mailbox, make_contact, table1, shots
):
    link = emailed_link(app, mailbox, make_contact, "Two actions round")
    page = browser.new_page(viewport=DESKTOP)
    page.goto(link)
    shots(page, "landing")
    person = Actions(page)
    person.check(page.get_by_label("I agree that the registry keeps the contact details"))
    person.click(page.get_by_role("button", name="Nothing has changed — confirm"))
    shots(page, "thanks")
    assert "Thank you" in page.content()
    assert "You confirmed that the registry's entries are still correct." in page.content()
    assert (person.clicks, person.keystrokes) == (2, 0)


def test_confirming_without_consent_lands_on_what_is_missing(
    app, browser, live_server, mailbox, make_contact, table1, shots
):
    link = emailed_link(app, mailbox, make_contact, "Forgot the box round")
    page = browser.new_page(viewport=PHONE)
    page.goto(link)
    page.get_by_role("button", name="Nothing has changed — confirm").click()
    page.wait_for_load_state()
    shots(page, "not-confirmed")
    assert page.evaluate("document.activeElement.id") in ("errors", "")
    assert page.url.endswith("#errors")
    assert "To confirm, tick the box" in page.content()


def new_institution_link(app, mailbox, make_contact) -> str:
    """A contact imported with an institution the registry does not have yet, invited."""
    with app.app_context():
        campaign = campaigns.create_campaign(
            "New facilities round", (utcnow() + timedelta(days=30)).date(), actor="test"
        )
        contact = make_contact("ann@mctu.example.mt", name="Dr. Ann Example")
        contact.institution_name = "Malta Cell Therapy Unit"
        contact.country_code = "MT"
        db.session.commit()
        campaigns.invite(campaign, actor="test")
        db.session.commit()
        assert send_pending().sent == 1
    return TOKEN_LINK.search(plain(mailbox.messages[-1])).group(1)


def test_a_new_institution_needs_no_typing_for_what_the_coordinator_imported(
    app, browser, live_server, mailbox, make_contact, table1, shots
):
    link = new_institution_link(app, mailbox, make_contact)
    page = browser.new_page(viewport=DESKTOP)
    page.goto(link)
    shots(page, "landing")
    person = Actions(page)
    person.click(page.get_by_role("button", name="Start"))
    shots(page, "form-prefilled")
    prefilled = {
        "institution_block-institution": "Malta Cell Therapy Unit",
        "institution_block-country": "MT",
        "entries-0-contact_person": "Dr. Ann Example",
        "entries-0-contact_email": "ann@mctu.example.mt",
    }
    for name, value in prefilled.items():
        assert page.locator(f"[name='{name}']").input_value() == value, name

    # What only the respondent knows: one ATMP type, the patients, one disease.
    person.check(page.get_by_label("Somatic cell therapy"))
    person.type(page.locator("[name='entries-0-patients_treated']"), "30")
    person.type(page.locator("[name='entries-0-diseases_targeted']"), "B-cell lymphoma")
    person.check(page.locator("[name=consent_store]"))
    person.click(page.get_by_role("button", name="Submit"))
    shots(page, "thanks")
    assert "Thank you" in page.content()
    # Start, four answers, consent, Submit; nothing typed for the name, country or contact.
    assert (person.clicks, person.keystrokes) == (6, len("30") + len("B-cell lymphoma"))


def set_state(app, state: str) -> None:
    """Move the only invitation's answer to a state, as a curator's decision would."""
    from surveyapp.auth.models import User
    from surveyapp.review import service as review

    with app.app_context():
        submission = db.session.scalars(select(Submission)).one()
        curator = db.session.scalars(select(User)).first()
        seen = submission.row_version
        if state == "in_review":
            submission.status = SubmissionStatus.IN_REVIEW
        elif state == "changes_requested":
            submission.status = SubmissionStatus.SUBMITTED
            review.request_changes(
                submission,
                curator,
                seen_row_version=seen,
                comment="Please check the number of patients.",
                field_comments={"entries.0.patients_treated": "Table 1 said 80; is 95 right?"},
                link_days=14,
            )
        elif state == "rejected":
            submission.status = SubmissionStatus.SUBMITTED
            review.reject(
                submission,
                curator,
                seen_row_version=seen,
                reason="This centre stopped its ATMP work in 2024.",
                notify=False,
            )
        db.session.commit()


def test_what_a_respondent_sees_in_each_state(
    app, browser, live_server, mailbox, make_contact, make_user, table1, shots
):
    make_user("cura@example.org", Role.CURATOR)
    link = emailed_link(app, mailbox, make_contact, "States round")
    desktop = browser.new_context(viewport=DESKTOP).new_page()
    phone = browser.new_context(viewport=PHONE).new_page()

    def look(label: str, url: str = link) -> str:
        for page, size in ((desktop, "1280"), (phone, "390")):
            page.goto(url)
            shots(page, f"{label}-{size}")
        return desktop.content()

    assert "Nothing has changed — confirm" in look("landing-not-started")

    # A refused Submit: saved, the page lands on the error summary, focused.
    desktop.goto(link)
    desktop.get_by_role("button", name="Start").click()
    desktop.wait_for_load_state()
    desktop.fill("input[name='entries-0-patients_treated']", "95")
    desktop.fill("input[name='institution_block-website']", "not a website")
    desktop.locator("[name=submit]").click()
    desktop.wait_for_load_state()
    desktop.wait_for_load_state()
    assert desktop.url.endswith("#errors")
    assert desktop.evaluate("document.activeElement.id") == "errors"
    shots(desktop, "form-refused-submit-1280")
    phone.goto(desktop.url.split("#")[0])
    phone.locator("[name=submit]").click()
    phone.wait_for_load_state()
    phone.wait_for_load_state()
    shots(phone, "form-refused-submit-390")
    assert phone.evaluate("document.activeElement.id") == "errors"

    # "Add another programme" lands on the new block.
    desktop.goto(f"{link}/form")
    desktop.locator("[name=add_entry]").click()
    desktop.wait_for_load_state()
    desktop.wait_for_load_state()
    assert desktop.url.endswith("#entry-4")
    assert desktop.evaluate("document.activeElement.closest('fieldset').id") == "entry-4"

    draft = look("landing-draft")
    assert "Draft saved, not submitted yet." in draft
    desktop.get_by_role("link", name="Continue").click()
    desktop.wait_for_load_state()
    assert desktop.locator("input[name='entries-0-patients_treated']").input_value() == "95"
    desktop.fill("input[name='institution_block-website']", "www.tlc-rt.example.org")
    desktop.locator("input[name=consent_store]").last.check()
    desktop.locator("[name=submit]").click()
    desktop.wait_for_load_state()
    assert "Thank you" in desktop.content()

    assert "See or amend your answer" in look("landing-submitted")
    set_state(app, "in_review")
    assert "In review." in look("landing-in-review")
    set_state(app, "changes_requested")
    assert "Table 1 said 80; is 95 right?" in look("landing-changes-requested")
    set_state(app, "rejected")
    rejected = look("landing-rejected")
    assert "This centre stopped its ATMP work in 2024." in rejected
    desktop.get_by_role("link", name="See your answer").click()
    desktop.wait_for_load_state()
    shots(desktop, "answer-rejected-1280")
    assert desktop.locator("main input, main button").count() == 0


def test_the_late_draft_page(app, browser, live_server, mailbox, make_contact, table1, shots):
    link = emailed_link(app, mailbox, make_contact, "Late round")
    for size, viewport in (("1280", DESKTOP), ("390", PHONE)):
        page = browser.new_context(viewport=viewport).new_page()
        page.goto(link)
        if size == "1280":
            page.get_by_role("button", name="Start").click()
            page.wait_for_load_state()
        else:
            page.goto(f"{link}/form")
        page.fill("input[name='entries-0-patients_treated']", f"1{size}")
        with app.app_context():
            invitation = db.session.scalars(select(Invitation)).one()
            invitation.expires_at = utcnow() - timedelta(seconds=1)
            db.session.commit()
        page.locator("[name=submit]").click()
        page.wait_for_load_state()
        shots(page, f"late-draft-{size}")
        assert "This survey has closed" in page.content()
        assert f"1{size}" in page.content()
        with app.app_context():
            submission = db.session.scalars(select(Submission)).one()
            assert submission.late_at is not None
            assert submission.answers["entries"][0]["fields"]["patients_treated"]["estimate"] == (
                int(f"1{size}")
            )
            invitation = db.session.scalars(select(Invitation)).one()
            invitation.expires_at = utcnow() + timedelta(days=1)
            db.session.commit()
