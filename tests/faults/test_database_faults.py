"""The database under faults: dropped PostgreSQL connections are replaced on the next
request (pool pre-ping); SQLite writers wait instead of failing (tests/test_database.py)."""

from __future__ import annotations

import pytest

from surveyapp.extensions import db

pytestmark = pytest.mark.committed


def test_the_next_request_recovers_after_connections_are_dropped(app, client, table1):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("dropping server connections applies to PostgreSQL; SQLite has none")
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    assert client.get("/api/v1/stats").status_code == 200  # the pool holds a connection
    import psycopg

    with psycopg.connect(url, autocommit=True) as outsider:  # not from the app's pool
        killed = outsider.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert killed >= 1  # what a server restart or a network cut does to the pool
    response = client.get("/api/v1/stats")
    assert response.status_code == 200
    assert response.get_json()["entries"] == 55
