"""Retention: the dry run lists what the settings say must go and changes nothing; --apply
removes exactly what it listed, and nothing else."""

from __future__ import annotations

import copy
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Campaign, Contact, Invitation, InvitationEvent
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.questionnaire import service as questionnaire
from surveyapp.questionnaire.models import Submission, SubmissionVersion
from surveyapp.vocabulary import SubmissionStatus

LONG_AGO = utcnow() - timedelta(days=400)


def snapshot() -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, as text."""
    db.session.expire_all()
    return {
        table.name: sorted(tuple(str(v) for v in row) for row in db.session.execute(select(table)))
        for table in db.metadata.sorted_tables
    }


def ids(model) -> set[int]:
    return set(db.session.scalars(select(model.id)))


def invitation_of(contact: Contact, campaign: Campaign) -> Invitation:
    return db.session.scalars(
        select(Invitation).where(
            Invitation.contact_id == contact.id, Invitation.campaign_id == campaign.id
        )
    ).one()


@pytest.fixture
def aged(app, campaign, make_contact, submit_for, monkeypatch):
    """Two closed campaigns; a contact silent in both, one who answered; an old and a new
    draft; old timeline events; an approved answer amended once, long ago."""
    for setting, value in {
        "RETENTION_CONTACT_CAMPAIGNS": 2,
        "RETENTION_DRAFT_DAYS": 30,
        "RETENTION_EVENT_DAYS": 90,
        "RETENTION_VERSION_DAYS": 60,
    }.items():
        monkeypatch.setitem(app.config, setting, value)
    today = utcnow().date()
    earlier = campaigns.create_campaign(
        "Registry update 2025", today + timedelta(days=30), actor="test"
    )
    silent = make_contact("silent@example.org", 20, name="Silvia Silent")
    answered = submit_for("answered@example.org", 4)
    invited = [silent.id, answered.invitation.contact_id]
    for each in (earlier, campaign):
        campaigns.invite(each, actor="test", contact_ids=invited)
    for each in (earlier, campaign):
        each.opens_on, each.closes_on = today - timedelta(days=90), today - timedelta(days=60)

    old_draft = questionnaire.submission_for(invitation_of(silent, earlier))
    new_draft = questionnaire.submission_for(invitation_of(silent, campaign))
    db.session.flush()
    db.session.execute(
        update(Submission).where(Submission.id == old_draft.id).values(updated_at=LONG_AGO)
    )
    amended = copy.deepcopy(answered.answers)
    questionnaire.submit(
        answered,
        answered.invitation,
        amended,
        submit_key="amend",
        consent_store=True,
        consent_publish=False,
    )
    answered.status = SubmissionStatus.APPROVED
    db.session.flush()
    db.session.execute(
        update(SubmissionVersion)
        .where(SubmissionVersion.submission_id == answered.id)
        .values(submitted_at=LONG_AGO)
    )
    first_event = min(ids(InvitationEvent))
    db.session.execute(
        update(InvitationEvent).where(InvitationEvent.id == first_event).values(at=LONG_AGO)
    )
    db.session.commit()
    return {"silent": silent.id, "old_draft": old_draft.id, "new_draft": new_draft.id}


def listed(output: str, kind: str) -> set[int]:
    return {int(n) for n in re.findall(rf"^{kind} (\d+)$", output, re.MULTILINE)}


def test_the_dry_run_lists_what_would_go_and_changes_nothing(runner, aged):
    before = snapshot()
    result = runner.invoke(args=["people", "retention"])
    assert result.exit_code == 0, result.output
    assert snapshot() == before
    assert listed(result.output, "contact") == {aged["silent"]}
    assert listed(result.output, "draft") == {aged["old_draft"]}
    assert len(listed(result.output, "invitation event")) == 1
    assert len(listed(result.output, "submission version")) == 1
    assert (
        "Would remove contacts: 1, drafts: 1, invitation events: 1, submission versions: 1"
        in result.output
    )


def test_apply_removes_exactly_what_the_dry_run_listed(runner, aged):
    dry = runner.invoke(args=["people", "retention"]).output
    submissions, events, versions = ids(Submission), ids(InvitationEvent), ids(SubmissionVersion)
    contacts = {c.id: c.email for c in db.session.scalars(select(Contact))}

    result = runner.invoke(args=["people", "retention", "--apply"])
    assert result.exit_code == 0, result.output
    assert "Removed contacts: 1, drafts: 1" in result.output
    db.session.expire_all()
    assert ids(Submission) == submissions - listed(dry, "draft")
    assert ids(SubmissionVersion) == versions - listed(dry, "submission version")
    # the run's own timeline events stay; only the listed ones went
    assert ids(InvitationEvent) >= events - listed(dry, "invitation event")
    assert not ids(InvitationEvent) & listed(dry, "invitation event")
    after = {c.id: c for c in db.session.scalars(select(Contact))}
    assert set(after) == set(contacts)
    for contact_id, email in contacts.items():
        if contact_id in listed(dry, "contact"):
            assert after[contact_id].email.endswith("@erased.invalid")
            assert after[contact_id].name is None and not after[contact_id].active
        else:
            assert after[contact_id].email == email
    assert runner.invoke(args=["people", "retention"]).output.startswith("Would remove contacts: 0")


def test_a_silent_contact_invited_to_an_open_campaign_keeps_the_link(runner, aged):
    # silent in two closed campaigns, but invited to one still open: kept until it closes
    running = campaigns.create_campaign(
        "Registry update 2027", utcnow().date() + timedelta(days=30), actor="test"
    )
    campaigns.invite(running, actor="test", contact_ids=[aged["silent"]])
    db.session.commit()
    result = runner.invoke(args=["people", "retention"])
    assert result.exit_code == 0, result.output
    assert listed(result.output, "contact") == set()
