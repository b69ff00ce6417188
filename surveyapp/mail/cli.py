"""``flask mail ...``: send what is due, run a worker (``ingest-bounces``, which marks
invitations, is added to this group by :mod:`surveyapp.campaigns.cli`)."""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup

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


@mail_cli.command("worker")
@click.option("--once", is_flag=True, help="Stop when the outbox has nothing due.")
def worker_command(once: bool) -> None:
    """Keep sending due emails; several workers may run at once. Stops on SIGTERM/SIGINT."""
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    poll = current_app.config["MAIL_WORKER_POLL_SECONDS"]
    click.echo("mail worker started")
    while not stopping:
        report = send_pending()
        if report.sent or report.retrying or report.failed or report.cancelled:
            click.echo(report.summary())
        elif once:
            break
        else:
            time.sleep(poll)
        db.session.remove()
    click.echo("mail worker stopped")
