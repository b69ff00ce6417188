"""Reminders by hand and by policy, opt-out (page and RFC 8058 one-click), the CLI."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Contact, Invitation
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.mail.models import OutboxMessage
from surveyapp.mail.service import send_pending
from surveyapp.vocabulary import InvitationStatus, MessageKind, Role
from tests.campaigns.test_invitations import tokens_in
from tests.conftest import AuthActions, csrf_token


def sent_campaign(campaign, make_contact, *emails: str) -> dict[str, Invitation]:
    for number, address in enumerate(emails):
        make_contact(address, 3 + number)
    service.invite(campaign, actor="test")
    db.session.commit()
    send_pending()
    return {i.contact.email: i for i in db.session.scalars(select(Invitation))}


def reminders_queued() -> list[OutboxMessage]:
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.REMINDER))
    )


def test_reminders_skip_submitted_opted_out_and_bounced(campaign, make_contact, mailbox):
    invitations = sent_campaign(
        campaign,
        make_contact,
        "waiting@example.org",
        "done@example.org",
        "out@example.org",
        "gone@example.org",
    )
    service.set_status(invitations["done@example.org"], InvitationStatus.SUBMITTED)
    service.opt_out(invitations["out@example.org"], everything=False)
    service.mark_bounced([invitations["gone@example.org"]], "5.1.1", actor="test")
    db.session.commit()
    targets = db.session.scalars(service.remindable(campaign)).all()
    assert [i.contact.email for i in targets] == ["waiting@example.org"]
    service.remind(campaign, list(targets), actor="test")
    db.session.commit()
    mailbox.messages.clear()
    assert send_pending().sent == 1
    (message,) = mailbox.messages
    assert message["To"].addresses[0].addr_spec == "waiting@example.org"
    assert message["Subject"].startswith("Reminder")
    waiting = invitations["waiting@example.org"]
    db.session.refresh(waiting)
    assert waiting.reminders_sent == 1
    assert waiting.events[-1].detail["kind"] == "reminder"


def test_the_policy_reminds_after_the_wait_and_at_most_n_times(campaign, make_contact, mailbox):
    sent_campaign(campaign, make_contact, "slow@example.org")
    invitation = db.session.scalars(select(Invitation)).one()
    start = invitation.last_sent_at
    assert service.tick(now=start + timedelta(days=6)).reminders == 0
    first = start + timedelta(days=7, minutes=1)
    assert service.tick(now=first).reminders == 1
    db.session.commit()
    assert service.tick(now=first + timedelta(minutes=1)).reminders == 0  # still queued
    send_pending(now=lambda: first + timedelta(minutes=2))
    db.session.refresh(invitation)
    assert invitation.last_sent_at == first + timedelta(minutes=2)
    second = invitation.last_sent_at + timedelta(days=7, minutes=1)
    assert service.tick(now=second).reminders == 1
    db.session.commit()
    send_pending(now=lambda: second)
    db.session.refresh(invitation)
    assert invitation.reminders_sent == campaign.max_reminders == 2
    assert service.tick(now=second + timedelta(days=8)).reminders == 0
    assert len(reminders_queued()) == 2
    assert len(mailbox.messages) == 3
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "campaign.remind")
        )
        == 2
    )


def test_remind_by_hand_shows_who_and_how_many_first(
    app, campaign, make_contact, mailbox, make_user
):
    sent_campaign(campaign, make_contact, "one@example.org", "two@example.org")
    make_user("coord@example.org", Role.COORDINATOR)
    coordinator = AuthActions(app.test_client())
    coordinator.login("coord@example.org")
    url = f"/campaigns/{campaign.id}/remind"
    page = coordinator.client.get(url).get_data(as_text=True)
    assert "Remind 2 invitations" in page and "one@example.org" in page
    assert reminders_queued() == []
    coordinator.client.post(url, data={"csrf_token": csrf_token(coordinator.client, url)})
    assert len(reminders_queued()) == 2


def test_the_opt_out_page_has_one_button_and_a_get_changes_nothing(
    campaign, make_contact, mailbox, client
):
    sent_campaign(campaign, make_contact, "a@example.org")
    (token,) = tokens_in(mailbox.messages[0])
    page = client.get(f"/i/{token}/opt-out").get_data(as_text=True)
    assert page.count('type="submit"') == 1
    invitation = db.session.scalars(select(Invitation)).one()
    db.session.refresh(invitation)
    assert invitation.opted_out_at is None
    client.post(
        f"/i/{token}/opt-out",
        data={"csrf_token": csrf_token(client, f"/i/{token}/opt-out"), "scope": "campaign"},
    )
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.OPTED_OUT
    assert invitation.contact.opted_out_at is None


def test_opting_out_of_everything_stops_future_campaigns(campaign, make_contact, mailbox, client):
    sent_campaign(campaign, make_contact, "a@example.org")
    (token,) = tokens_in(mailbox.messages[0])
    client.post(
        f"/i/{token}/opt-out",
        data={"csrf_token": csrf_token(client, f"/i/{token}/opt-out"), "scope": "all"},
    )
    contact = db.session.scalars(select(Contact)).one()
    db.session.refresh(contact)
    assert contact.opted_out_at is not None
    later = service.create_campaign("Next round", campaign.closes_on, actor="test")
    assert service.invite(later, actor="test").skipped_contacts == 1


def test_rfc8058_one_click_unsubscribe_needs_no_csrf_token(campaign, make_contact, mailbox, client):
    sent_campaign(campaign, make_contact, "a@example.org")
    message = mailbox.messages[0]
    one_click = message["List-Unsubscribe"].split("<")[2].rstrip(">")
    path = one_click.removeprefix("http://127.0.0.1:5000")
    assert client.get(path).status_code == 302  # a GET only shows the page
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    invitation = db.session.scalars(select(Invitation)).one()
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.OPTED_OUT
    assert invitation.events[-1].detail == {"scope": "campaign", "one_click": True}


def test_the_command_line_runs_a_campaign(table1, runner, tmp_path, mailbox, ctx):
    from tests.conftest import write_csv

    path = write_csv(
        tmp_path / "c.csv",
        ["institution", "contact_person", "email", "country", "language"],
        [["Lab", "Dr. A", "a@example.org", "France", "fr"]],
    )
    assert "1 contact imported" in runner.invoke(args=["contacts", "import", str(path)]).output
    created = runner.invoke(args=["campaigns", "create", "Round 1", "--closes", "2099-12-31"])
    assert created.exit_code == 0 and "Created campaign 'Round 1'" in created.output
    duplicate = runner.invoke(args=["campaigns", "create", "Round 1", "--closes", "2099-12-31"])
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    invited = runner.invoke(args=["campaigns", "invite", "Round 1"])
    assert "1 invitation queued in 1 email" in invited.output
    assert "1 sent" in runner.invoke(args=["mail", "send-pending"]).output
    assert "reminder emails queued" in runner.invoke(args=["campaigns", "tick"]).output
    missing = runner.invoke(args=["campaigns", "invite", "No such round"])
    assert missing.exit_code == 1 and "No campaign is named" in missing.output
    assert len(mailbox.messages) == 1
