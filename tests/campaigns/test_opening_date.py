"""A campaign's opening date holds: invitations queued early go out on the opening day."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import select

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Campaign
from surveyapp.extensions import db
from surveyapp.mail.models import OutboxMessage
from surveyapp.mail.service import send_pending
from surveyapp.vocabulary import OutboxStatus
from tests.campaigns.test_views import coordinator
from tests.conftest import csrf_token

OPENING = datetime(2030, 3, 1, tzinfo=UTC)


def later_campaign() -> Campaign:
    created = service.create_campaign(
        "Round 2030", date(2030, 4, 30), actor="test", opens_on=date(2030, 3, 1)
    )
    db.session.commit()
    return created


def test_inviting_before_the_opening_day_schedules_the_emails_for_that_day(
    table1, make_contact, mailbox, runner, ctx
):
    later_campaign()
    make_contact("svane@example.org", 4)
    result = runner.invoke(args=["campaigns", "invite", "Round 2030"])
    assert result.exit_code == 0, result.output
    assert "go out when the campaign opens on 2030-03-01" in result.output
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.next_attempt_at == OPENING
    assert service.campaign_not_open_yet(service.find_campaign("Round 2030")) == date(2030, 3, 1)

    assert send_pending().sent == 0
    assert mailbox.messages == []
    report = send_pending(now=lambda: datetime(2030, 3, 1, 0, 5, tzinfo=UTC))
    assert report.sent == 1, report.summary()
    assert [m["To"].addresses[0].addr_spec for m in mailbox.messages] == ["svane@example.org"]


def test_a_scheduled_email_that_fails_on_the_day_is_retried_not_given_up(
    table1, make_contact, mailbox, ctx
):
    campaign = later_campaign()
    make_contact("svane@example.org", 4)
    service.invite(campaign, actor="test")
    db.session.commit()
    mailbox.reply = "451 try again later"
    report = send_pending(now=lambda: datetime(2030, 3, 1, 0, 5, tzinfo=UTC))
    assert (report.sent, report.retrying, report.failed) == (0, 1, 0), report.summary()
    message = db.session.scalars(select(OutboxMessage)).one()
    db.session.refresh(message)
    assert message.status == OutboxStatus.PENDING


def test_the_web_invite_before_opening_says_when_the_emails_go_out(
    app, table1, make_contact, make_user, ctx
):
    campaign = later_campaign()
    make_contact("svane@example.org", 4)
    client = coordinator(app, make_user)
    url = f"/campaigns/{campaign.id}"
    response = client.post(f"{url}/invite", data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "go out when the campaign opens on 2030-03-01" in page
    assert re.search(r"The campaign opens on Mar\w* 1, 2030: invitations", page)
    assert "1 email is scheduled." in page
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.next_attempt_at == OPENING


def test_an_open_campaign_sends_at_once(campaign, make_contact, mailbox, ctx):
    make_contact("svane@example.org", 4)
    report = service.invite(campaign, actor="test")
    db.session.commit()
    assert report.scheduled_for is None
    assert service.campaign_not_open_yet(campaign) is None
    assert send_pending().sent == 1
