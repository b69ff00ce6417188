"""The worker in batches: a batch costs a constant number of statements, emails composed by
hand read as the email package's, and batched recording keeps every guarantee (a crash
after the server accepted re-sends only what was not recorded, with the same Message-ID)."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from surveyapp.campaigns import emails, service
from surveyapp.campaigns.models import Invitation
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail import delivery
from surveyapp.mail import service as mail
from surveyapp.mail.models import OutboxMessage
from surveyapp.vocabulary import InvitationStatus, MessageKind, OutboxStatus
from tests.campaigns.test_invitations import html, plain, tokens_in
from tests.mail.test_worker import Clock, queued


class Statements:
    """Counts the SQL statements the engine runs (an executemany counts once)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(statement)

    def __enter__(self) -> Statements:
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(db.engine, "before_cursor_execute", self)


def statements_to_send(campaign, make_contact, count: int) -> list[str]:
    for number in range(count):
        make_contact(f"batch{count}-{number}@example.org", 4, name=f"Person {number}")
    assert service.invite(campaign, actor="test").emails == count
    db.session.commit()
    with Statements() as statements:
        assert mail.send_pending().sent == count
    return statements.seen


def test_a_batch_costs_the_same_statements_whatever_its_size(
    app, campaign, make_contact, mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "MAIL_BATCH_SIZE", 50)
    few = statements_to_send(campaign, make_contact, 2)
    many = statements_to_send(campaign, make_contact, 12)
    assert len(mailbox.messages) == 14
    assert len(many) == len(few), "a statement per message crept in"
    assert len(few) <= 25  # claim, render, token hashes, outcomes: each a few statements


def test_a_status_change_adds_its_event_without_loading_the_timeline(campaign, make_contact):
    make_contact("timeline@example.org", 4)
    service.invite(campaign, actor="test")
    db.session.commit()
    invitation = db.session.scalars(select(Invitation)).one()
    db.session.expire_all()
    invitation = db.session.get(Invitation, invitation.id)
    with Statements() as statements:
        service.set_status(invitation, InvitationStatus.OPENED)
        db.session.flush()
    assert not [s for s in statements.seen if s.startswith("SELECT")]
    assert [e.status for e in invitation.events] == [
        InvitationStatus.QUEUED,
        InvitationStatus.OPENED,
    ]


def test_a_timeline_already_loaded_shows_the_new_event(campaign, make_contact):
    make_contact("loaded@example.org", 4)
    service.invite(campaign, actor="test")
    invitation = db.session.scalars(select(Invitation)).one()
    assert len(invitation.events) == 1
    service.set_status(invitation, InvitationStatus.SENT)
    assert [e.status for e in invitation.events] == [InvitationStatus.QUEUED, InvitationStatus.SENT]


@pytest.mark.parametrize("before", list(InvitationStatus))
def test_recording_a_batch_changes_an_invitation_as_set_status_does(campaign, make_contact, before):
    make_contact("one@example.org", 4)
    make_contact("two@example.org", 5)
    service.invite(campaign, actor="test")
    db.session.commit()
    by_hand, batched = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
    earlier = utcnow() - timedelta(days=3)
    for invitation in (by_hand, batched):
        invitation.status = before
        invitation.first_sent_at = earlier if before != InvitationStatus.QUEUED else None
    db.session.flush()
    at = utcnow()
    service.set_status(
        by_hand, InvitationStatus.SENT, at=at, kind="reminder", message_id="<m@example.org>"
    )
    delivery.delivery_for(MessageKind.REMINDER).on_sent_many(
        [delivery.Sent(1, MessageKind.REMINDER, "<m@example.org>", (batched.id,), at)]
    )
    db.session.flush()
    db.session.expire_all()
    seen = []
    for invitation in (by_hand, batched):
        last = invitation.events[-1]
        seen.append(
            (
                invitation.status,
                invitation.first_sent_at,
                invitation.last_sent_at,
                last.status,
                last.at,
                last.detail,
            )
        )
    assert seen[0] == seen[1]


def test_a_crash_before_the_batch_is_recorded_resends_it_with_the_same_message_ids(
    app, campaign, make_contact, mailbox, monkeypatch
):
    queued(campaign, make_contact, 3)
    monkeypatch.setattr(mail, "RECORD_EVERY", 2)
    clock = Clock()
    recorded = mail.Outcomes.record

    def dies_at_the_second_record(self):
        if self.report.sent:  # the first two are written; the worker dies before the third
            raise SystemExit("killed")
        recorded(self)

    monkeypatch.setattr(mail.Outcomes, "record", dies_at_the_second_record)
    with pytest.raises(SystemExit):
        mail.send_pending(now=clock)
    monkeypatch.setattr(mail.Outcomes, "record", recorded)
    db.session.rollback()
    assert len(mailbox.messages) == 3  # the server accepted all three
    statuses = db.session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)).all()
    assert statuses == [OutboxStatus.SENT, OutboxStatus.SENT, OutboxStatus.SENDING]
    assert mail.send_pending(now=clock).sent == 0  # the lease still holds
    clock.advance(seconds=app.config["MAIL_LEASE_SECONDS"] + 1)
    assert mail.send_pending(now=clock).sent == 1  # only the unrecorded one goes again
    first, second, third, again = mailbox.messages
    assert again["Message-ID"] == third["Message-ID"]
    assert len({m["Message-ID"] for m in (first, second, third)}) == 3
    assert set(db.session.scalars(select(OutboxMessage.status))) == {OutboxStatus.SENT}


def test_a_database_error_while_rendering_fails_no_message_for_good(
    app, campaign, make_contact, mailbox, monkeypatch
):
    queued(campaign, make_contact, 2)
    clock = Clock()

    def database_gone(_messages):
        raise OperationalError("SELECT ...", {}, Exception("server closed the connection"))

    load = emails._load
    monkeypatch.setattr(emails, "_load", database_gone)
    with pytest.raises(OperationalError):
        mail.send_pending(now=clock)
    monkeypatch.setattr(emails, "_load", load)
    db.session.rollback()
    statuses = set(db.session.scalars(select(OutboxMessage.status)))
    assert statuses == {OutboxStatus.SENDING}  # claimed, neither failed nor cancelled
    clock.advance(seconds=app.config["MAIL_LEASE_SECONDS"] + 1)
    assert mail.send_pending(now=clock).sent == 2


def test_one_refused_recipient_fails_alone_and_the_rest_of_the_batch_is_sent(
    campaign, make_contact, mailbox, monkeypatch
):
    queued(campaign, make_contact, 3)
    original = type(mailbox).handle_DATA

    async def refuses_person1(self, server, session, envelope):
        if envelope.rcpt_tos == ["person1@example.org"]:
            return "550 5.1.1 No such user here"
        return await original(self, server, session, envelope)

    monkeypatch.setattr(type(mailbox), "handle_DATA", refuses_person1)
    report = mail.send_pending()
    assert (report.sent, report.failed) == (2, 1)
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.status for r in rows] == [OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.SENT]
    failed = db.session.scalars(
        select(Invitation).where(Invitation.id.in_(rows[1].invitation_ids))
    ).one()
    assert failed.status == InvitationStatus.FAILED and "550" in failed.failure_reason


def test_a_connection_lost_mid_batch_keeps_what_was_accepted_and_retries_the_rest(
    campaign, make_contact, mailbox, monkeypatch
):
    queued(campaign, make_contact, 3)
    transmit = mail._transmit
    calls = []

    def drops_at_the_second(connection, message):
        calls.append(message)
        if len(calls) == 2:
            connection.close()
            raise ConnectionResetError("the server went away")
        transmit(connection, message)

    monkeypatch.setattr(mail, "_transmit", drops_at_the_second)
    report = mail.send_pending(now=Clock())
    assert (report.sent, report.retrying) == (1, 2)
    statuses = db.session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)).all()
    assert statuses == [OutboxStatus.SENT, OutboxStatus.PENDING, OutboxStatus.PENDING]
    assert len(mailbox.messages) == 1


def test_with_a_send_rate_each_outcome_is_recorded_before_the_pause(
    app, campaign, make_contact, mailbox, monkeypatch
):
    queued(campaign, make_contact, 3)
    monkeypatch.setitem(app.config, "MAIL_RATE_PER_MINUTE", 30)
    sent_at_each_pause = []

    def pause(_seconds):
        sent_at_each_pause.append(
            db.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.SENT)
            )
        )
        db.session.commit()  # the check's own read ends, as the sleep holds nothing

    assert mail.send_pending(sleep=pause).sent == 3
    assert sent_at_each_pause == [1, 2]


def test_a_paced_batch_is_small_enough_to_end_within_its_lease(
    app, campaign, make_contact, mailbox, monkeypatch
):
    queued(campaign, make_contact, 3)
    monkeypatch.setitem(app.config, "MAIL_RATE_PER_MINUTE", 30)  # a pause of 2 s
    monkeypatch.setitem(app.config, "MAIL_LEASE_SECONDS", 9)
    claim, claimed = mail.claim, []

    def counted(now, limit):
        claimed.append(claim(now, limit))
        return claimed[-1]

    monkeypatch.setattr(mail, "claim", counted)
    assert mail.send_pending(sleep=lambda _seconds: None).sent == 3
    assert [len(batch) for batch in claimed] == [2, 1, 0]  # 2 x 2 s within half of 9 s


def test_revoked_and_open_invitations_in_one_batch(campaign, make_contact, mailbox):
    queued(campaign, make_contact, 3)
    revoked = db.session.scalars(select(Invitation).order_by(Invitation.id)).first()
    service.revoke(revoked, actor="test")
    db.session.commit()
    report = mail.send_pending()
    assert (report.sent, report.cancelled) == (2, 1)
    assert len(mailbox.messages) == 2


def test_the_invitation_on_the_wire_has_plain_headers_and_both_parts(
    app, campaign, make_contact, mailbox, client
):
    make_contact("svane@example.org", 4, name="Dr. Inge Marie Svane")
    service.invite(campaign, actor="test")
    db.session.commit()
    (message,) = db.session.scalars(select(OutboxMessage)).all()
    built = delivery.delivery_for(message.kind).render(message)
    db.session.commit()
    assert isinstance(built, delivery.Outgoing)
    assert built.recipients == ("svane@example.org",)
    assert built.sender == campaign.sender_email
    raw = built.data.decode("ascii")
    head = raw.split("\r\n\r\n", 1)[0]
    # RFC 2369 and 8058: the unsubscribe header carries its URIs as they are, never in
    # RFC 2047 encoded words, which mail clients do not decode there.
    assert "List-Unsubscribe: <mailto:" in head and "=?utf-8?" not in head
    assert "\n" not in raw.replace("\r\n", "")  # every line ends in CRLF
    assert max(len(line) for line in raw.split("\r\n")) <= 998
    parsed = email.message_from_bytes(built.data, policy=policy.default)
    assert not parsed.defects and not any(p.defects for p in parsed.iter_parts())
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Message-ID"] == message.message_id
    assert parsed["Auto-Submitted"] == "auto-generated"
    (token,) = tokens_in(parsed)
    unsubscribe = parsed["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<mailto:{campaign.sender_email}?subject=unsubscribe%20")
    assert unsubscribe.endswith(f">, <http://127.0.0.1:5000/i/{token}/unsubscribe>")
    assert client.get(f"/i/{token}").status_code == 200
    assert f"/i/{token}/opt-out" in plain(parsed) and f"/i/{token}/opt-out" in html(parsed)


def test_a_german_email_with_an_accented_name_reads_back_exactly(campaign, make_contact, mailbox):
    contact = make_contact("mueller@example.org", 4, name="Dr. Jürgen Müller, Ph.D.")
    contact.language = "de"
    db.session.commit()
    service.invite(campaign, actor="test")
    db.session.commit()
    assert mail.send_pending().sent == 1
    (message,) = mailbox.messages
    (to,) = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Dr. Jürgen Müller, Ph.D.", "mueller@example.org")
    assert "ä" in message["Subject"]
    assert "Guten Tag Dr. Jürgen Müller, Ph.D." in plain(message)
    assert "Dr. Jürgen Müller, Ph.D." in html(message)


@pytest.mark.parametrize(
    "name",
    [
        "Prof. Dr. med. Hans-Jürgen Müller-Lüdenscheidt, Ph.D. (Ärztlicher Leiter)",
        "Ελληνικά " * 8,
        "ü" * 60,
    ],
)
def test_a_long_accented_name_is_cut_into_encoded_words_that_decode_to_it(name):
    header = delivery.address(name, "someone@example.org")
    phrase, mailbox = header.rsplit(" ", 1)
    assert mailbox == "<someone@example.org>"
    assert all(len(word) <= 75 for word in phrase.split("\r\n ")) or " " not in name
    assert str(make_header(decode_header(phrase))) == name  # as RFC 2047 readers join them


TEXTS = [
    "Dear colleague,\n\nshort lines only.\n",
    "A line much longer than seventy-eight characters, which the email package would "
    "wrap in quoted-printable soft line breaks = and so must we.\n",
    "Trailing spaces   \nand a tab\t\n.a leading dot\nFrom the start of a line\n",
    "Windows line ends\r\nin a typed text\rand old Mac ones\n",
    "Grüße aus Köln, ça va? Ελληνικά και Български текст, all in one message body.\n" * 3,
    "Ελληνικά " * 40 + "\n",
    "no final line break",
]


@pytest.mark.parametrize("body", TEXTS)
def test_the_composer_gives_what_the_email_package_gives(body):
    html_body = "<p>" + body.replace("\n", "<br>") + "</p>"
    data = delivery.alternative(
        [
            ("Subject", delivery.header_text("Subject", "Grüße: " + " ".join(["word"] * 30))),
            ("To", delivery.address("Ann «Example», Ph.D.", "ann@example.org")),
            ("Message-ID", "<1@example.org>"),
        ],
        body,
        html_body,
    )
    reference = EmailMessage()
    reference.set_content(body)
    reference.add_alternative(html_body, subtype="html")
    on_the_wire = reference.as_bytes(policy=reference.policy.clone(linesep="\r\n"))
    expected = email.message_from_bytes(on_the_wire, policy=policy.default)
    composed = email.message_from_bytes(data, policy=policy.default)
    assert not composed.defects and not any(p.defects for p in composed.iter_parts())
    assert composed["Subject"] == "Grüße: " + " ".join(["word"] * 30)
    assert composed["To"].addresses[0].display_name == "Ann «Example», Ph.D."
    assert plain(composed) == plain(expected)
    assert html(composed) == html(expected)
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
