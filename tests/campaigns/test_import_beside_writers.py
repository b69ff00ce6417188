"""A long contact import leaves room for other writers (issue 17): on SQLite it held the
database's one write lock for its whole file, so others' saves failed after the busy
timeout. The file is now read before any lock is taken and its rows committed in
batches, between which others write."""

from __future__ import annotations

import threading

import pytest

import config
from surveyapp import create_app
from surveyapp.campaigns import service
from surveyapp.extensions import db
from tests.conftest import write_csv

ROWS = 600


@pytest.mark.committed
def test_others_write_while_a_long_import_runs(app, runner, tmp_path, monkeypatch):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("reproduces SQLite's database-wide write lock; PostgreSQL locks rows")
    monkeypatch.setitem(app.config, "IMPORT_CHUNK_ROWS", 50)
    path = write_csv(
        tmp_path / "contacts.csv",
        ["institution", "contact_person", "email", "country"],
        [
            [f"Cell Therapy Centre {n}", f"Dr Person {n}", f"p{n}@example.org", "Germany"]
            for n in range(ROWS)
        ],
    )
    outcome = {}

    def run_import() -> None:
        with app.app_context():
            outcome["result"] = runner.invoke(args=["contacts", "import", str(path)])

    class Impatient(config.TestingConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        SQLITE_BUSY_TIMEOUT_MS = 300

    other = create_app(Impatient)
    importing = threading.Thread(target=run_import)
    importing.start()
    written, failed = 0, []
    try:
        with other.app_context():
            while importing.is_alive():
                try:
                    service.upsert_contact(f"other{written}@example.org", source="test")
                    db.session.commit()
                    written += 1
                except Exception as exc:
                    db.session.rollback()
                    failed.append(repr(exc))
    finally:
        importing.join(timeout=300)
        with other.app_context():
            db.engine.dispose()
    result = outcome["result"]
    assert result.exit_code == 0, result.output
    assert f"{ROWS} contacts imported" in result.output
    assert failed == []
    assert written > 10  # the other writer got the lock again and again meanwhile
