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


def second_waits(
    first: Callable[[threading.Event, threading.Event], None], second: Callable[[], object]
) -> bool:
    """Run ``first(holding, release)`` in a thread (it sets ``holding`` once its
    transaction is open, then waits for ``release``) and, once it holds, ``second`` in
    another; whether ``second`` was still waiting 1.5 s later. Both have finished when
    this returns."""
    holding = threading.Event()
    release = threading.Event()

    def then_second() -> None:
        holding.wait(timeout=30)
        second()

    threads = [
        threading.Thread(target=first, args=(holding, release)),
        threading.Thread(target=then_second),
    ]
    for thread in threads:
        thread.start()
    threads[1].join(timeout=1.5)
    waited = threads[1].is_alive()
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return waited


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_waits_while_another_server_runs_it(app, command):
    turn, run = COMMANDS[command]

    def other_server(holding: threading.Event, release: threading.Event) -> None:
        with app.app_context():
            take_turns(db.session(), turn)
            db.session.execute(text("SELECT 1"))  # its transaction is open from here
            holding.set()
            release.wait(timeout=30)
            db.session.rollback()

    def this_server() -> None:
        with app.app_context():
            run()
            db.session.rollback()

    assert second_waits(other_server, this_server), f"{command} ran beside another run"
