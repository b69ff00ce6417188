"""Proposed contact-institution links that are exact matches are confirmed in one action."""

from __future__ import annotations

from sqlalchemy import select

from surveyapp.campaigns.models import Contact, ContactLink
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.vocabulary import LinkStatus
from tests.campaigns.test_contacts import HEADER
from tests.campaigns.test_views import coordinator
from tests.conftest import csrf_token, institution_of_row, write_csv


def statuses(email: str) -> dict[int, LinkStatus]:
    db.session.expire_all()
    contact = db.session.scalars(select(Contact).where(Contact.email == email)).one()
    return {link.institution_id: link.status for link in contact.links}


def test_confirm_all_exact_matches_leaves_the_similar_ones_to_decide(
    app, make_user, table1, tmp_path, runner, ctx
):
    path = write_csv(
        tmp_path / "c.csv",
        HEADER,
        [
            # Row 17's name exactly, but for punctuation; row 16 is only similar.
            ["CCMI National University of Ireland Galway", "Andrew", "a@example.org", "IE", "", ""],
            # Rows 24, 30 and 31 have their website on ior.it; the names are not alike.
            ["Rizzoli", "Someone", "someone@ior.it", "Italy", "it", ""],
        ],
    )
    assert runner.invoke(args=["contacts", "import", str(path)]).exit_code == 0
    galway, similar = institution_of_row(17).id, institution_of_row(16).id
    rizzoli = {institution_of_row(row).id for row in (24, 30, 31)}
    assert statuses("a@example.org")[galway] == LinkStatus.PROPOSED
    assert statuses("a@example.org")[similar] == LinkStatus.PROPOSED

    client = coordinator(app, make_user)
    page = client.get("/contacts/links").get_data(as_text=True)
    assert "4 proposals are exact matches" in page
    response = client.post(
        "/contacts/links/confirm-exact",
        data={"csrf_token": csrf_token(client, "/contacts/links")},
    )
    assert response.status_code == 302
    assert "4 exact matches confirmed." in client.get("/contacts/links").get_data(as_text=True)

    assert statuses("a@example.org")[galway] == LinkStatus.CONFIRMED
    assert statuses("a@example.org")[similar] == LinkStatus.PROPOSED
    ior = statuses("someone@ior.it")
    assert {i for i, s in ior.items() if s == LinkStatus.CONFIRMED} == rizzoli
    confirmed = db.session.scalars(
        select(ContactLink).where(ContactLink.status == LinkStatus.CONFIRMED)
    ).all()
    assert {link.decided_by for link in confirmed} == {"coord@example.org"}
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "contacts.links")
    ).one()
    assert event.actor == "coord@example.org"


def test_one_exact_match_is_reported_in_the_singular(app, make_user, table1, tmp_path, runner, ctx):
    path = write_csv(
        tmp_path / "c.csv",
        HEADER,
        [["CCMI, National University of Ireland, Galway", "A", "a@example.org", "IE", "", ""]],
    )
    runner.invoke(args=["contacts", "import", str(path)])
    client = coordinator(app, make_user)
    assert "1 proposal is an exact match" in client.get("/contacts/links").get_data(as_text=True)
    client.post(
        "/contacts/links/confirm-exact",
        data={"csrf_token": csrf_token(client, "/contacts/links")},
    )
    assert "1 exact match confirmed." in client.get("/contacts/links").get_data(as_text=True)
