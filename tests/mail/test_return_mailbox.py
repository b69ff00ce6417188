"""Reading the return mailbox over IMAP with TLS (issue 20), against a real Dovecot:
bounces, an emailed unsubscribe, an unrelated reply and a malformed message, each filed
away and never deleted; polling twice, or two pollers at once, changes nothing the
second time; an unreachable server or a refused login changes nothing and says why."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from surveyapp.campaigns import returned_mail
from surveyapp.campaigns.models import ReturnedMail
from surveyapp.extensions import db
from surveyapp.mail.cli import BETWEEN_SENDS
from surveyapp.mail.return_mailbox import MailboxSettings
from surveyapp.vocabulary import InvitationStatus
from tests.campaigns.test_invitations import invite_and_send
from tests.campaigns.test_opt_out_tokens import mailto_subject
from tests.mail.imap_server import DOVECOT, running_dovecot
from tests.mail.test_bounces import dsn
from tests.mail.test_returned import status_of
from tests.mail.test_worker import queued

pytestmark = pytest.mark.skipif(
    not os.path.exists(DOVECOT),
    reason="Dovecot not found: install Debian's dovecot-imapd (.ci/run does)",
)


@pytest.fixture(scope="session")
def imap_server():
    # Dovecot's own users read its files: a folder they may enter, unlike pytest's.
    root = Path(tempfile.mkdtemp(prefix="surveyapp-dovecot-"))
    root.chmod(0o755)
    try:
        with running_dovecot(root) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def return_mailbox(app, imap_server, monkeypatch):
    """The application pointed at an empty return mailbox."""
    imap_server.empty()
    for key, value in imap_server.config().items():
        monkeypatch.setitem(app.config, key, value)
    return imap_server


def reply(subject: str, body: str = "") -> bytes:
    message = EmailMessage()
    message["From"] = "someone@hospital.example"
    message["To"] = "registry@example.org"
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash(subject))}@hospital.example>"
    message.set_content(body)
    return message.as_bytes()


def poll(runner) -> str:
    result = runner.invoke(args=["mail", "poll-mailbox"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def invited(campaign, make_contact, mailbox):
    """Two contacts invited; their invitation emails."""
    make_contact("gone@example.org", 4)
    make_contact("svane@example.org", 5)
    invite_and_send(campaign)
    return {m["To"].split("<")[-1].strip(">"): m for m in mailbox.messages}


def test_every_kind_of_message_is_acted_on_and_filed_away(return_mailbox, invited, runner, ctx):
    gone = invited["gone@example.org"]
    return_mailbox.deliver(
        dsn("gone@example.org", gone["Message-ID"]),
        reply(f"Re: {mailto_subject(invited['svane@example.org'])}"),
        reply("Question about the questionnaire", "Who answers for our second site?"),
        b"\xff\xfe not a message at all",
    )
    output = poll(runner)
    assert "1 invitations marked bounced" in output
    assert "1 unsubscribes, 2 messages to read" in output
    assert status_of("gone@example.org") == InvitationStatus.BOUNCED
    assert status_of("svane@example.org") == InvitationStatus.OPTED_OUT
    assert return_mailbox.count("INBOX") == 0
    assert return_mailbox.count("processed") == 2
    assert return_mailbox.count("to read") == 2  # moved, never deleted


def test_polling_again_changes_nothing(return_mailbox, invited, runner, ctx):
    message = dsn("gone@example.org", invited["gone@example.org"]["Message-ID"])
    return_mailbox.deliver(message)
    poll(runner)
    return_mailbox.deliver(message)  # the same bounce again, as a server may resend it
    output = poll(runner)
    assert "0 invitations marked bounced" in output and "1 already read" in output
    assert db.session.scalar(select(func.count(ReturnedMail.id))) == 1


@pytest.mark.committed  # two real connections, as two servers have
def test_two_pollers_at_once_act_on_each_message_once(app, return_mailbox, invited, ctx):
    messages = [dsn(f"stranger{n}@example.org", f"<unknown{n}@x>", "4.2.2") for n in range(6)]
    return_mailbox.deliver(*messages)
    db.session.commit()
    settings = MailboxSettings.from_config(app.config)
    results, errors = [], []

    def run() -> None:
        try:
            with app.app_context():
                results.append(returned_mail.poll(settings, actor="test"))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(r.unmatched for r in results) == 6  # each bounce acted on once
    db.session.expire_all()
    assert db.session.scalar(select(func.count(ReturnedMail.id))) == 6
    assert return_mailbox.count("INBOX") == 0
    assert return_mailbox.count("processed") == 6


@pytest.mark.parametrize("problem", ["unreachable", "refused"])
def test_a_mailbox_that_cannot_be_read_changes_nothing_and_says_why(
    app, return_mailbox, runner, monkeypatch, problem, tmp_path: Path
):
    if problem == "unreachable":
        monkeypatch.setitem(app.config, "MAILBOX_URL", "imaps://127.0.0.1:9")
        expected = "cannot reach the return mailbox at 127.0.0.1:9"
    else:
        monkeypatch.setitem(app.config, "MAILBOX_PASSWORD", "wrong")
        expected = "refused 'returns'"
    return_mailbox.deliver(reply("Anything"))
    result = runner.invoke(args=["mail", "poll-mailbox"])
    assert result.exit_code == 1
    assert expected in result.output and "nothing changed" in result.output
    assert return_mailbox.count("INBOX") == 1


def test_without_a_mailbox_the_command_says_so(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "MAILBOX_URL", None)
    result = runner.invoke(args=["mail", "poll-mailbox"])
    assert result.exit_code == 1 and "MAILBOX_URL is not set" in result.output


@pytest.fixture
def worker_reads_the_mailbox(app, return_mailbox, monkeypatch):
    """The mail worker set to read the return mailbox between sends."""
    monkeypatch.setitem(app.extensions, BETWEEN_SENDS, [returned_mail.ScheduledPoll(60)])
    return return_mailbox


def test_the_mail_worker_reads_the_mailbox_between_sends(
    worker_reads_the_mailbox, invited, runner, ctx
):
    worker_reads_the_mailbox.deliver(
        dsn("gone@example.org", invited["gone@example.org"]["Message-ID"])
    )
    result = runner.invoke(args=["mail", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "return mailbox: 1 invitations marked bounced" in result.output
    assert status_of("gone@example.org") == InvitationStatus.BOUNCED


@pytest.mark.parametrize(
    ("setting", "value", "said"),
    [
        ("MAILBOX_URL", "imaps://127.0.0.1:9", "cannot reach the return mailbox at 127.0.0.1:9"),
        ("MAILBOX_PASSWORD", "wrong", "refused 'returns'"),
    ],
    ids=["unreachable", "refused"],
)
def test_a_mailbox_that_cannot_be_read_never_stops_the_worker_sending(
    app, worker_reads_the_mailbox, campaign, make_contact, mailbox, runner, monkeypatch,
    setting, value, said,
):  # fmt: skip
    monkeypatch.setitem(app.config, setting, value)
    queued(campaign, make_contact, 2)
    result = runner.invoke(args=["mail", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "2 sent, 0 to retry, 0 failed" in result.output
    assert said in result.output.split("return mailbox: ", 1)[1]
    assert "trying again in 60 s" in result.output
    assert len(mailbox.messages) == 2


def test_the_worker_waits_longer_after_each_failed_poll(
    app, worker_reads_the_mailbox, monkeypatch, ctx
):
    monkeypatch.setitem(app.config, "MAILBOX_PASSWORD", "wrong")
    scheduled = returned_mail.ScheduledPoll(60)
    pauses = []
    for _ in range(3):
        scheduled.next_at = 0  # due now
        said = scheduled()
        pauses.append(said.rsplit("trying again in ", 1)[1])
    assert pauses == ["60 s", "120 s", "240 s"]


def test_coordinators_see_each_bounce_and_how_many_messages_wait_to_be_read(
    app, client, auth, make_user, return_mailbox, invited, runner, ctx
):
    from surveyapp.campaigns.models import Invitation
    from surveyapp.vocabulary import Role

    gone = invited["gone@example.org"]
    return_mailbox.deliver(
        dsn("gone@example.org", gone["Message-ID"], "4.2.2"),
        reply("Question about the questionnaire", "Who answers for our second site?"),
    )
    poll(runner)
    make_user("coordinator@example.org", Role.COORDINATOR)
    auth.login("coordinator@example.org")
    invitation = db.session.scalars(
        select(Invitation).where(Invitation.contact.has(email="gone@example.org"))
    ).one()
    campaign_id = invitation.campaign_id
    page = client.get(f"/campaigns/{campaign_id}/invitations/{invitation.id}").get_data(
        as_text=True
    )
    assert "Returned mail" in page and "Soft bounce" in page and "4.2.2" in page
    assert "Recipient address rejected" in page  # the server's reason
    dashboard = client.get(f"/staff/response-rates/{campaign_id}").get_data(as_text=True)
    assert "1 returned message was neither a bounce nor an unsubscribe" in dashboard
