"""CSV and JSON exports answer a repeated download with 304 while nothing changed, so a
harvester polling the registry transfers it only after a change."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update

from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.history.service import Provenance
from surveyapp.registry import service
from surveyapp.registry.models import Entry
from surveyapp.vocabulary import ChangeSource
from tests.conftest import institution_of_row


def exports_audited() -> int:
    return db.session.query(AuditEvent).filter_by(action="registry.export").count()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_unchanged_export_is_not_sent_again(client, table1, ctx, fmt):
    url = f"/registry/export.{fmt}?country=DE"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["ETag"].startswith('W/"')
    assert first.headers["Last-Modified"]
    audited = exports_audited()
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    since = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    assert exports_audited() == audited  # nothing was exported


def test_a_copy_is_reused_only_after_asking(client, table1):
    response = client.get("/registry/export.csv")
    assert "no-cache" in response.headers["Cache-Control"]


def test_a_change_committed_late_with_an_older_time_still_makes_a_new_tag(client, table1, ctx):
    """On PostgreSQL a transaction's timestamp is taken before its commit, so a change can
    become visible with a time older than the newest already seen."""
    url = "/registry/export.csv"
    tag = client.get(url).headers["ETag"]
    newest = db.session.scalar(select(func.max(Entry.updated_at)))
    db.session.execute(
        update(Entry)
        .where(Entry.source_row == 5)
        .values(patients_estimate=77, row_version=Entry.row_version + 1, updated_at=newest)
    )
    db.session.commit()
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 200


def test_other_filters_or_another_format_have_other_tags(client, table1):
    tags = {
        client.get(url).headers["ETag"]
        for url in (
            "/registry/export.csv",
            "/registry/export.csv?country=DE",
            "/registry/export.json?country=DE",
        )
    }
    assert len(tags) == 3
    assert (
        client.get("/registry/export.csv?country=DE&page=3").headers["ETag"]
        == client.get("/registry/export.csv?country=DE").headers["ETag"]
    )


def test_a_change_to_the_registry_makes_the_old_copy_stale(client, table1, ctx):
    url = "/registry/export.csv"
    tag = client.get(url).headers["ETag"]
    service.change_fields(
        institution_of_row(9),
        {
            "website": service.FieldUpdate(
                "https://tlc-rt.example.org", "https://tlc-rt.example.org"
            )
        },
        Provenance(ChangeSource.STAFF_EDIT, "curator@example.org"),
    )
    db.session.commit()
    fresh = client.get(url, headers={"If-None-Match": tag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != tag
    assert "https://tlc-rt.example.org" in fresh.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("EXPLAIN QUERY PLAN SELECT max(updated_at) FROM entry", "ix_entry_updated_at"),
        ("EXPLAIN QUERY PLAN SELECT max(updated_at) FROM institution", "ix_institution_updated_at"),
    ],
)
def test_the_registrys_newest_change_is_read_from_an_index(ctx, query, index):
    """Every API answer and export reads it, so it must not scan 100,000 rows."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plans only; PostgreSQL plans small test tables by cost")
    plan = db.session.execute(text(query))
    assert index in " ".join(str(row[-1]) for row in plan)
