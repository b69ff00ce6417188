"""Commands that read the whole registry (a release, an export, the XLSX snapshot) must
not hold SQLite's write lock while they read, or every respondent saving a form would wait
and fail after the busy timeout until they finish (``database.reading_only``)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.history.service import audit
from surveyapp.registry import export, importer
from surveyapp.releases import publishing

pytestmark = pytest.mark.committed


@pytest.mark.parametrize(
    ("command", "action"),
    [
        (["registry", "release", "1.0"], "release.create"),
        (["registry", "export", "{tmp}/registry.csv"], "registry.export"),
        (["registry", "build-xlsx"], "registry.build_xlsx"),
    ],
    ids=["release", "export", "build-xlsx"],
)
def test_others_write_while_a_command_reads_the_registry(
    app, monkeypatch, tmp_path, command, action
):
    monkeypatch.setitem(app.config, "RELEASES_DIR", tmp_path / "releases")
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    with app.app_context():
        importer.import_table1(actor="test")
        db.session.commit()
    reading = export.export_records
    during: list[str] = []

    def records_with_a_write_from_elsewhere(*args, **kwargs):
        """The registry's records, with another client's write committed after the first
        is read (with the write lock held by the command, it fails after the busy
        timeout)."""
        for number, record in enumerate(reading(*args, **kwargs)):
            if number == 1 and not during:
                with app.app_context():
                    audit("someone.else", "respondent@example.org")
                    db.session.commit()
                    during.append("written")
                    db.session.remove()
            yield record

    monkeypatch.setattr(export, "export_records", records_with_a_write_from_elsewhere)
    arguments = [part.format(tmp=tmp_path) for part in command]
    result = app.test_cli_runner().invoke(args=arguments)
    assert result.exit_code == 0, result.output
    assert during == ["written"]
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "someone.else" in actions and action in actions


def test_a_release_reads_one_snapshot_on_postgresql(app):
    """Each chunk of a release is a statement of its own: on PostgreSQL they share one
    snapshot (REPEATABLE READ), so an edit lands wholly in this release or the next."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's isolation levels; SQLite's transactions are snapshots")
        publishing.read_consistently()
        isolation = db.session.execute(text("SHOW transaction_isolation")).scalar()
        db.session.rollback()
        assert isolation == "repeatable read"
