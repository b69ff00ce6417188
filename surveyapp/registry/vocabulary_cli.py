"""``flask vocabulary ...``: record new versions of the vocabularies that follow the world
(the EU-authorised ATMPs)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from surveyapp.extensions import db
from surveyapp.registry import authorised_atmps

vocabulary_cli = AppGroup("vocabulary", help="Update the vocabularies kept as data.")


@vocabulary_cli.command("import-atmps")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", default=None, help="Why this version: what the file's evidence is.")
@click.option(
    "--cut-off",
    default=None,
    help="The evidence cut-off of the file (YYYY-MM or YYYY-MM-DD); else the previous one.",
)
def import_atmps_command(path: Path, note: str | None, cut_off: str | None) -> None:
    """Update the EU-authorised ATMPs from a CSV with the shipped file's columns.

    Products added and changed are recorded as a new version (audited); products absent
    from the file are kept, never deleted. A malformed file changes nothing and is refused
    with each problem's row and column.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        click.echo(f"{path} was not imported: it is not UTF-8 text", err=True)
        sys.exit(1)
    try:
        result = authorised_atmps.import_products(
            text,
            f"cli:{getpass.getuser()}",
            source=str(path),
            note=note,
            cut_off=cut_off,
        )
    except (authorised_atmps.AtmpFileError, authorised_atmps.VersionRecordedMeanwhile) as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(1)
    db.session.commit()
    for line in result.summary():
        click.echo(line)
