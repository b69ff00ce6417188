"""``flask review ...``: curator review tasks run from cron."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from surveyapp.extensions import db
from surveyapp.review import digest

review_cli = AppGroup("review", help="Curator review tasks.")


@review_cli.command("send-digest")
def send_digest_command() -> None:
    """Queue today's digest for every curator who asked for it and has something new
    (run it from cron once a day; a second run the same day queues nothing)."""
    report = digest.queue_digests()
    db.session.commit()
    click.echo(report.summary())
