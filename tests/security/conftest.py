"""Fixtures of the security tests."""

from __future__ import annotations

import pytest

from surveyapp.vocabulary import Role


@pytest.fixture
def everything(app, client, make_user, auth, invited, submit_for):
    """A registry, an invitation with its token, a submitted answer, and an admin who
    also coordinates and curates, logged in."""
    token = invited(9)
    submit_for("other@example.org", 1)
    make_user("all@example.org", Role.ADMIN, Role.COORDINATOR, Role.CURATOR)
    auth.login("all@example.org")
    return token
