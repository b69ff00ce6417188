"""A contact invited to describe a new institution speaks for it once a curator approves it,
so the next campaign invites them for that institution, pre-filled, with no duplicate."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from surveyapp.campaigns import service as campaign_service
from surveyapp.campaigns.models import Contact, ContactLink, Invitation
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire import service as questionnaire
from surveyapp.registry.models import Institution
from surveyapp.vocabulary import LinkStatus
from tests.campaigns.test_invitations import tokens_in
from tests.questionnaire.test_form import prefilled
from tests.review.conftest import decide

NEW_FACILITY = {
    "institution": {"institution": "Malta Cell Therapy Unit", "country": "MT", "website": ""},
    "entries": [
        {
            "entry_id": None,
            "active": True,
            "fields": {
                "contact_person": "Dr. Ann Example",
                "contact_email": "ann@mctu.example.mt",
                "atmp_type": {"types": ["somatic_cell_therapy"], "other": None},
                "patients_treated": {"estimate": 30, "qualifier": "approximate"},
                "diseases_targeted": ["B-cell lymphoma"],
                "diseases_pipeline": [],
                "contract_research": "no",
                "routine_application": "yes",
            },
        }
    ],
}


def invitation_of(campaign, contact: Contact) -> Invitation:
    return db.session.scalars(
        select(Invitation).where(
            Invitation.campaign_id == campaign.id, Invitation.contact_id == contact.id
        )
    ).one()


def test_an_approved_new_institution_is_prefilled_in_the_next_campaign(
    client, staff, campaign, make_contact, mailbox
):
    contact = make_contact("ann@mctu.example.mt", name="Dr. Ann Example")
    campaign_service.invite(campaign, actor="test", contact_ids=[contact.id])
    first = invitation_of(campaign, contact)
    assert first.institution_id is None
    submission = questionnaire.submission_for(first)
    questionnaire.submit(
        submission,
        first,
        NEW_FACILITY,
        submit_key="first-round",
        consent_store=True,
        consent_publish=False,
    )
    db.session.commit()
    institutions_before = db.session.scalar(select(func.count()).select_from(Institution))

    response = decide(client, submission.id, "approve")
    assert response.status_code == 302, response.get_data(as_text=True)

    db.session.expire_all()
    created = db.session.scalars(
        select(Institution).where(Institution.name == "Malta Cell Therapy Unit")
    ).one()
    link = db.session.get(ContactLink, (contact.id, created.id))
    assert (link.status, link.decided_by) == (LinkStatus.CONFIRMED, staff)
    assert invitation_of(campaign, contact).institution_id == created.id
    assert campaign_service.invite(campaign, actor="test").invitations == 0

    next_round = campaign_service.create_campaign(
        "Registry update 2027", (utcnow() + timedelta(days=60)).date(), actor="test"
    )
    campaign_service.invite(next_round, actor="test")
    db.session.commit()
    second = invitation_of(next_round, db.session.get(Contact, contact.id))
    assert second.institution_id == created.id
    mailbox.messages.clear()
    send_pending()
    token = tokens_in(mailbox.messages[-1])[0]
    html = client.get(f"/i/{token}/form").get_data(as_text=True)
    assert "Pre-filled from the registry (entry" in html
    answers = prefilled(html)
    assert answers["institution_block-institution"] == "Malta Cell Therapy Unit"
    assert answers["entries-0-patients_treated"] == "30"
    assert "B-cell lymphoma" in answers["entries-0-diseases_targeted"]
    assert (
        db.session.scalar(select(func.count()).select_from(Institution)) == institutions_before + 1
    )
