"""Every page a person meets passes axe-core with zero violations, on a desktop screen and
390 px wide.

axe-core (vendored in ``tests/browser/vendor/axe-core/`` with its licence) runs inside the
real page after it has loaded. The pages are found as people find them: a staff member with
every role and a visitor follow the links of the site from its entry pages, and the
respondent follows the emailed link; each distinct page (its path with ids and tokens
replaced, and its query keys) is checked once per screen size. Pages in a state that no
link reaches (a form showing errors) are reached by doing what produces them.

Marked ``committed``: the server thread uses its own database connections.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from surveyapp.campaigns import service as campaigns
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.releases import publishing
from surveyapp.vocabulary import Role
from tests.browser.test_journey import TOKEN_LINK, log_in
from tests.campaigns.test_invitations import plain
from tests.conftest import PASSWORD, institution_of_row
from tests.review.conftest import suggest

pytestmark = pytest.mark.committed

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SCREENS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# Links that download files, leave the site's pages or end the session are not pages to check.
NOT_PAGES = re.compile(
    r"/api/|/static/|/logout|export|download|\.(csv|xlsx|json|svg|png|txt)(\?|$)|format=|"
    r"/unsubscribe"
)
MAX_PAGES = 120
# An institution's answers to table1-v2's capacity profile, as a review would leave them.
CAPACITY_PROFILE = {
    "gmp_manufacturing": "own_facility",
    "gmp_authorisations": ["manufacturing_authorisation"],
    "cleanroom_grades": ["a", "b"],
    "batches_per_year": 24,
    "clinical_trial_unit": "yes",
    "trials_as_sponsor": 3,
    "trial_phases": ["phase_1"],
    "technology_transfer_office": "unknown",
    "stages_covered": ["discovery", "preclinical", "phase_1"],
    "research_programme": "yes",
    "technology_platforms": ["gene_editing", "psc_derived"],
    "training_programmes": "yes",
    "outreach": "no",
    "facility_access": "Write to the core facility; we answer within a week.",
}


def page_kind(url: str) -> str:
    """The kind of page a URL shows: its path with ids and tokens generalised, and the names
    (not the values) of its query parameters."""
    parts = urlsplit(url)
    path = re.sub(r"/[A-Za-z0-9_-]{40,}", "/TOKEN", parts.path)
    path = re.sub(r"/\d+", "/N", path)
    keys = sorted({key for key, _ in parse_qsl(parts.query) if key not in ("page", "lang")})
    return path + ("?" + "&".join(keys) if keys else "")


def violations(page: Any) -> list[str]:
    """axe-core's violations on the page as it is now, one readable line per rule."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3)"
        ".map(n => n.target.join(' ')).join(', ')}`)"
    )
    return list(found)


class Audit:
    """Pages checked so far, with what axe-core found on each, for one screen size."""

    def __init__(self, screen: str) -> None:
        self.screen = screen
        self.seen: set[str] = set()
        self.problems: list[str] = []

    def check(self, page: Any, label: str | None = None) -> None:
        kind = label or page_kind(page.url)
        if kind in self.seen:
            return
        self.seen.add(kind)
        for problem in violations(page):
            self.problems.append(f"[{self.screen}] {kind}: {problem}")

    def crawl(self, page: Any, origin: str, seeds: Iterable[str]) -> None:
        """Visit the seeds and every same-site page their links lead to, once per kind."""
        queue = [origin + seed for seed in seeds]
        visited: set[str] = set()
        while queue and len(self.seen) < MAX_PAGES:
            url = queue.pop(0)
            if url in visited or page_kind(url) in self.seen:
                continue
            visited.add(url)
            try:
                response = page.goto(url)
            except Exception as exc:  # a link that starts a download is no page
                if "Download is starting" in str(exc):
                    continue
                raise
            if response is None or "text/html" not in response.headers.get("content-type", ""):
                continue
            self.check(page)
            for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
                target = href.split("#")[0]
                if target.startswith(origin) and not NOT_PAGES.search(target):
                    queue.append(target)


@pytest.fixture
def populated(
    live_server,
    campaign,
    make_contact,
    mailbox,
    make_user,
    submit_for,
    client,
    v2_link,
    app,
    tmp_path,
    monkeypatch,
) -> dict[str, str]:
    """A registry with a campaign: an invitation not yet answered, a submission waiting for
    review, a public suggestion and a staff member holding every role; and a campaign on
    table1-v2 with an invitation not yet answered, beside an institution whose capacity
    profile makes it a GMP site on the map, in the readiness table and in the planner; two
    releases, the second with a changelog."""
    pullig = make_contact("pullig@example.org", 9, name="PD Dr. Oliver Pullig")
    campaigns.invite(campaign, actor="test", contact_ids=[pullig.id])
    db.session.commit()
    assert send_pending().sent == 1
    token = TOKEN_LINK.search(plain(mailbox.messages[-1])).group(1).rsplit("/", 1)[1]
    submission = submit_for("second@example.org", 1, consent_publish=True)
    profiled = institution_of_row(12)
    profiled.answers = {**CAPACITY_PROFILE, "city": "Dresden"}
    db.session.commit()
    make_user("all@example.org", Role.ADMIN, Role.COORDINATOR, Role.CURATOR)
    suggest(client, institution="Centre suggested by the public")
    monkeypatch.setitem(app.config, "RELEASES_DIR", tmp_path / "releases")
    publishing.make_release("1.0", "The first release", "test")
    profiled.answers = {**profiled.answers, "city": "Dresden-Johannstadt"}
    publishing.make_release("1.1", "", "test")
    db.session.commit()
    ids = {
        "token": token,
        "v2_token": v2_link,
        "submission": str(submission.id),
        "profiled": str(profiled.id),
    }
    db.session.close()  # ends the test's own transaction, which holds SQLite's write lock
    return ids


@pytest.mark.parametrize("screen", list(SCREENS))
def test_every_page_has_no_accessibility_violations(browser, live_server, populated, screen):
    audit = Audit(screen)
    server = live_server

    visitor = browser.new_context(viewport=SCREENS[screen], bypass_csp=True).new_page()
    audit.crawl(
        visitor,
        server,
        ["/", "/statistics", "/map", "/map?region=world", "/map?gmp=1", "/suggest/", "/releases/"],
    )
    visitor.goto(f"{server}/institutions/{populated['profiled']}")
    audit.check(visitor, "institution with a capacity profile")
    visitor.goto(f"{server}/no-such-page")
    audit.check(visitor, "not found")
    visitor.goto(f"{server}/login")
    visitor.get_by_label("Email").fill("nobody@example.org")
    visitor.get_by_label("Password").fill("wrong password for sure")
    visitor.get_by_role("button", name="Log in").click()
    audit.check(visitor, "login refused")
    visitor.goto(f"{server}/suggest/")
    visitor.locator("form button[type=submit]").last.click()
    audit.check(visitor, "suggestion with errors")

    respondent = browser.new_context(viewport=SCREENS[screen], bypass_csp=True).new_page()
    link = f"/i/{populated['token']}"
    audit.crawl(respondent, server, [link, f"{link}/form", f"{link}/nominate"])
    respondent.goto(f"{server}{link}/form")
    respondent.locator("[name=submit]").last.click()
    audit.check(respondent, "questionnaire with errors")
    v2_link = f"/i/{populated['v2_token']}"
    respondent.goto(f"{server}{v2_link}/form")
    audit.check(respondent, "questionnaire table1-v2")
    respondent.get_by_role("group", name="GMP manufacturing of ATMPs").get_by_label(
        "Own GMP facility", exact=True
    ).check()
    audit.check(respondent, "questionnaire table1-v2 with its GMP questions shown")

    staff = browser.new_context(viewport=SCREENS[screen], bypass_csp=True).new_page()
    log_in(staff, server, "all@example.org", PASSWORD)
    audit.crawl(
        staff,
        server,
        [
            "/account/",
            "/admin/users/",
            "/admin/audit/",
            "/contacts/",
            "/contacts/links",
            "/campaigns/",
            "/campaigns/new",
            "/staff/review/",
            f"/staff/review/{populated['submission']}",
            "/staff/registry/",
            "/staff/registry/import/",
            "/staff/dashboard/",
            "/staff/response-rates/",
            "/staff/network/readiness/",
            "/staff/network/planner/",
            "/staff/releases/new",
        ],
    )

    assert len(audit.seen) >= 25, "\n".join(sorted(audit.seen))
    assert {
        "/map?gmp",
        "institution with a capacity profile",
        "questionnaire table1-v2",
        "/staff/network/readiness/",
        "/staff/network/planner/",
        "/releases/N.1",
        "/releases/N.1/changelog",
        "/staff/releases/new",
    } <= audit.seen, "\n".join(sorted(audit.seen))
    assert not audit.problems, "\n".join(audit.problems)
