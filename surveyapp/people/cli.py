"""`flask people ...`: access, erasure and retention from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from surveyapp.campaigns.cli import command_actor
from surveyapp.extensions import db
from surveyapp.people import erasure, retention
from surveyapp.people.disclosure import export_document

people_cli = AppGroup("people", help="People's rights: access, erasure, retention.")


@people_cli.command("export")
@click.argument("email")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
def export_command(email: str, output: Path | None) -> None:
    """Print (or write) everything stored about EMAIL as JSON."""
    text = export_document(email, command_actor())
    db.session.commit()
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"Wrote {output}")


@people_cli.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(email: str, yes: bool) -> None:
    """Erase everything stored about EMAIL (cannot be undone)."""
    if not yes:
        click.confirm(f"Erase everything stored about {email}? This cannot be undone", abort=True)
    try:
        report = erasure.erase(email, actor=command_actor())
    except erasure.PeopleError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    counts = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in report.counts().items())
    click.echo(f"Erased {report.address_hash[:12]}… ({counts})")
    for name in erasure.discard_snapshots():
        click.echo(f"Deleted the XLSX snapshot {name}: rebuild it with flask registry build-xlsx")


@people_cli.command("retention")
@click.option("--apply", "apply_", is_flag=True, help="Remove what is listed (default: dry run).")
def retention_command(apply_: bool) -> None:
    """List what the retention settings say must go; remove it with --apply."""
    found = retention.plan()
    for kind, ids in (
        ("contact", found.contacts),
        ("draft", found.drafts),
        ("invitation event", found.events),
        ("submission version", found.versions),
    ):
        for record_id in ids:
            click.echo(f"{kind} {record_id}")
    counts = found.counts()
    summary = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items())
    if not apply_:
        db.session.rollback()
        click.echo(f"Would remove {summary}. Run with --apply to remove them.")
        return
    retention.apply(found, actor=command_actor())
    db.session.commit()
    click.echo(f"Removed {summary}.")
