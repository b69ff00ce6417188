"""``flask registry release`` and ``flask registry verify-release``: make a release from the
shell (or a scheduled job) and check that its files are still those published.

The commands join the ``registry`` group, where people look for everything about the
registry's contents.
"""

from __future__ import annotations

import getpass
import sys

import click

from surveyapp.database import reading_only
from surveyapp.extensions import db
from surveyapp.registry.cli import registry_cli
from surveyapp.releases import publishing


@registry_cli.command("release")
@click.argument("version")
@click.option("--notes", default="", help="What this release is for; shown with it.")
def release_command(version: str, notes: str) -> None:
    """Freeze the public registry into release VERSION (such as 1.0): CSV, XLSX, JSON, a
    data package, a changelog since the previous release, CITATION.cff and the SHA-256 of
    every file. A release can never be changed or deleted."""
    try:
        with reading_only():  # SQLite's writers go on while the registry is read
            draft = publishing.prepare_release(version, notes)
            db.session.rollback()  # the reading transaction ends before the write
    except publishing.ReleaseError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    release = None
    try:
        release = publishing.publish_release(draft, f"cli:{getpass.getuser()}")
        db.session.commit()
    except BaseException as exc:
        db.session.rollback()
        if release is not None:  # moved into place, then the commit failed
            publishing.discard_unpublished(version)
        publishing.discard_draft_folder(draft.folder)
        if isinstance(exc, publishing.ReleaseError):
            raise click.ClickException(str(exc)) from exc
        raise
    changes = release.changes
    click.echo(
        f"Release {release.version}: {release.entry_count} entries, "
        f"{release.institution_count} institutions, {len(release.files)} files in "
        f"{publishing.release_dir(release.version)}."
    )
    if release.previous_version:
        click.echo(
            f"Since {release.previous_version}: {changes['entries_added']} entries added, "
            f"{changes['entries_changed']} changed, {changes['entries_retired']} retired; "
            f"{changes['institutions_added']} institutions added, "
            f"{changes['institutions_merged']} merged."
        )


@registry_cli.command("verify-release")
@click.argument("version")
def verify_release_command(version: str) -> None:
    """Recompute the SHA-256 of every file of release VERSION and compare it with the hash
    published; exits with status 1 when any file differs or is missing."""
    try:
        checks = publishing.verify_release(version)
    except publishing.ReleaseNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    for check in checks:
        state = "ok" if check.intact else ("MISSING" if check.found is None else "CHANGED")
        click.echo(f"{state:8} {check.name}")
    broken = [check for check in checks if not check.intact]
    if broken:
        click.echo(f"Release {version}: {len(broken)} of {len(checks)} files differ.", err=True)
        sys.exit(1)
    click.echo(f"Release {version}: all {len(checks)} files are as published.")
