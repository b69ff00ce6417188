"""``flask review ...``: curator review tasks run from cron: the daily digest, and
deleting public suggestions never confirmed by their sender."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from surveyapp.campaigns.cli import command_actor
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.questionnaire import suggestion_confirmation as confirmation
from surveyapp.review import digest

review_cli = AppGroup("review", help="Curator review tasks.")


@review_cli.command("send-digest")
def send_digest_command() -> None:
    """Queue today's digest for every curator who asked for it and has something new
    (run it from cron once a day; a second run the same day queues nothing)."""
    report = digest.queue_digests()
    db.session.commit()
    click.echo(report.summary())


@review_cli.command("purge-unconfirmed")
def purge_unconfirmed_command() -> None:
    """Delete public suggestions whose sender never confirmed them by the emailed link
    within SUGGESTION_CONFIRM_DAYS (run it from cron once a day)."""
    purged = confirmation.purge_expired()
    if purged:
        audit("questionnaire.unconfirmed_purged", command_actor(), count=purged)
    db.session.commit()
    click.echo(f"Deleted {purged} unconfirmed suggestion(s) past their confirmation time.")
