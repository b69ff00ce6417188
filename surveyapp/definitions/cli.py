"""``flask questionnaire ...``: check definitions before a campaign uses them, compare two.

Whoever writes a new questionnaire version runs ``check`` on it; the command exits
non-zero and names every problem by section and field key.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from surveyapp.definitions.diff import diff
from surveyapp.definitions.loader import (
    DefinitionError,
    available,
    check_file,
    load_definition,
    split_name,
)
from surveyapp.definitions.vocabularies import VocabularyError

questionnaire_cli = AppGroup("questionnaire", help="Questionnaire definitions in forms/.")


@questionnaire_cli.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def check_command(paths: tuple[Path, ...]) -> None:
    """Check definition files; every problem is named, and the exit status is 1 if any."""
    failed = False
    for path in paths:
        if not path.is_file():
            click.echo(f"{path}: no such file", err=True)
            failed = True
            continue
        try:
            definition = check_file(path)
        except (DefinitionError, VocabularyError) as exc:
            click.echo(str(exc), err=True)
            failed = True
            continue
        click.echo(f"{path}: {definition.name} is well formed ({len(definition.fields)} fields)")
    if failed:
        sys.exit(1)


@questionnaire_cli.command("diff")
@click.argument("old")
@click.argument("new")
def diff_command(old: str, new: str) -> None:
    """Fields added (+), removed (-) and changed (~) from OLD to NEW (e.g. table1-v1)."""
    try:
        before, after = (load_definition(*split_name(name)) for name in (old, new))
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    for line in diff(before, after).lines():
        click.echo(line)


@questionnaire_cli.command("list")
def list_command() -> None:
    """The definitions in forms/ a campaign can choose."""
    for definition_id, version in available():
        definition = load_definition(definition_id, version)
        click.echo(f"{definition.name}: {definition.title} ({len(definition.fields)} fields)")
