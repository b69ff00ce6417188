"""Database foundations: migrations match models, SQLite is set up for concurrent writers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.registry.models import Institution


@pytest.mark.committed
def test_migrations_and_models_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        assert compare_metadata(context, db.metadata) == []


@pytest.mark.committed
def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas apply to SQLite only; this run uses PostgreSQL")
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert (
                connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
                == (app.config["SQLITE_BUSY_TIMEOUT_MS"])
            )


def test_postgresql_connections_do_not_jit_compile(app):
    """A statistics statement spent 150-300 ms in PostgreSQL's JIT compiler for 20 ms of
    work (set-returning JSON functions make its cost estimate large)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("JIT is PostgreSQL's; this run uses SQLite")
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW jit").scalar() == "off"


def test_times_come_back_timezone_aware(ctx):
    event = AuditEvent(action="test", actor="test", detail={})
    db.session.add(event)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(AuditEvent, event.id).created_at.tzinfo is not None


def test_naive_times_are_refused(ctx):
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - a naive time, on purpose
    db.session.add(AuditEvent(action="test", actor="test", detail={}, created_at=naive))
    with pytest.raises(Exception, match="naive datetime"):
        db.session.flush()
    db.session.rollback()


def test_utcnow_is_utc():
    assert utcnow().tzinfo is UTC


@pytest.mark.committed
def test_concurrent_writers_wait_for_each_other_instead_of_failing(app):
    """Eight threads each read, then write, in one transaction: all must succeed.

    On SQLite this needs BEGIN IMMEDIATE: a deferred transaction that turns into a write
    fails with "database is locked" however long the busy timeout.
    """
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(number: int) -> None:
        try:
            with app.app_context():
                start.wait()
                db.session.scalar(select(Institution.id).limit(1))
                db.session.add(Institution(name=f"Concurrent {number}", texts={}))
                db.session.commit()
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with app.app_context():
        names = db.session.scalars(
            select(Institution.name).where(Institution.name.like("Concurrent %"))
        ).all()
        assert len(names) == 8


@pytest.mark.committed
def test_readers_in_get_requests_do_not_queue_behind_each_other(app):
    """On SQLite a GET's transaction begins deferred: two GET requests can both hold an
    open read at once (with BEGIN IMMEDIATE the second would wait for the first)."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's transaction modes only; PostgreSQL readers never queue")
    both_reading = threading.Barrier(2, timeout=5)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            with app.test_request_context("/", method="GET"):
                db.session.scalar(select(Institution.id).limit(1))
                both_reading.wait()  # both transactions are open here
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []


def test_the_database_answers(ctx):
    assert db.session.execute(text("SELECT 1")).scalar() == 1


def test_the_completeness_migration_counts_like_the_app(table1, ctx):
    """Migration 0007 fills the derived columns of existing rows with a frozen copy of the
    app's rules; both must agree on Table 1."""
    import importlib.util

    from alembic.operations import Operations
    from sqlalchemy import update

    from surveyapp.paths import MIGRATIONS_DIR
    from surveyapp.registry.models import Entry

    columns = select(Entry.id, Entry.filled_fields, Entry.country_code)
    expected = {i: (n, c) for i, n, c in db.session.execute(columns)}
    assert {n for n, _ in expected.values()} - {0}
    assert ("DE" in {c for _, c in expected.values()})
    db.session.execute(update(Entry).values(filled_fields=0, country_code=None))
    spec = importlib.util.spec_from_file_location(
        "completeness", MIGRATIONS_DIR / "versions" / "0007_completeness.py"
    )
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(db.session.connection())):
        migration._fill_derived_columns()
    db.session.expire_all()
    assert {i: (n, c) for i, n, c in db.session.execute(columns)} == expected


def test_the_nominations_migration_lists_earlier_suggestions(client, table1, ctx):
    """Migration 0008 gives every public suggestion made before it a nomination row, so the
    coordinators' list shows them too."""
    import importlib.util

    from alembic.operations import Operations
    from sqlalchemy import delete

    from surveyapp.campaigns.models import Nomination
    from surveyapp.paths import MIGRATIONS_DIR
    from tests.review.conftest import suggest

    suggestion = suggest(client, institution="Centre suggested before the migration")
    db.session.execute(delete(Nomination))
    spec = importlib.util.spec_from_file_location(
        "nominations", MIGRATIONS_DIR / "versions" / "0008_respondents_coordinators.py"
    )
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(db.session.connection())):
        migration._nominations_for_existing_suggestions()
    found = db.session.scalars(select(Nomination)).one()
    assert found.submission_id == suggestion.id
    assert found.name == "Centre suggested before the migration"
    assert found.status == "new" and found.invitation_id is None
