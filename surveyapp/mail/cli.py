"""``flask mail ...``: send what is due, run a worker (``ingest-bounces``, which marks
invitations, is added to this group by :mod:`surveyapp.campaigns.cli`)."""

from __future__ import annotations

import signal
import sys
import time
from contextlib import suppress
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from surveyapp.extensions import db
from surveyapp.mail.service import send_pending

mail_cli = AppGroup("mail", help="Send queued email and read bounces.")


@mail_cli.command("send-pending")
def send_pending_command() -> None:
    """Send every email that is due, then exit (non-zero when some failed for good)."""
    report = send_pending()
    click.echo(report.summary())
    if report.failed:
        sys.exit(1)


# The longest a worker waits before trying a database that failed it again, in seconds.
MAX_DATABASE_BACKOFF = 300


@mail_cli.command("worker")
@click.option("--once", is_flag=True, help="Stop when the outbox has nothing due.")
def worker_command(once: bool) -> None:
    """Keep sending due emails; several workers may run at once. Stops on SIGTERM/SIGINT.

    A database error (SQLite locked by a long write, PostgreSQL restarting) does not stop
    it: the transaction is rolled back, the error logged, and the worker tries again after
    a pause that doubles up to five minutes. A message the server accepted but that could
    not be recorded is sent again once its lease expires, with the same Message-ID."""
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    poll = current_app.config["MAIL_WORKER_POLL_SECONDS"]
    failures = 0
    click.echo("mail worker started")
    while not stopping:
        try:
            report = send_pending()
        except SQLAlchemyError as exc:
            failures += 1
            pause = min(max(poll, 0.1) * 2 ** (failures - 1), MAX_DATABASE_BACKOFF)
            _recover(exc, pause)
            time.sleep(pause)
            continue
        failures = 0
        _between_sends()
        if report.sent or report.retrying or report.failed or report.cancelled:
            click.echo(report.summary())
        elif once:
            break
        else:
            time.sleep(poll)
        db.session.remove()
    click.echo("mail worker stopped")


# Where other parts of the application put work for the worker to do between sends
# (reading the return mailbox): callables returning a line to print, or None. They keep
# their own schedule and never raise; the worker never stops sending for them.
BETWEEN_SENDS = "surveyapp.mail.between_sends"


def _between_sends() -> None:
    for job in current_app.extensions.get(BETWEEN_SENDS, []):
        try:
            said = job()
        except Exception as exc:
            with suppress(SQLAlchemyError):
                db.session.rollback()
            current_app.logger.exception("mail worker: %s failed", job)
            said = f"{job} failed: {exc}"
        if said:
            click.echo(said)


def _recover(error: SQLAlchemyError, pause: float) -> None:
    """Roll back after a database error and say so (the log, and the worker's output)."""
    with suppress(SQLAlchemyError):  # the connection itself is gone: remove() discards it
        db.session.rollback()
    db.session.remove()
    reason = str(getattr(error, "orig", None) or error).splitlines()[0]
    message = f"the database could not be used ({reason}); trying again in {pause:g} s"
    current_app.logger.warning("mail worker: %s", message)
    click.echo(message, err=True)
