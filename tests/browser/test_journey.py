"""The whole journey through a real browser: staff set up a campaign, an invited
institution answers through the emailed link, a curator merges, and every view shows it.

Marked ``committed``: the server thread uses its own database connections, so the data is
really committed (and every table emptied afterwards).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.registry.models import Entry
from surveyapp.vocabulary import Role
from tests.campaigns.test_invitations import plain
from tests.conftest import PASSWORD

pytestmark = pytest.mark.committed
TOKEN_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/i/[A-Za-z0-9_-]{43})(?![/A-Za-z0-9_-])")


def log_in(page, server: str, email: str, password: str) -> None:
    page.goto(f"{server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def new_staff(page, server: str, email: str, role: str) -> str:
    """Add a user on the admin page; returns the password shown once."""
    page.goto(f"{server}/admin/users/")
    page.get_by_label("Email").fill(email)
    page.get_by_label(role).check()
    page.get_by_role("button", name="Add user").click()
    shown = page.locator("code, .password").first.inner_text()
    return shown.strip()


def emailed_link(app, mailbox, make_contact, campaign_name: str) -> str:
    """A campaign inviting row 9's contact, sent by the worker; the link from the email."""
    from datetime import timedelta

    from surveyapp.campaigns import service as campaigns
    from surveyapp.database import utcnow

    with app.app_context():
        campaign = campaigns.create_campaign(
            campaign_name, (utcnow() + timedelta(days=30)).date(), actor="test"
        )
        db.session.commit()
        make_contact("pullig@example.org", 9, name="PD Dr. Oliver Pullig")
        campaigns.invite(campaign, actor="test")
        db.session.commit()
        assert send_pending().sent == 1
    return TOKEN_LINK.search(plain(mailbox.messages[-1])).group(1)


def test_the_whole_journey(app, browser, live_server, mailbox, make_user, table1, shots, tmp_path):
    server = live_server
    make_user("admin@example.org", Role.ADMIN)

    # An admin adds a coordinator and a curator.
    admin = browser.new_page()
    log_in(admin, server, "admin@example.org", PASSWORD)
    coordinator_password = new_staff(admin, server, "coordinator@example.org", "Coordinator")
    shots(admin, "admin-user-added")
    curator_password = new_staff(admin, server, "curator@example.org", "Curator")
    assert len(coordinator_password) >= 12 and len(curator_password) >= 12

    # The coordinator imports contacts, links one to its Table 1 institution, creates a
    # campaign and sends the invitations.
    coordinator = browser.new_context().new_page()
    log_in(coordinator, server, "coordinator@example.org", coordinator_password)
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "institution,contact_person,email,country,language\n"
        "Translational Center Regenerative Medicine TLC-RT Würzburg,PD Dr. Oliver Pullig,"
        "pullig@example.org,Germany,en\n",
        encoding="utf-8",
    )
    coordinator.goto(f"{server}/contacts/")
    coordinator.set_input_files("input[type=file]", str(contacts))
    coordinator.get_by_role("button", name="Import").click()
    shots(coordinator, "contacts-imported")
    coordinator.goto(f"{server}/contacts/links")
    coordinator.locator("input[value=confirm]").first.check()
    coordinator.get_by_role("button", name="Save decisions").click()
    coordinator.goto(f"{server}/campaigns/new")
    coordinator.get_by_label("Name", exact=True).fill("Registry update 2026")
    coordinator.get_by_label("Closes on").fill("2026-12-31")
    shots(coordinator, "campaign-form")
    coordinator.get_by_role("button", name=re.compile("Create|Save")).click()
    coordinator.get_by_role("button", name="Invite all contacts not yet invited").click()
    shots(coordinator, "campaign-invited")

    # The mail worker sends; the invitation arrives at the SMTP server.
    with app.app_context():
        assert send_pending().sent == 1
    link = TOKEN_LINK.search(plain(mailbox.messages[-1])).group(1)

    # The respondent opens the link, finds the registry's entries, changes two fields,
    # adds a programme, saves, leaves, comes back through the link and submits.
    respondent = browser.new_context().new_page()
    respondent.goto(link)
    shots(respondent, "landing")
    respondent.get_by_role("button", name="Start").click()
    assert respondent.locator("input[name='entries-0-patients_treated']").input_value() == "80"
    shots(respondent, "form-prefilled")
    respondent.fill("input[name='institution_block-website']", "https://www.tlc-rt.example.org")
    respondent.fill("input[name='entries-0-patients_treated']", "95")
    respondent.locator("[name=add_entry]").click()
    last = respondent.locator("input[name$='-contact_person']").count() - 1
    respondent.fill(f"input[name='entries-{last}-contact_person']", "Dr. New Programme")
    respondent.locator("[name=save]").last.click()
    shots(respondent, "saved")
    respondent.goto("about:blank")
    respondent.goto(link)
    respondent.get_by_role("link", name=re.compile("Continue")).click()
    assert respondent.locator("input[name='entries-0-patients_treated']").input_value() == "95"
    assert respondent.locator(f"input[name='entries-{last}-contact_person']").input_value() == (
        "Dr. New Programme"
    )
    respondent.locator("input[name=consent_store]").last.check()
    respondent.locator("[name=submit]").click()
    shots(respondent, "thanks")
    assert "Thank you" in respondent.content()

    # The curator sees the differences, keeps the registry's website, takes the new
    # number of patients and approves.
    curator = browser.new_context().new_page()
    log_in(curator, server, "curator@example.org", curator_password)
    curator.goto(f"{server}/staff/review/")
    shots(curator, "queue")
    curator.locator("table a").first.click()
    page_text = curator.content()
    assert "https://www.tlc-rt.example.org" in page_text and "95" in page_text
    shots(curator, "review")
    curator.locator("input[name='choice__institution__website'][value=registry]").check()
    curator.locator("input[name='choice__entries__0__patients_treated'][value=submitted]").check()
    curator.get_by_role("button", name="Approve and merge the chosen values").click()
    shots(curator, "approved")
    assert "approved and merged" in curator.content()

    # Registry page, public directory, API and dashboard show the result; the audit log
    # shows every step.
    visitor = browser.new_context().new_page()
    visitor.goto(f"{server}/?q=Würzburg")
    shots(visitor, "directory")
    visitor.locator("table a").first.click()
    shots(visitor, "institution")
    assert "95" in visitor.content()
    assert "https://www.tlc-rt.example.org" not in visitor.content()
    assert "Dr. New Programme" not in visitor.content()  # no consent to publish
    with app.app_context():
        entry_id = db.session.scalar(select(Entry.id).where(Entry.source_row == 9))
    api = visitor.request.get(f"{server}/api/v1/entries/{entry_id}").json()
    assert api["patients_estimate"] == 95
    assert api["last_confirmed"]
    coordinator.goto(f"{server}/staff/response-rates/")
    shots(coordinator, "response-rates")
    assert "Registry update 2026" in coordinator.content()
    admin.goto(f"{server}/admin/audit/")
    shots(admin, "audit-log")
    audit_text = admin.content()
    for action in (
        "user.create",
        "contacts.import",
        "contacts.links",
        "campaign.create",
        "campaign.invite",
        "review.approve",
        "auth.login",
    ):
        assert action in audit_text, action


def test_nothing_has_changed(app, browser, live_server, mailbox, make_contact, table1, shots):
    link = emailed_link(app, mailbox, make_contact, "Confirmation round")

    page = browser.new_page()
    page.goto(link)
    page.get_by_role("button", name="Start").click()
    shots(page, "form")
    section = page.locator("section.unchanged")
    section.locator("input[name=consent_store]").check()
    section.get_by_role("button", name="Nothing has changed: confirm our entries").click()
    shots(page, "thanks")
    assert "Thank you" in page.content()


def test_a_browser_closed_mid_form_finds_the_last_saved_section(
    app, browser, live_server, mailbox, make_contact, table1, shots
):
    link = emailed_link(app, mailbox, make_contact, "Crash round")

    context = browser.new_context()
    page = context.new_page()
    page.goto(link)
    page.get_by_role("button", name="Start").click()
    page.fill("input[name='entries-0-patients_treated']", "123")
    page.get_by_role("button", name="Save this section").first.click()
    page.fill("input[name='entries-1-patients_treated']", "999")  # typed, never saved
    context.close()  # the browser dies mid-form

    page = browser.new_context().new_page()
    page.goto(link)
    page.get_by_role("link", name=re.compile("Continue")).click()
    shots(page, "after-crash")
    assert page.locator("input[name='entries-0-patients_treated']").input_value() == "123"
    assert page.locator("input[name='entries-1-patients_treated']").input_value() != "999"
