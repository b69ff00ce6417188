"""Questionnaire fixtures: an invited contact of Table 1 institutions."""

from __future__ import annotations

import pytest

from surveyapp.campaigns import service
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from tests.campaigns.test_invitations import tokens_in


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
