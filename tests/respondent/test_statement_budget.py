"""The questionnaire's statement budgets (issue 18): opening the form behind a link, saving
it and submitting it each send a fixed number of SQL statements, however many programmes
(registry entries) the institution has.

Each request is counted for an institution with 1 entry and for one with 5, each through a
fresh link, as a respondent meets them. The budgets are today's counts: a change that adds a
statement per programme fails the comparison, and one that adds any statement at all fails
the budget, which it then raises on purpose, saying why.

Counts include the SAVEPOINT and its RELEASE or ROLLBACK TO that the tests' transaction wraps
around each request's own transaction (production sends no statement there: the drivers
begin and commit by themselves). They are the same on SQLite and PostgreSQL, except that
PostgreSQL's driver batches several rows of one table into one INSERT, so its counts may be
lower, never higher.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Campaign, Invitation
from surveyapp.definitions import table1 as table1_definition
from surveyapp.extensions import db
from surveyapp.history.service import Provenance
from surveyapp.registry.models import Institution
from surveyapp.registry.service import add_entry, add_institution, updates_from_text
from surveyapp.vocabulary import ChangeSource, InvitationStatus, LinkStatus
from tests.conftest import csrf_token
from tests.questionnaire.test_form import prefilled

# Opening the form: the invitation joined to its contact, campaign and institution; the
# submission (none yet); the institution's entries joined to their ATMP types; the
# registry's newest entry change (are the disease-term suggestions still current?) and, as
# an entry was just added, the terms themselves; the version that last set the
# institution's city (is a pre-filled city to be confirmed?); the savepoint and its
# rollback.
GET_BUDGET = 8
# The first save: the invitation, the submission (none yet), the new draft (holding the
# answers sent, so no pre-fill is read), the entry ids the answers may name, one update of
# the invitation (opened and started at once) with its two events; in the same
# transaction, what the page shows beside the answers (the disease terms' freshness and
# the city's version); after the commit, the page shows the invitation and the draft as
# they were just written, reading nothing; the savepoint and its release.
SAVE_BUDGET = 11
# The submit: the invitation, the submission and its versions, the entry ids, the
# submission's status, its versions again, the invitation's status and event,
# the new version, the confirmation email in the outbox; the savepoint and its release.
SUBMIT_BUDGET = 12

PROVENANCE = Provenance(ChangeSource.STAFF_EDIT, "test")
PROGRAMME = {
    "atmp_type": "Gene therapy",
    "patients_treated": "12",
    "diseases_targeted": "Haemophilia B",
    "diseases_pipeline": "Sickle cell disease",
    "contract_research": "Yes",
    "routine_application": "No",
}


def institution_with(
    entries: int, name: str | None = None, website: str = "https://centre.example.org"
) -> Institution:
    """A German institution with ``entries`` identical gene-therapy programmes, flushed."""
    definition = table1_definition()
    updates, _ = updates_from_text(
        definition.level_fields("institution"),
        {
            "institution": name or f"Centre of {entries} programmes",
            "country": "DE",
            "website": website,
        },
    )
    institution = add_institution(updates, PROVENANCE)
    for _ in range(entries):
        updates, _ = updates_from_text(definition.level_fields("entry"), PROGRAMME)
        add_entry(institution, updates, PROVENANCE)
    return institution


def link_to(campaign: Campaign, institution: Institution) -> str:
    """A fresh link token for a contact confirmed for the institution, invited to the
    campaign (committed)."""
    contact, _ = campaigns.upsert_contact(f"respondent-{institution.id}@example.org", source="test")
    campaigns.link_contact(contact, institution, LinkStatus.CONFIRMED, actor="test")
    campaigns.invite(campaign, actor="test", contact_ids=[contact.id])
    invitation = db.session.scalars(
        select(Invitation).where(Invitation.contact_id == contact.id)
    ).one()
    token = campaigns.mint_token(invitation)
    db.session.commit()
    return token


@dataclass
class Costs:
    """Statements of each request of one respondent's journey."""

    get: int
    save: int
    submit: int


def journey(client, statements, campaign: Campaign, entries: int) -> Costs:
    """Open the form through a fresh link, save it once, then submit it; the statements
    each of the three requests sent."""
    url = f"/i/{link_to(campaign, institution_with(entries))}/form"
    with statements() as opened:
        assert client.get(url).status_code == 200
    values = {
        **prefilled(client.get(url).get_data(as_text=True)),
        "csrf_token": csrf_token(client, url),
        "institution_block-country": "AT",
        "save": "y",
    }
    with statements() as saved:
        assert client.post(url, data=values).status_code == 200
    values = {
        **prefilled(client.get(url).get_data(as_text=True)),
        "csrf_token": csrf_token(client, url),
        "consent_store": "y",
        "submit": "y",
    }
    with statements() as submitted:
        assert client.post(url, data=values).status_code == 302
    return Costs(len(opened), len(saved), len(submitted))


def test_opening_the_form_costs_the_same_for_5_programmes_as_for_1(client, campaign, statements):
    one = journey(client, statements, campaign, entries=1)
    five = journey(client, statements, campaign, entries=5)
    assert five.get == one.get
    assert one.get <= GET_BUDGET


def test_saving_the_form_costs_the_same_for_5_programmes_as_for_1(client, campaign, statements):
    one = journey(client, statements, campaign, entries=1)
    five = journey(client, statements, campaign, entries=5)
    assert five.save == one.save
    assert one.save <= SAVE_BUDGET


def test_submitting_costs_the_same_for_5_programmes_as_for_1(client, campaign, statements):
    one = journey(client, statements, campaign, entries=1)
    five = journey(client, statements, campaign, entries=5)
    assert five.submit == one.submit
    assert one.submit <= SUBMIT_BUDGET


def test_submitting_without_saving_first_updates_the_invitation_once(client, campaign, statements):
    """Opened, started and submitted in one request: one update of the invitation (with
    its three events), not one per step."""
    token = link_to(campaign, institution_with(2))
    url = f"/i/{token}/form"
    values = {
        **prefilled(client.get(url).get_data(as_text=True)),
        "csrf_token": csrf_token(client, url),
        "consent_store": "y",
        "submit": "y",
    }
    with statements() as submitted:
        assert client.post(url, data=values).status_code == 302
    sent = [str(statement) for statement in submitted]
    assert sum(s.startswith("UPDATE invitation ") for s in sent) == 1
    # PostgreSQL's driver writes the three events in one batched INSERT, SQLite's in
    # three: the events themselves are what must be there.
    invitation = campaigns.invitation_by_token(token)
    assert [event.status for event in invitation.events] == [
        InvitationStatus.QUEUED,
        InvitationStatus.OPENED,
        InvitationStatus.STARTED,
        InvitationStatus.SUBMITTED,
    ]
