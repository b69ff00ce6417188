"""The scheduled commands (reminders, review digests, the purge of unconfirmed
suggestions, retention) run from timers on every server: one that finds another server
running the same command waits for it to finish (real separate connections).

On PostgreSQL this is each command's turn (:func:`surveyapp.database.take_turns`); on
SQLite every writing transaction waits for the one before it anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import text

from surveyapp.campaigns import service as campaigns
from surveyapp.database import take_turns
from surveyapp.extensions import db
from surveyapp.people import retention
from surveyapp.questionnaire import suggestion_confirmation
from surveyapp.review import digest

pytestmark = pytest.mark.committed

COMMANDS: dict[str, tuple[str, Callable[[], object]]] = {
    "campaigns tick": (campaigns.TICK_TURN, campaigns.tick),
    "review send-digest": (digest.DIGEST_TURN, digest.queue_digests),
    "review purge-unconfirmed": (
        suggestion_confirmation.PURGE_TURN,
        suggestion_confirmation.purge_expired,
    ),
    "people retention": (retention.RETENTION_TURN, retention.plan),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_waits_while_another_server_runs_it(app, command):
    turn, run = COMMANDS[command]
    holding = threading.Event()
    release = threading.Event()

    def other_server() -> None:
        with app.app_context():
            take_turns(db.session(), turn)
            db.session.execute(text("SELECT 1"))  # its transaction is open from here
            holding.set()
            release.wait(timeout=30)
            db.session.rollback()

    def this_server() -> None:
        holding.wait(timeout=30)
        with app.app_context():
            run()
            db.session.rollback()

    other = threading.Thread(target=other_server)
    this = threading.Thread(target=this_server)
    other.start()
    this.start()
    this.join(timeout=1.5)
    waited = this.is_alive()
    release.set()
    other.join(timeout=30)
    this.join(timeout=30)
    assert waited, f"{command} ran while another server was running it"
    assert not this.is_alive()
