"""``flask mail ...``: send what is due, run a worker, read bounces."""

from __future__ import annotations

import getpass
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from surveyapp.campaigns.models import Invitation
from surveyapp.campaigns.service import mark_bounced
from surveyapp.extensions import db
from surveyapp.mail.bounces import read_bounces
from surveyapp.mail.models import OutboxMessage
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


@mail_cli.command("ingest-bounces")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def ingest_bounces_command(path: Path) -> None:
    """Read delivery status notifications (an mbox, or a folder of .eml files) and mark the
    matching invitations bounced."""
    actor = f"cli:{getpass.getuser()}"
    marked = unmatched = 0
    for bounce in read_bounces(path):
        message = None
        if bounce.original_message_id:
            message = db.session.scalar(
                select(OutboxMessage).where(OutboxMessage.message_id == bounce.original_message_id)
            )
        if message is None:
            message = db.session.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.to_address == bounce.recipient)
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            )
        if message is None or not message.invitation_ids:
            unmatched += 1
            click.echo(f"  no email of ours matches the bounce for {bounce.recipient}")
            continue
        invitations = list(
            db.session.scalars(select(Invitation).where(Invitation.id.in_(message.invitation_ids)))
        )
        reason = f"{bounce.status} {bounce.diagnostic}".strip()
        marked += mark_bounced(invitations, reason, actor=actor)
    db.session.commit()
    click.echo(f"{marked} invitations marked bounced; {unmatched} bounces matched nothing")
