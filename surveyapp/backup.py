"""Backing up and restoring the whole database: registry, history, audit log, campaigns.

SQLite uses its online backup API (a consistent copy while the app keeps running);
PostgreSQL uses ``pg_dump`` and ``pg_restore`` in their custom format. A restore refuses
to overwrite a database that already holds data unless forced, so a mistyped command
cannot wipe a live registry.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # nosec B404 - runs pg_dump/pg_restore with an argument list, no shell
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url

from surveyapp.extensions import db


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why."""


def rows_held() -> int:
    """How many rows the application's tables hold (0 for a new, migrated database)."""
    existing = set(inspect(db.session.connection()).get_table_names())
    total = 0
    for table in db.metadata.sorted_tables:
        if table.name in existing:
            total += db.session.scalar(select(func.count()).select_from(table)) or 0
    return total


def _libpq_url() -> str:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path() -> Path:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed; install the PostgreSQL client tools")
    return found


def backup(target: Path) -> None:
    """Write a consistent copy of the whole database to ``target``, readable by its owner
    only: it holds every contact's name and address and the staff's password hashes, so the
    process's umask (often 0644) must not decide who reads it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # Created (or truncated) with owner-only access before a byte is written; a file that
    # existed keeps its inode, so its mode is set again too.
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    target.chmod(0o600)
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        source = sqlite3.connect(_sqlite_path())
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
    elif dialect == "postgresql":
        subprocess.run(  # noqa: S603  # nosec B603 - fixed tool, argument list
            [
                _tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--file",
                str(target),
                _libpq_url(),
            ],
            check=True,
            capture_output=True,
        )
    else:
        raise BackupError(f"backups of {dialect} databases are not supported")


def restore(source: Path, *, force: bool = False) -> None:
    """Replace the database's contents with a backup made by :func:`backup`."""
    if not source.is_file():
        raise BackupError(f"{source} is not a backup file")
    held = rows_held()
    if held and not force:
        raise BackupError(
            f"the database already holds {held} rows; restoring would replace them. "
            "Use --force to overwrite it."
        )
    db.session.remove()
    db.engine.dispose()
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        backup_file = sqlite3.connect(source)
        live = sqlite3.connect(_sqlite_path())
        try:
            backup_file.backup(live)
        finally:
            live.close()
            backup_file.close()
    elif dialect == "postgresql":
        result = subprocess.run(  # noqa: S603  # nosec B603 - fixed tool, argument list
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                _libpq_url(),
                str(source),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()[:2000]}")
    else:
        raise BackupError(f"restoring {dialect} databases is not supported")


@click.command("db-backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Back up the whole database to PATH (SQLite copy or pg_dump custom format)."""
    try:
        backup(path)
    except (BackupError, subprocess.CalledProcessError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backed up {rows_held()} rows to {path}")


@click.command("db-restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite a database that already holds data.")
@with_appcontext
def restore_command(path: Path, force: bool) -> None:
    """Restore the whole database from a backup made by db-backup."""
    try:
        restore(path, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {rows_held()} rows from {path}")
