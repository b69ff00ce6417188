"""The mailto unsubscribe carries an opt-out token, never the link token: the message sits
in clear in the sender's mailbox, and the token there can only opt out (issue 17)."""

from __future__ import annotations

import re
from urllib.parse import unquote

from sqlalchemy import select

from surveyapp.campaigns.models import Invitation
from surveyapp.campaigns.opt_out_tokens import opt_out_token
from surveyapp.extensions import db
from surveyapp.vocabulary import InvitationStatus
from tests.campaigns.test_invitations import invite_and_send, tokens_in


def mailto_subject(message) -> str:
    """The subject of the email's mailto unsubscribe."""
    found = re.search(r"<mailto:[^?]+\?subject=([^>]+)>", message["List-Unsubscribe"])
    assert found, message["List-Unsubscribe"]
    return unquote(found.group(1))


def test_the_mailto_unsubscribe_carries_an_opt_out_token_and_no_link_token(
    campaign, make_contact, mailbox, client
):
    make_contact("svane@example.org", 4)
    invite_and_send(campaign)
    (message,) = mailbox.messages
    (link_token,) = tokens_in(message)
    subject = mailto_subject(message)
    invitation = db.session.scalars(select(Invitation)).one()
    assert subject == f"unsubscribe {opt_out_token(invitation)}"
    assert link_token not in message["List-Unsubscribe"].split("mailto:")[1].split(">")[0]
    # the opt-out token opens nothing
    assert client.get(f"/i/{subject.split()[1]}").status_code == 404


def test_an_emailed_unsubscribe_opts_the_contact_out_of_the_campaign(
    campaign, make_contact, mailbox, runner
):
    make_contact("svane@example.org", 4)
    invite_and_send(campaign)
    subject = mailto_subject(mailbox.messages[0])
    result = runner.invoke(args=["campaigns", "unsubscribe", f"Re: {subject}"])
    assert result.exit_code == 0, result.output
    assert "svane@example.org will receive no more emails about Registry update 2026" in (
        result.output
    )
    invitation = db.session.scalars(select(Invitation)).one()
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.OPTED_OUT


def test_a_link_token_or_an_altered_token_opts_nobody_out(campaign, make_contact, mailbox, runner):
    make_contact("svane@example.org", 4)
    invite_and_send(campaign)
    (link_token,) = tokens_in(mailbox.messages[0])
    token = mailto_subject(mailbox.messages[0]).split()[1]
    altered = ("MjA" if not token.startswith("MjA") else "MzA") + token[token.index(".") :]
    for subject in (f"unsubscribe {link_token}", f"unsubscribe {altered}", ""):
        result = runner.invoke(args=["campaigns", "unsubscribe", subject])
        assert result.exit_code == 1
        assert "not the subject of one of our unsubscribe emails" in result.output
    invitation = db.session.scalars(select(Invitation)).one()
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.SENT
