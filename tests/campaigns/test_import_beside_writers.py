"""A long contact import leaves room for other writers (issue 17): on SQLite it held the
database's one write lock for its whole file, so others' saves failed after the busy
timeout. The file is now read before any lock is taken and its rows committed in
batches, between which others write."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

import config
from surveyapp import create_app
from surveyapp.campaigns import service
from surveyapp.campaigns.models import Contact
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from tests.campaigns.test_views import coordinator
from tests.conftest import csrf_token, write_csv

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


def test_an_import_the_database_stops_keeps_its_earlier_batches_and_says_where(
    app, client, make_user, ctx, tmp_path, monkeypatch
):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the refusing trigger is written in SQLite's syntax")
    monkeypatch.setitem(app.config, "IMPORT_CHUNK_ROWS", 10)
    # the database refuses one row of the third batch, as a concurrent change could
    db.session.execute(
        text(
            "CREATE TEMP TRIGGER refuse_one BEFORE INSERT ON contact "
            "WHEN NEW.email = 'p25@example.org' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    )
    rows = [[f"Centre {n}", f"Dr Person {n}", f"p{n}@example.org", "Germany"] for n in range(40)]
    path = write_csv(
        tmp_path / "contacts.csv", ["institution", "contact_person", "email", "country"], rows
    )
    staff = coordinator(app, make_user)
    with path.open("rb") as upload:
        response = staff.post(
            "/contacts/import",
            data={"csrf_token": csrf_token(staff, "/contacts/"), "file": (upload, "contacts.csv")},
        )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "The import stopped at row 22" in page  # the header is row 1
    assert db.session.scalar(select(func.count(Contact.id))) == 20  # two batches stayed
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contacts.import"))
    assert event.detail["created"] == 20 and event.detail["interrupted_at_row"] == 22
