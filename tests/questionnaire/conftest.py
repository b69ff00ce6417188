"""Factories for questionnaire tests: an invited contact of Table 1 institutions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Campaign, Contact
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.registry.models import Entry
from surveyapp.vocabulary import LinkStatus
from tests.campaigns.test_invitations import tokens_in


def institution_of_row(row: int):
    return db.session.scalars(select(Entry).where(Entry.source_row == row)).one().institution


@pytest.fixture
def make_contact(ctx):
    """A contact, optionally confirmed for the institutions of some Table 1 rows."""

    def make(email: str, *rows: int, name: str = "Dr. Test Person") -> Contact:
        contact, _ = service.upsert_contact(email, source="test", name=name)
        for row in rows:
            service.link_contact(
                contact, institution_of_row(row), LinkStatus.CONFIRMED, actor="test"
            )
        db.session.commit()
        return contact

    return make


@pytest.fixture
def campaign(table1, ctx) -> Campaign:
    """An open campaign closing in 30 days."""
    created = service.create_campaign(
        "Registry update 2026",
        (utcnow() + timedelta(days=30)).date(),
        actor="test",
        reply_to="team@example.org",
    )
    db.session.commit()
    return created


@pytest.fixture
def invited(campaign, make_contact, mailbox):
    """Invite a contact for Table 1 rows 9-11 (one institution, three entries); its token."""

    def invite(*rows: int) -> str:
        make_contact("pullig@example.org", *(rows or (9,)), name="PD Dr. Oliver Pullig")
        service.invite(campaign, actor="test")
        db.session.commit()
        send_pending()
        return tokens_in(mailbox.messages[-1])[0]

    return invite
