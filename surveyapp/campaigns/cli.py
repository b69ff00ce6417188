"""``flask contacts ...`` and ``flask campaigns ...`` for automation and cron."""

from __future__ import annotations

import getpass
import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from surveyapp.campaigns import contact_import, opt_out_tokens, returned_mail, service
from surveyapp.campaigns.templates import TemplateProblem
from surveyapp.database import batched_writes
from surveyapp.extensions import db
from surveyapp.mail.bounces import messages_at
from surveyapp.mail.cli import mail_cli
from surveyapp.mail.return_mailbox import MailboxSettings, MailboxUnavailable
from surveyapp.mail.returns import read_returned
from surveyapp.tabular import ImportFileError

contacts_cli = AppGroup("contacts", help="Import stakeholder contacts.")
campaigns_cli = AppGroup("campaigns", help="Create campaigns, invite, and queue reminders.")


def command_actor() -> str:
    """Who runs a command, for the audit log: the system account."""
    return f"cli:{getpass.getuser()}"


def fail(message: str) -> None:
    """End a command with a message and exit status 1; nothing is committed."""
    db.session.rollback()
    click.echo(message, err=True)
    sys.exit(1)


@contacts_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Import contacts (columns institution, contact_person, email, country, language and
    optionally institution_id); bad rows are listed and skipped."""
    actor = command_actor()
    try:
        table = contact_import.read_contacts(file, max_rows=current_app.config["IMPORT_MAX_ROWS"])
    except ImportFileError as exc:
        fail(str(exc))
    report = contact_import.ContactImportReport(source=file.name, skipped=list(table.problems))
    with batched_writes():  # each batch committed: others write in between
        try:
            contact_import.import_all(table, report, actor=actor, commit=db.session.commit)
        except SQLAlchemyError as exc:
            click.echo(report.summary())
            fail(f"stopped at row {report.interrupted_at}: {exc.__class__.__name__}")
    click.echo(report.summary())


@campaigns_cli.command("create")
@click.argument("name")
@click.option(
    "--closes",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Closing day, YYYY-MM-DD.",
)
@click.option(
    "--opens",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Opening day (default today).",
)
@click.option(
    "--questionnaire",
    default="table1-v1",
    show_default=True,
    help="The questionnaire version in forms/ (see 'flask questionnaire list').",
)
@click.option("--sender-name", default=None)
@click.option("--sender-email", default=None)
@click.option("--reply-to", default=None)
@click.option("--remind-after-days", type=int, default=None)
@click.option("--max-reminders", type=int, default=None)
def create_command(
    name: str,
    closes: object,
    opens: object | None,
    questionnaire: str,
    sender_name: str | None,
    sender_email: str | None,
    reply_to: str | None,
    remind_after_days: int | None,
    max_reminders: int | None,
) -> None:
    """Create a campaign asking a questionnaire version, with the default email texts."""
    closes_on: date = closes.date()  # type: ignore[attr-defined]
    opens_on: date | None = opens.date() if opens else None  # type: ignore[attr-defined]
    try:
        campaign = service.create_campaign(
            name,
            closes_on,
            actor=command_actor(),
            opens_on=opens_on,
            questionnaire=questionnaire,
            sender_name=sender_name,
            sender_email=sender_email,
            reply_to=reply_to,
            remind_after_days=remind_after_days,
            max_reminders=max_reminders,
        )
    except (service.CampaignError, TemplateProblem) as exc:
        fail(f"Not created: {exc}")
    db.session.commit()
    click.echo(
        f"Created campaign {campaign.name!r} (id {campaign.id}) asking "
        f"{campaign.questionnaire_id}-v{campaign.questionnaire_version}, open "
        f"{campaign.opens_on} to {campaign.closes_on}."
    )


@campaigns_cli.command("invite")
@click.argument("name")
def invite_command(name: str) -> None:
    """Queue invitations for every active contact not yet invited to campaign NAME."""
    try:
        report = service.invite(service.find_campaign(name), actor=command_actor())
    except service.CampaignError as exc:
        fail(str(exc))
    db.session.commit()
    click.echo(report.summary())


@campaigns_cli.command("tick")
def tick_command() -> None:
    """Queue the reminders that are due (safe to run from cron every few minutes)."""
    report = service.tick()
    db.session.commit()
    click.echo(report.summary())


@campaigns_cli.command("unsubscribe")
@click.argument("subject")
def unsubscribe_command(subject: str) -> None:
    """Opt out the contact of an unsubscribe emailed to the sender's mailbox: pass its
    subject ("unsubscribe <token>") or the token alone. The token can do nothing else."""
    try:
        invitation = opt_out_tokens.invitation_to_opt_out(subject)
    except service.InvalidLink:
        fail("That is not the subject of one of our unsubscribe emails; nothing changed.")
    service.opt_out(invitation, everything=False)
    db.session.commit()
    click.echo(
        f"{invitation.contact.email} will receive no more emails about {invitation.campaign.name}."
    )


@mail_cli.command("ingest-bounces")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def ingest_bounces_command(path: Path) -> None:
    """Read returned messages (an mbox, or a folder of .eml files): bounces in every
    format the return mailbox reader knows mark invitations bounced (soft ones once they
    reach MAILBOX_SOFT_BOUNCE_LIMIT), emailed unsubscribes opt contacts out. Reading the
    same messages again changes nothing."""
    actor = command_actor()
    taken = returned_mail.Taken()
    for raw in messages_at(path):
        returned_mail.take_in(read_returned(raw), taken, actor=actor)
    db.session.commit()
    for note in taken.notes:
        click.echo(f"  {note}")
    click.echo(taken.summary())


@mail_cli.command("poll-mailbox")
def poll_mailbox_command() -> None:
    """Read the return mailbox over IMAP (MAILBOX_URL): bounces mark invitations, emailed
    unsubscribes opt contacts out, anything else is moved to a folder for a person to
    read. Every message read is moved, never deleted; polling again changes nothing."""
    try:
        settings = MailboxSettings.from_config(current_app.config)
    except MailboxUnavailable as exc:
        fail(str(exc))
    if settings is None:
        fail("MAILBOX_URL is not set: no return mailbox to read.")
    try:
        taken = returned_mail.poll(settings, actor=command_actor())
    except MailboxUnavailable as exc:
        current_app.logger.warning("return mailbox: %s", exc)
        fail(f"{exc}; nothing changed, try again later.")
    for note in taken.notes:
        click.echo(f"  {note}")
    click.echo(taken.summary())
