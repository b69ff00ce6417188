"""Making a release reads the whole registry; on SQLite that must not hold the write lock,
or every respondent saving a form would wait (and fail after the busy timeout) until the
release is written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.history.service import audit
from surveyapp.registry import importer
from surveyapp.releases import metadata, publishing

pytestmark = pytest.mark.committed


def test_others_write_while_the_command_reads_the_registry(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "RELEASES_DIR", tmp_path / "releases")
    with app.app_context():
        importer.import_table1(actor="test")
        db.session.commit()
    written = metadata.write_citation
    during: list[str] = []

    def write_from_elsewhere(*args, **kwargs):
        """Another client's write, committed while the release is being built (with the
        write lock held by the release, it fails after the busy timeout)."""
        with app.app_context():
            audit("someone.else", "respondent@example.org")
            db.session.commit()
            during.append("written")
            db.session.remove()
        return written(*args, **kwargs)

    monkeypatch.setattr(metadata, "write_citation", write_from_elsewhere)
    result = app.test_cli_runner().invoke(args=["registry", "release", "1.0"])
    assert result.exit_code == 0, result.output
    assert during == ["written"]
    with app.app_context():
        assert publishing.get_release("1.0").entry_count == 55
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "someone.else" in actions and "release.create" in actions
