"""The return mailbox's messages (issue 20): bounces in the formats mail servers write,
soft and hard, emailed unsubscribes, and everything else, read from files through the
same reader the mailbox poll uses; reading a message twice changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from surveyapp.campaigns.models import Invitation, ReturnedMail
from surveyapp.extensions import db
from surveyapp.mail.returns import read_returned, unsubscribe_subject
from surveyapp.vocabulary import InvitationStatus, ReturnedKind
from tests.campaigns.test_invitations import invite_and_send
from tests.campaigns.test_opt_out_tokens import mailto_subject
from tests.mail.test_bounces import dsn, sent

SAMPLES = Path(__file__).parent / "returned"


@pytest.mark.parametrize(
    ("sample", "recipient", "permanent", "status", "original"),
    [
        ("postfix_hard.eml", "left@institute.example", True, "5.1.1", "invitation-3"),
        ("exim_hard.eml", "gone@hospital.example", True, "5.1.1", "invitation-1"),
        ("exim_soft.eml", "full@hospital.example", False, "4.2.2", "invitation-6"),
        ("qmail_hard.eml", "nobody@clinic.example", True, "5.1.1", "invitation-2"),
        ("exchange_hard.eml", "retired.doctor@hospital.example", True, "", "invitation-4"),
        ("gmail_hard.eml", "moved.on@gmail.example", True, "5.1.1", "invitation-5"),
    ],
)
def test_each_servers_bounce_names_the_recipient_and_how_final_it_is(
    sample, recipient, permanent, status, original
):
    returned = read_returned((SAMPLES / sample).read_bytes())
    assert returned.kind == "bounce"
    (failure,) = returned.failures
    assert (failure.recipient, failure.permanent, failure.status) == (recipient, permanent, status)
    assert failure.reason  # the server's words, for the invitation's timeline
    assert returned.original_message_id == f"<{original}@registry.example.org>"


def test_an_rfc3464_report_tells_soft_from_hard_by_its_status():
    (hard,) = read_returned(dsn("a@example.org", "<m1@x>", "5.1.1")).failures
    (soft,) = read_returned(dsn("a@example.org", "<m1@x>", "4.2.2")).failures
    assert hard.permanent and not soft.permanent


def test_an_unsubscribe_reply_and_anything_else_are_told_apart():
    assert unsubscribe_subject("Re: AW: unsubscribe abc.def") == "unsubscribe abc.def"
    assert unsubscribe_subject("Unsubscribe me please") == "Unsubscribe me please"
    assert unsubscribe_subject("Question about the questionnaire") is None
    other = EmailMessage()
    other["Subject"] = "Question about the questionnaire"
    other.set_content("Who should answer for our second site?")
    assert read_returned(other.as_bytes()).kind == "other"
    headless = EmailMessage()  # no From: mail clients' unsubscribes may lack one
    headless["Subject"] = "unsubscribe abc.def"
    headless.set_content("")
    assert read_returned(headless.as_bytes()).kind == "unsubscribe"
    broken = read_returned(b"\xff\xfe\x00 not a message")
    assert broken.kind == "other" and broken.key.startswith("sha256:")


def ingest(runner, folder: Path) -> str:
    result = runner.invoke(args=["mail", "ingest-bounces", str(folder)])
    assert result.exit_code == 0, result.output
    return result.output


def status_of(email: str) -> InvitationStatus:
    invitation = db.session.scalars(
        select(Invitation).join(Invitation.contact).where(Invitation.contact.has(email=email))
    ).one()
    db.session.refresh(invitation)
    return invitation.status


def test_soft_bounces_count_until_the_limit_then_the_address_is_undeliverable(
    app, campaign, make_contact, mailbox, runner, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "MAILBOX_SOFT_BOUNCE_LIMIT", 2)
    sent(campaign, make_contact, "full@example.org")
    message_id = mailbox.messages[0]["Message-ID"]
    (tmp_path / "1.eml").write_bytes(dsn("full@example.org", message_id, "4.2.2"))
    assert "1 soft bounces counted" in ingest(runner, tmp_path)
    assert status_of("full@example.org") == InvitationStatus.SENT
    (tmp_path / "2.eml").write_bytes(
        dsn("full@example.org", message_id, "4.2.2").replace(b"4B5C01F2", b"4B5C01F3")
    )
    output = ingest(runner, tmp_path)
    assert "1 invitations marked bounced" in output and "1 already read" in output
    assert status_of("full@example.org") == InvitationStatus.BOUNCED
    invitation = db.session.scalars(select(Invitation)).one()
    assert invitation.events[-1].detail["reason"].startswith("2 soft bounces; the last: 4.2.2")


def test_a_hard_bounce_marks_at_once_and_reading_it_again_changes_nothing(
    campaign, make_contact, mailbox, runner, tmp_path
):
    sent(campaign, make_contact, "gone@example.org")
    (tmp_path / "b.eml").write_bytes(dsn("gone@example.org", mailbox.messages[0]["Message-ID"]))
    assert "1 invitations marked bounced" in ingest(runner, tmp_path)
    again = ingest(runner, tmp_path)
    assert "0 invitations marked bounced" in again and "1 already read" in again
    assert db.session.scalar(select(func.count(ReturnedMail.id))) == 1
    row = db.session.scalars(select(ReturnedMail)).one()
    assert (row.kind, row.recipient, row.status) == (
        ReturnedKind.HARD_BOUNCE,
        "gone@example.org",
        "5.1.1",
    )


def test_an_emailed_unsubscribe_opts_out_and_a_link_token_does_not(
    campaign, make_contact, mailbox, runner, tmp_path
):
    make_contact("svane@example.org", 4)
    invite_and_send(campaign)
    reply = EmailMessage()
    reply["From"] = "svane@example.org"
    reply["To"] = "registry@example.org"
    reply["Subject"] = f"Re: {mailto_subject(mailbox.messages[0])}"
    reply.set_content("")
    (tmp_path / "unsubscribe.eml").write_bytes(reply.as_bytes())
    forged = EmailMessage()
    forged["Subject"] = "unsubscribe not-a-token"
    forged.set_content("")
    (tmp_path / "forged.eml").write_bytes(forged.as_bytes())
    output = ingest(runner, tmp_path)
    assert "1 unsubscribes, 1 messages to read" in output
    assert status_of("svane@example.org") == InvitationStatus.OPTED_OUT
    assert "0 unsubscribes, 0 messages to read" in ingest(runner, tmp_path)


@pytest.mark.parametrize(("days_after_closing", "matched"), [(3, True), (30, False)])
def test_a_bounce_without_the_original_is_matched_within_the_campaigns_sending_window(
    campaign, make_contact, mailbox, runner, tmp_path, days_after_closing, matched
):
    sent(campaign, make_contact, "gone@example.org")
    bounced = campaign.closes_on + timedelta(days=days_after_closing)
    dated = f"Date: {format_datetime(datetime.combine(bounced, time(9), UTC))}\r\n".encode()
    (tmp_path / "b.eml").write_bytes(dated + dsn("gone@example.org", "<not-ours@elsewhere>"))
    output = ingest(runner, tmp_path)
    if matched:
        assert "1 invitations marked bounced" in output
    else:
        assert "1 bounces matched nothing" in output
        assert status_of("gone@example.org") == InvitationStatus.SENT
