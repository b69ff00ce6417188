"""Script and HTML typed into free-text fields come out escaped on every page, in every
email and in the API; exports neutralise formula cells."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.registry.models import Entry
from surveyapp.vocabulary import Role
from tests.campaigns.test_invitations import html as html_part
from tests.review.conftest import decide, suggest

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
RAW = ("<script>alert", "<img src=x")


def assert_escaped(text: str, where: str) -> None:
    for raw in RAW:
        assert raw not in text, where


def test_payloads_in_every_free_text_field_come_out_escaped(
    client, make_user, auth, submit_for, mailbox
):
    def edit(answers):
        answers["institution"]["institution"] = f"Lab {PAYLOAD}"
        block = answers["entries"][0]["fields"]
        block["contact_person"] = f"Dr. {PAYLOAD}"
        block["diseases_targeted"] = [f"Gout {PAYLOAD}"]
        block["atmp_type"] = {"types": ["gene_therapy"], "other": PAYLOAD}

    submission = submit_for("pullig@example.org", 9, edit=edit, consent_publish=True)
    suggestion = suggest(client, institution=f"New {PAYLOAD}", note=PAYLOAD, your_name=PAYLOAD)
    make_user("all@example.org", Role.ADMIN, Role.COORDINATOR, Role.CURATOR)
    auth.login("all@example.org")

    pages = {
        "queue": client.get("/staff/review/").get_data(as_text=True),
        "review": client.get(f"/staff/review/{submission.id}").get_data(as_text=True),
        "suggestion": client.get(f"/staff/review/{suggestion.id}").get_data(as_text=True),
    }
    assert "&lt;script&gt;" in pages["review"]
    assert decide(client, submission.id, "approve", comment=PAYLOAD).status_code == 302
    assert decide(client, suggestion.id, "reject", reason=PAYLOAD, notify="y").status_code == 302
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 9)).one()
    for name, path in {
        "registry": "/",
        "search": "/?q=gout",
        "institution": f"/institutions/{entry.institution_id}",
        "history": f"/staff/registry/curate/entry/{entry.id}/history",
        "edit": f"/staff/registry/curate/entry/{entry.id}/edit",
        "audit": "/admin/audit/",
        "statistics": "/statistics",
        "decided": f"/staff/review/{suggestion.id}",
    }.items():
        pages[name] = client.get(path).get_data(as_text=True)
    for name, page in pages.items():
        assert_escaped(page, name)
    assert "&lt;script&gt;" in pages["institution"]

    api = client.get(f"/api/v1/entries/{entry.id}")
    assert api.mimetype == "application/json"
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert api.get_json()["contact_person"] == f"Dr. {PAYLOAD}"  # data, returned as data

    assert send_pending().failed == 0
    assert mailbox.messages
    for message in mailbox.messages:
        assert_escaped(html_part(message), message["Subject"])


def test_exports_neutralise_every_formula_trigger(client, make_entry, table1):
    from surveyapp.tabular import neutralise

    # Leading tabs and NUL never reach the registry (values are trimmed, NUL refused).
    assert neutralise("\tx") == "'\tx"
    assert neutralise("\0x") == "'\0x"
    triggers = ["=1+1", "+1", "-1", "@SUM(A1)"]
    for number, trigger in enumerate(triggers):
        make_entry(f"Formula {number}", "DE", diseases_targeted=trigger)
    rows = list(
        csv.DictReader(io.StringIO(client.get("/registry/export.csv").get_data(as_text=True)))
    )
    cells = {r["diseases_targeted"] for r in rows if r["institution"].startswith("Formula")}
    assert cells == {f"'{t}" for t in triggers}
