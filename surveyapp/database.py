"""Database foundations shared by every area: the declarative base, column types, engines.

SQLite is the embedded default and PostgreSQL the scale-out; both run the same models and
migrations. This module holds what makes SQLite safe for a web application with several
writers (WAL, foreign keys, busy timeout, ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import enum
import fcntl
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    Enum,
    MetaData,
    TypeDecorator,
    event,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Session, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC: the only kind of time the models store."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC that always comes back timezone-aware, SQLite included."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use surveyapp.database.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base: constraint names follow one convention, so migrations can name them."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            datetime: UTCDateTime(),
            dict[str, Any]: JSON(),
            list[str]: JSON(),
            list[int]: JSON(),
        },
    )


def enum_column(vocabulary: type[enum.Enum], name: str) -> Enum:
    """A string column restricted by a check constraint to a vocabulary's values."""
    return Enum(
        vocabulary,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in vocabulary) + 8,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Make an SQLite engine fit for concurrent web requests.

    WAL lets readers run beside a writer; foreign keys are off by default in SQLite; the
    busy timeout makes a writer wait for the lock instead of failing. Transactions start with
    ``BEGIN IMMEDIATE``: a deferred transaction that later writes cannot wait for the lock
    and fails with "database is locked" whatever the timeout. GET and HEAD requests, which
    never write, begin deferred so that readers in several processes run side by side. The
    driver's own transaction
    handling is switched off so SQLAlchemy emits BEGIN itself (the SQLAlchemy-documented
    recipe for pysqlite).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages, for dashboard scans
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        reading = not _WRITING.get() and (_READING.get() or _reading_request())
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


# Set while a command reads for long and writes nothing (see reading_only).
_READING: ContextVar[bool] = ContextVar("surveyapp_reading", default=False)


@contextmanager
def reading_only() -> Iterator[None]:
    """Transactions begun inside only read: on SQLite they begin deferred, so a long read
    (a release of the whole registry) shares the database with writers instead of holding
    the write lock from its first query to its end. The caller ends such a transaction
    before writing."""
    token = _READING.set(True)
    try:
        yield
    finally:
        _READING.reset(token)


# Set while a long write commits batch after batch (see batched_writes).
_WRITING: ContextVar[bool] = ContextVar("surveyapp_writing", default=False)
# How long a batched write pauses after each commit on SQLite: a writer waiting for the
# lock retries every 100 ms once it has waited a while (SQLite's busy handler), so a
# shorter pause could fall between its retries again and again.
WRITER_PAUSE_SECONDS = 0.11


@contextmanager
def batched_writes() -> Iterator[None]:
    """Transactions begun inside write, even in a request that has committed already (which
    otherwise only reads from then on): for a long write committed in batches, such as an
    import, so that others can write between them."""
    token = _WRITING.set(True)
    try:
        yield
    finally:
        _WRITING.reset(token)


def let_other_writers_in() -> None:
    """Between two committed batches of a long write: on SQLite, pause long enough for a
    writer waiting for the lock to take it (SQLite does not queue writers fairly: the batch
    would otherwise take the lock back at once, and others time out). PostgreSQL locks
    rows, not the database, so nothing waits there."""
    from surveyapp.extensions import db  # it builds on this module's Base

    if db.engine.dialect.name == "sqlite":
        time.sleep(WRITER_PAUSE_SECONDS)


def take_turns(session: Session, purpose: str) -> None:
    """Wait until no other transaction doing ``purpose`` is open, and keep the turn until
    this one ends.

    The scheduled commands (reminders, digests, purges, retention) may run from timers on
    every server; each reads what is already done before it does more, so two at the same
    moment would both do it. On PostgreSQL they take turns on a transaction-level advisory
    lock named after ``purpose``; on SQLite they already do, as every writing transaction
    begins with ``BEGIN IMMEDIATE``."""
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(purpose.encode())  # the same number in every process
        session.execute(select(func.pg_advisory_xact_lock(key)))


@contextmanager
def alone(engine: Engine, purpose: str) -> Iterator[bool]:
    """Whether this process may do ``purpose`` now, no other doing it on any server; held
    until the block ends. Unlike :func:`take_turns` it does not wait, and it spans many
    transactions: for a long job that commits as it goes (reading a mailbox), where a
    second runner should simply leave the work to the first.

    PostgreSQL: a session-level advisory lock on a connection of its own. SQLite (one
    server): an exclusive lock on a file beside the database."""
    key = zlib.crc32(purpose.encode())
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            got = bool(connection.execute(select(func.pg_try_advisory_lock(key))).scalar())
            try:
                yield got
            finally:
                if got:
                    connection.execute(select(func.pg_advisory_unlock(key)))
                connection.commit()
        return
    database = engine.url.database or ""
    path = f"{database}.{key}.lock" if database and database != ":memory:" else None
    if path is None:
        yield True
        return
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def commit_and_show(session: Session) -> None:
    """Commit, and keep what the session holds for the page that shows it next.

    A commit normally expires every object, so the answer page would read the invitation
    and the submission again although it shows exactly what was just written. For a view
    whose page follows its own write (the questionnaire's save), the objects stay as they
    are; anything the page reads beyond them begins a fresh transaction as usual.
    """
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


@event.listens_for(Session, "after_commit")
def _note_commit_in_request(session: Session) -> None:
    """Remember that the current request has committed its change (see below)."""
    from flask import g, has_request_context

    if has_request_context():
        g.surveyapp_committed = True


def _reading_request() -> bool:
    """True where a transaction only reads: in a GET or HEAD request, which never writes
    (a test proves it), and in any request after it committed its change, when all that is
    left is rendering the answer. Readers then share the database instead of queueing for
    the write lock."""
    from flask import g, has_request_context, request

    if not has_request_context():
        return False
    return request.method in ("GET", "HEAD") or g.get("surveyapp_committed", False)


def render_migration_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Alembic hook: write UTCDateTime into migrations as the plain type it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
