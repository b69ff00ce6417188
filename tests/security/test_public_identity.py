"""No public page, export or API answer names a staff member or a respondent.

A whole journey runs first (Table 1 and a file import, a campaign, a respondent who submits
without consenting to publication, a curator's approval, a staff edit, a public
suggestion), then every public page reachable from the registry, the statistics, the map,
the suggestion form, the API and the exports is read as a visitor, and none may carry an
email address or a name whose owner did not consent to publication.
"""

from __future__ import annotations

import copy
import io
import re
import zipfile
from collections import deque
from urllib.parse import urldefrag, urlsplit

import pytest
from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import db
from surveyapp.questionnaire import service as questionnaire
from surveyapp.registry import service as registry
from surveyapp.registry.models import Entry, Institution
from surveyapp.vocabulary import Role
from tests.conftest import write_csv
from tests.registry.test_import_file import HEADER, row
from tests.review.conftest import decide, suggest

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CURATOR = "zelda.quartermain@example.org"
COORDINATOR = "yorick.brightwater@example.org"
RESPONDENT = "rowena.vantassel@example.org"
FILE_CONTACT = "ingrid.filebrook@lab.example.com"
SUGGESTER = "sven.suggestington@example.org"
NOT_PUBLIC = ("/staff", "/admin", "/account", "/login", "/logout", "/i/", "/static/")
MAX_PAGES = 400


@pytest.fixture
def journey(app, client, runner, auth, make_user, campaign, make_contact, tmp_path, ctx):
    """The registry after a file import, a campaign answer approved and a staff edit."""
    new_row = write_csv(
        tmp_path / "new.csv",
        HEADER,
        [
            row(
                institution="Filebrook Cell Laboratory",
                country="Austria",
                contact_person="Dr. Ingrid Filebrook",
                contact_email=FILE_CONTACT,
                atmp_type="Gene therapy",
                patients_treated="12",
            )
        ],
    )
    result = runner.invoke(args=["registry", "import", str(new_row)])
    assert result.exit_code == 0, result.output

    make_user(CURATOR, Role.CURATOR)
    make_user(COORDINATOR, Role.COORDINATOR)
    contact = make_contact(RESPONDENT, 9, name="Dr. Rowena Vantassel")
    campaigns.invite(campaign, actor=COORDINATOR, contact_ids=[contact.id])
    invitation = db.session.scalars(
        select(Invitation).where(Invitation.contact_id == contact.id)
    ).one()
    submission = questionnaire.submission_for(invitation)
    answers = copy.deepcopy(submission.answers)
    first = answers["entries"][0]["fields"]
    first["contact_person"] = "Dr. Rowena Vantassel"
    first["contact_email"] = RESPONDENT
    first["patients_treated"] = {"estimate": 99, "qualifier": "at_least"}
    questionnaire.submit(
        submission,
        invitation,
        answers,
        submit_key="identity-journey",
        consent_store=True,
        consent_publish=False,
    )
    db.session.commit()

    auth.login(CURATOR)
    assert decide(client, submission.id, "approve").status_code == 302
    suggestion = suggest(client, your_name="Sven Suggestington", your_email=SUGGESTER)
    assert decide(client, suggestion.id, "approve").status_code == 302
    herlev = db.session.scalars(select(Entry).where(Entry.source_row == 4)).one()
    registry.staff_edit(
        herlev.institution,
        {"website": "https://www.herlev.example.dk"},
        actor=CURATOR,
        seen_row_version=herlev.institution.row_version,
        comment="checked with Zelda's colleague",
    )
    db.session.commit()
    auth.logout()
    db.session.expire_all()


def forbidden_names() -> set[str]:
    """Staff and respondents' names, and every contact person who did not consent."""
    names = {"zelda", "quartermain", "yorick", "brightwater", "rowena", "vantassel"}
    names |= {"suggestington", "dr. ingrid filebrook"}
    for entry in db.session.scalars(select(Entry).where(Entry.contact_public.is_(False))):
        for person in (entry.contact_person, (entry.printed or {}).get("contact_person")):
            if person and len(person.strip()) > 3:
                names.add(person.strip().lower())
    return names


def consented_emails() -> set[str]:
    return {
        e.contact_email.lower()
        for e in db.session.scalars(select(Entry).where(Entry.contact_public.is_(True)))
        if e.contact_email
    }


def readable(response) -> str:
    """What a response says, an XLSX workbook's cells included."""
    if response.mimetype.endswith("spreadsheetml.sheet"):
        with zipfile.ZipFile(io.BytesIO(response.data)) as book:
            return " ".join(book.read(n).decode() for n in book.namelist() if n.endswith(".xml"))
    return response.get_data(as_text=True)


def public_links(html: str) -> list[str]:
    found = []
    for href in re.findall(r'href="([^"]+)"', html):
        url = urldefrag(href.replace("&amp;", "&"))[0]
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not url.startswith("/"):
            continue
        if not url.startswith(NOT_PUBLIC) and "lang=" not in parts.query:
            found.append(url)
    return found


def seeds() -> list[str]:
    institutions = db.session.scalars(select(Institution.id)).all()
    entries = db.session.scalars(select(Entry.id)).all()
    return [
        "/",
        "/?lang=de",
        "/statistics",
        "/map",
        "/map?region=world",
        "/suggest/",
        "/registry/export.csv",
        "/registry/export.json",
        "/registry/export.xlsx",
        "/registry/export.csv?include_retired=y",
        "/api/v1/entries?per_page=500",
        "/api/v1/stats",
        "/api/v1/openapi.json",
        *[f"/institutions/{i}" for i in institutions],
        *[f"/institutions/{i}?lang=de" for i in institutions[:3]],
        *[f"/suggest/?institution={i}" for i in institutions],
        *[f"/api/v1/entries/{e}" for e in entries],
    ]


def test_public_pages_exports_and_api_name_no_staff_and_no_respondent(
    app, client, journey, xlsx_snapshot
):
    xlsx_snapshot()
    names = forbidden_names()
    allowed = consented_emails() | {app.config["PRIVACY_CONTACT"]}  # the privacy notice's
    assert RESPONDENT not in allowed
    queue = deque(seeds())
    seen: set[str] = set()
    problems: list[str] = []
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, follow_redirects=True)  # /id/<identifier> answers 301
        assert response.status_code == 200, url
        text = readable(response)
        lowered = text.lower()
        for address in set(EMAIL.findall(text)):
            if address.lower() not in allowed:
                problems.append(f"{url}: email {address}")
        problems += [f"{url}: name {name!r}" for name in names if name in lowered]
        if response.mimetype == "text/html":
            queue.extend(link for link in public_links(text) if link not in seen)
    assert not problems, "\n".join(sorted(set(problems))[:40])
    assert any(u.startswith("/institutions/") for u in seen)
    assert any(u.startswith("/statistics/") and u.endswith(".csv") for u in seen)


def test_staff_still_see_who_changed_what(client, journey, auth):
    auth.login(CURATOR)
    herlev = db.session.scalars(select(Entry).where(Entry.source_row == 4)).one()
    page = client.get(f"/institutions/{herlev.institution_id}").get_data(as_text=True)
    assert f"by {CURATOR}" in page
    history = client.get(f"/staff/registry/curate/institution/{herlev.institution_id}/history")
    assert history.status_code == 200
    assert f"by {CURATOR}" in history.get_data(as_text=True)


def test_the_public_history_says_what_kind_of_change_it_was(client, journey):
    herlev = db.session.scalars(select(Entry).where(Entry.source_row == 4)).one()
    page = client.get(f"/institutions/{herlev.institution_id}").get_data(as_text=True)
    assert "by the Table 1 import" in page
    assert "by a curator" in page
    würzburg = db.session.scalars(select(Entry).where(Entry.source_row == 9)).one()
    page = client.get(f"/institutions/{würzburg.institution_id}").get_data(as_text=True)
    assert "by a respondent, approved by a curator" in page
    filebrook = db.session.scalars(
        select(Institution).where(Institution.name == "Filebrook Cell Laboratory")
    ).one()
    page = client.get(f"/institutions/{filebrook.id}").get_data(as_text=True)
    assert "by a file import" in page
