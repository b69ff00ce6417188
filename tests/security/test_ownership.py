"""One invitation's link reaches only its own institution's answers; ids in staff URLs
are checked against the record they belong to."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire.models import Submission
from surveyapp.registry.models import Entry
from surveyapp.vocabulary import Role
from tests.campaigns.test_invitations import tokens_in
from tests.questionnaire.test_form import post


def test_a_link_never_reads_or_changes_another_institutions_answers(
    client, campaign, make_contact, mailbox
):
    make_contact("a@example.org", 9)
    make_contact("b@example.org", 49)
    campaigns.invite(campaign, actor="test")
    db.session.commit()
    send_pending()
    tokens = {m["To"].addresses[0].addr_spec: tokens_in(m)[0] for m in mailbox.messages}
    hemafund = db.session.scalars(select(Entry).where(Entry.source_row == 49)).one()

    page = client.get(f"/i/{tokens['a@example.org']}/form").get_data(as_text=True)
    assert "HEMAFUND" not in page
    response = post(
        client, tokens["a@example.org"], {"entries-0-entry_id": str(hemafund.id)}, button="save"
    )
    assert response.status_code == 200
    mine = db.session.scalars(
        select(Submission).join(Invitation).where(Invitation.contact.has(email="a@example.org"))
    ).one()
    assert hemafund.id not in {b["entry_id"] for b in mine.answers["entries"]}
    assert (
        db.session.scalars(
            select(Submission).join(Invitation).where(Invitation.contact.has(email="b@example.org"))
        ).first()
        is None
    )


def test_invitation_ids_are_checked_against_their_campaign(
    client, make_user, auth, campaign, make_contact
):
    make_contact("a@example.org", 9)
    campaigns.invite(campaign, actor="test")
    other = campaigns.create_campaign(
        "Another round", (utcnow() + timedelta(days=30)).date(), actor="test"
    )
    db.session.commit()
    invitation = db.session.scalars(select(Invitation)).one()
    make_user("coordinator@example.org", Role.COORDINATOR)
    auth.login("coordinator@example.org")
    own = f"/campaigns/{campaign.id}/invitations/{invitation.id}"
    foreign = f"/campaigns/{other.id}/invitations/{invitation.id}"
    assert client.get(own).status_code == 200
    assert client.get(foreign).status_code == 404
