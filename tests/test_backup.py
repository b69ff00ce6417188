"""Backup and restore: a registry with history and audit log, backed up and restored into
a fresh database, is found whole; a restore never overwrites data unless forced."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

import config
from surveyapp import backup, create_app
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent, FieldChange, Version
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.service import staff_edit
from surveyapp.vocabulary import ChangeSource

pytestmark = pytest.mark.committed
COUNTED = (Entry, Version, FieldChange, AuditEvent)


def counts() -> dict[str, int]:
    return {
        m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED
    }


def fresh_database(app, tmp_path: Path) -> str:
    """An empty database beside the test one: a new SQLite file or PostgreSQL database."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.sqlite'}"
    import psycopg

    name = "surveyapp_restore_test"
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    return url.set(database=name).render_as_string(hide_password=False)


def identifiers() -> dict[str, str]:
    """Every institution's and entry's permanent identifier, by kind and number."""
    return {
        f"{kind.__name__} {row.id}": row.public_id
        for kind in (Institution, Entry)
        for row in db.session.scalars(select(kind))
    }


def test_backup_and_restore_keep_everything(app, table1, tmp_path):
    with app.app_context():
        entry = db.session.scalars(select(Entry).where(Entry.source_row == 9)).one()
        staff_edit(
            entry,
            {"patients_treated": "at least 120"},
            actor="curator@example.org",
            seen_row_version=entry.row_version,
            comment="annual report",
        )
        db.session.commit()
        before = counts()
        identifiers_before = identifiers()
        history_before = [
            (v.number, v.source, [(c.field, c.new_text) for c in v.changes])
            for v in db.session.scalars(
                select(Version).where(Version.entry_id == entry.id).order_by(Version.number)
            )
        ]
        path = tmp_path / "registry.backup"
        backup.backup(path)
        assert path.stat().st_size > 0

    class Fresh(config.TestingConfig):
        SQLALCHEMY_DATABASE_URI = fresh_database(app, tmp_path)

    restored = create_app(Fresh)
    with restored.app_context():
        upgrade()
        assert backup.rows_held() == 0
        backup.restore(path)
        assert counts() == before
        assert identifiers() == identifiers_before  # permanent identifiers survive a restore
        entry = db.session.scalars(select(Entry).where(Entry.source_row == 9)).one()
        assert (entry.patients_estimate, entry.patients_qualifier.value) == (120, "at_least")
        history = [
            (v.number, v.source, [(c.field, c.new_text) for c in v.changes])
            for v in db.session.scalars(
                select(Version).where(Version.entry_id == entry.id).order_by(Version.number)
            )
        ]
        assert history == history_before
        assert history[-1][1] == ChangeSource.STAFF_EDIT
        assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        db.session.remove()
        db.engine.dispose()


def test_a_restore_refuses_to_overwrite_data_unless_forced(app, table1, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "registry.backup"
    result = runner.invoke(args=["db-backup", str(path)])
    assert result.exit_code == 0, result.output
    assert "backed up" in result.output
    refused = runner.invoke(args=["db-restore", str(path)])
    assert refused.exit_code != 0
    assert "Use --force" in refused.output
    forced = runner.invoke(args=["db-restore", str(path), "--force"])
    assert forced.exit_code == 0, forced.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Entry)) == 55


def test_a_missing_backup_file_is_explained(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["db-restore", str(tmp_path / "nothing")])
    assert result.exit_code != 0
    assert "is not a backup file" in result.output


def test_a_backup_is_readable_by_its_owner_only_whatever_the_umask(app, table1, tmp_path):
    fresh, existing = tmp_path / "new.backup", tmp_path / "old.backup"
    existing.write_bytes(b"an earlier backup")
    existing.chmod(0o644)
    previous = os.umask(0o022)
    try:
        with app.app_context():
            backup.backup(fresh)
            backup.backup(existing)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    assert existing.stat().st_size > len(b"an earlier backup")
