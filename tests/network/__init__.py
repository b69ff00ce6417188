"""Tests of the Centres of Excellence network: criteria, readiness page, planner.

``make_institution`` builds a hand-made registry row by row: an institution with one entry
and the capacity answers a test gives, written through ``change_fields`` so its history
(and so each criterion's date) is as a real change leaves it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from surveyapp.definitions import table1 as table1_definition
from surveyapp.extensions import db
from surveyapp.history.service import Provenance
from surveyapp.registry.models import Institution
from surveyapp.registry.service import (
    FieldUpdate,
    add_entry,
    add_institution,
    change_fields,
    retire_entry,
    updates_from_text,
)
from surveyapp.vocabulary import ChangeSource
from tests.conftest import statements_sent

PROVENANCE = Provenance(ChangeSource.STAFF_EDIT, "test")
# The SQL statements sent inside a ``with statements() as sent:`` block (in an app context).
statements = statements_sent


def make_institution(
    name: str,
    country: str = "DE",
    answers: dict[str, Any] | None = None,
    *,
    retired: bool = False,
    confirmed_at: datetime | None = None,
) -> Institution:
    """An institution with one entry (retired if asked, confirmed at a time if given) and
    the capacity answers given, flushed in the test's transaction."""
    definition = table1_definition()
    updates, _ = updates_from_text(
        definition.level_fields("institution"),
        {"institution": name, "country": country, "website": ""},
    )
    institution = add_institution(updates, PROVENANCE)
    updates, _ = updates_from_text(definition.level_fields("entry"), {"atmp_type": "Gene therapy"})
    entry = add_entry(institution, updates, PROVENANCE)
    entry.confirmed_at = confirmed_at
    if answers:
        change_fields(institution, {k: FieldUpdate(v, "") for k, v in answers.items()}, PROVENANCE)
    if retired:
        retire_entry(entry, "programme ended", PROVENANCE)
    db.session.flush()
    return institution
