"""Fifty respondents submitting at once while two curators merge, on a live gunicorn
server with several worker processes: every submission ends in the queue or the registry,
the counts match, and no request gets an error page."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

import pytest
from sqlalchemy import func, select

from surveyapp.campaigns import service as campaigns
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire.models import Submission
from surveyapp.review.models import Review
from surveyapp.vocabulary import Role, SubmissionStatus
from tests.campaigns.test_invitations import tokens_in
from tests.conftest import PASSWORD, free_port
from tests.forms import form_values

pytestmark = pytest.mark.committed
RESPONDENTS = 50
WORKERS = 3


class Browser:
    """A cookie-keeping HTTP client that records every status it gets."""

    def __init__(self, base: str, statuses: Counter) -> None:
        self.base = base
        self.statuses = statuses
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            NoRedirect(),
        )

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))  # noqa: S310 - http only

    def post(self, path: str, data: dict) -> tuple[int, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode()
        return self._open(urllib.request.Request(self.base + path, data=body))  # noqa: S310

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=60) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        self.statuses[status] += 1
        return status, text


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def gunicorn_server(app):
    """The app under gunicorn with several worker processes, on the test database."""
    port = free_port()
    env = {
        **os.environ,
        "SURVEYAPP_CONFIG": "testing",
        "SURVEYAPP_TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
    }
    process = subprocess.Popen(  # noqa: S603 - the test's own server
        [
            sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
            "--timeout", "120", "surveyapp:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/robots.txt", timeout=2).close()  # noqa: S310
            break
        except OSError:
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=30)


def test_fifty_respondents_and_two_curators_at_once(
    app, gunicorn_server, campaign, make_contact, make_user, mailbox, submit_for, table1
):
    from tests.conftest import institution_of_row

    rows = []
    seen = set()
    for row in range(1, 56):
        institution = institution_of_row(row)
        if institution.id not in seen:
            seen.add(institution.id)
            rows.append(row)
    db.session.commit()
    for number, row in enumerate(rows[:RESPONDENTS]):
        make_contact(f"respondent{number}@example.org", row)
    early = [submit_for(f"early{n}@example.org", row).id for n, row in enumerate(rows[:6])]
    campaigns.invite(campaign, actor="test")
    db.session.commit()
    send_pending()
    tokens = [tokens_in(m)[0] for m in mailbox.messages if "respondent" in str(m["To"])]
    assert len(tokens) == RESPONDENTS
    make_user("first@example.org", Role.CURATOR)
    make_user("second@example.org", Role.CURATOR)
    db.session.commit()  # the test holds no transaction while the server works

    statuses: Counter = Counter()
    submitted: list[int] = []
    problems: list[list[str]] = []

    def respond(token: str) -> None:
        browser = Browser(gunicorn_server, statuses)
        _, page = browser.get(f"/i/{token}/form")
        values = form_values(page, "/form")
        values.update({"consent_store": "y", "submit": "y"})
        if not values.get("institution_block-country"):  # Table 1 printed one unreadably
            values["institution_block-country"] = "IE"
        status, answer = browser.post(f"/i/{token}/form", values)
        submitted.append(status)
        if status != 302:
            problems.append(re.findall(r'<li><a href="#[^"]+">([^<]+)</a></li>', answer))

    def curate(email: str) -> None:
        browser = Browser(gunicorn_server, statuses)
        _, page = browser.get("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        browser.post("/login", {"csrf_token": token, "email": email, "password": PASSWORD})
        for submission_id in early:
            _, page = browser.get(f"/staff/review/{submission_id}")
            values = form_values(page, f"/staff/review/{submission_id}/decide")
            if values:
                browser.post(f"/staff/review/{submission_id}/decide", {**values, "approve": "y"})

    threads = [threading.Thread(target=respond, args=(t,)) for t in tokens]
    curators = ("first@example.org", "second@example.org")
    threads += [threading.Thread(target=curate, args=(email,)) for email in curators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert not [s for s in statuses if s >= 500], statuses
    assert submitted.count(302) == RESPONDENTS, (Counter(submitted), problems)
    db.session.expire_all()
    by_status = Counter(db.session.scalars(select(Submission.status)))
    assert by_status[SubmissionStatus.SUBMITTED] == RESPONDENTS
    assert by_status[SubmissionStatus.APPROVED] == len(early)
    assert db.session.scalar(select(func.count()).select_from(Review)) == len(early)
