"""Bounces: delivery status notifications (RFC 3464) mark invitations bounced."""

from __future__ import annotations

import mailbox as mbox
from email.message import EmailMessage

from sqlalchemy import select

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.vocabulary import InvitationStatus


def dsn(recipient: str, original_message_id: str, status: str = "5.1.1") -> bytes:
    """A delivery status notification as Postfix writes one."""
    return f"""From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: registry@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--BOUNDARY
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4B5C01F2
Arrival-Date: Sun, 22 Nov 2026 10:00:00 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: {status}
Remote-MTA: dns; mail.example.com
Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected:
    User unknown in virtual mailbox table

--BOUNDARY
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: ATMP facility registry <registry@example.org>
To: {recipient}
Subject: Please confirm your ATMP facility in the European registry
Message-ID: {original_message_id}

--BOUNDARY--
""".replace("\n", "\r\n").encode()


def sent(campaign, make_contact, *emails: str) -> list:
    for number, address in enumerate(emails):
        make_contact(address, 3 + number)
    service.invite(campaign, actor="test")
    db.session.commit()
    send_pending()


def test_bounces_from_a_folder_of_eml_files(campaign, make_contact, mailbox, runner, tmp_path):
    sent(campaign, make_contact, "gone@example.org", "fine@example.org")
    message_id = mailbox.messages[0]["Message-ID"]
    (tmp_path / "bounce1.eml").write_bytes(dsn("gone@example.org", message_id))
    result = runner.invoke(args=["mail", "ingest-bounces", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "1 invitations marked bounced, 0 soft bounces counted" in result.output
    by_email = {i.contact.email: i for i in db.session.scalars(select(Invitation))}
    db.session.refresh(by_email["gone@example.org"])
    gone = by_email["gone@example.org"]
    assert gone.status == InvitationStatus.BOUNCED
    assert "5.1.1" in gone.events[-1].detail["reason"]
    assert gone.contact.bounced_at is not None
    assert by_email["fine@example.org"].status == InvitationStatus.SENT


def test_bounces_from_an_mbox(campaign, make_contact, mailbox, runner, tmp_path):
    sent(campaign, make_contact, "gone@example.org")
    box = mbox.mbox(tmp_path / "bounces.mbox")
    box.add(dsn("gone@example.org", "<unknown@elsewhere>"))
    box.add(EmailMessage())  # not a report: ignored
    box.close()
    result = runner.invoke(args=["mail", "ingest-bounces", str(tmp_path / "bounces.mbox")])
    assert "1 invitations marked bounced" in result.output  # matched by recipient
    assert db.session.scalars(select(Invitation)).one().status == InvitationStatus.BOUNCED


def test_a_bounce_for_a_stranger_matches_nothing(campaign, runner, tmp_path):
    (tmp_path / "b.eml").write_bytes(dsn("stranger@example.org", "<x@y>"))
    result = runner.invoke(args=["mail", "ingest-bounces", str(tmp_path)])
    assert "1 bounces matched nothing" in result.output
