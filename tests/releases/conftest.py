"""Release fixtures: each test writes its releases into a folder of its own, since the
database rolls back after a test but files would stay."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from surveyapp.extensions import db
from surveyapp.releases import publishing
from surveyapp.releases.models import Release


@pytest.fixture(autouse=True)
def releases_dir(app, tmp_path, monkeypatch) -> Path:
    """This test's releases folder."""
    folder = tmp_path / "releases"
    monkeypatch.setitem(app.config, "RELEASES_DIR", folder)
    return folder


@pytest.fixture
def release(ctx) -> Callable[..., Release]:
    """Make and commit a release, as the command does."""

    def make(version: str, notes: str = "") -> Release:
        made = publishing.make_release(version, notes, "curator@example.org")
        db.session.commit()
        return made

    return make
