"""``flask campaigns tick`` on several servers at once (real separate connections, SQLite
and PostgreSQL): the ticks take turns, so each due reminder is queued once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import db
from tests.campaigns.test_reminders import reminders_queued, sent_campaign
from tests.test_scheduled_commands import second_waits

pytestmark = pytest.mark.committed


def test_a_second_tick_waits_for_the_first_and_queues_nothing_twice(
    app, campaign, make_contact, mailbox
):
    sent_campaign(campaign, make_contact, "slow@example.org", "late@example.org")
    first_sent = max(db.session.scalars(select(Invitation.last_sent_at)))
    db.session.commit()
    due = first_sent + timedelta(days=7, minutes=1)
    queued: dict[str, int] = {}

    def first_server(holding: threading.Event, release: threading.Event) -> None:
        with app.app_context():
            queued["first"] = service.tick(now=due).reminders
            holding.set()
            release.wait(timeout=30)  # its transaction stays open until released
            db.session.commit()

    def second_server() -> None:
        with app.app_context():
            queued["second"] = service.tick(now=due).reminders
            db.session.commit()

    assert second_waits(first_server, second_server), "the second tick ran beside the first"
    assert queued == {"first": 2, "second": 0}
    assert len(reminders_queued()) == 2
