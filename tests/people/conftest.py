"""A person's full journey through the registry, for the rights tests: invited, answering
with consent to publish, confirmed by email, approved by a curator (who is an admin), a
facility nominated, a public suggestion sent, and an opt-out in the audit log."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire.models import Submission
from surveyapp.vocabulary import Role
from tests.campaigns.test_invitations import plain
from tests.conftest import csrf_token
from tests.questionnaire.test_form import post
from tests.review.conftest import decide, suggest

EMAIL = "pullig@example.org"
NAME = "PD Dr. Oliver Pullig"
ADMIN = "admin@example.org"


@dataclass
class Journey:
    """What the journey left behind that the tests look at."""

    token: str
    withdrawal_link: str
    submission_id: int
    invitation_id: int


@pytest.fixture
def admin(make_user, auth) -> str:
    """A logged-in admin who also curates."""
    make_user(ADMIN, Role.ADMIN, Role.CURATOR)
    assert auth.login(ADMIN).status_code == 302
    return ADMIN


@pytest.fixture
def journey(client, invited, mailbox, admin) -> Journey:
    """Pullig answers for TLC-RT Würzburg (Table 1 rows 9-11) naming himself as the
    contact of every programme, consenting to publication; a curator approves."""
    token = invited(9)
    page = client.get(f"/i/{token}/form").get_data(as_text=True)
    blocks = len(set(re.findall(r'name="entries-(\d+)-contact_email"', page)))
    assert blocks == 3
    answers = {"consent_store": "y", "consent_publish": "y"}
    for index in range(blocks):
        answers[f"entries-{index}-contact_email"] = EMAIL
        answers[f"entries-{index}-contact_person"] = NAME
    assert post(client, token, answers, button="submit").status_code == 302
    mailbox.messages.clear()
    send_pending()
    (confirmation,) = mailbox.messages
    withdrawal = re.search(r"http://\S+/i/[A-Za-z0-9_-]{43}/withdraw-consent", plain(confirmation))
    assert withdrawal, plain(confirmation)

    nominate = f"/i/{token}/nominate"
    nominated = client.post(
        nominate,
        data={
            "csrf_token": csrf_token(client, nominate),
            "name": "Rizzoli Orthopaedic Institute",
            "country": "IT",
            "website": "www.ior.it",
            "contact_email": "someone@ior.example.it",
        },
    )
    assert nominated.status_code == 200
    suggest(client, your_name=NAME, your_email=EMAIL, note=f"Ask {NAME} at {EMAIL}")

    submission = db.session.scalars(
        select(Submission).where(Submission.invitation_id.is_not(None))
    ).one()
    assert decide(client, submission.id, "approve").status_code == 302
    invitation = db.session.get(Invitation, submission.invitation_id)
    campaigns.opt_out(invitation, everything=True)
    db.session.commit()
    return Journey(token, withdrawal.group(0), submission.id, invitation.id)
