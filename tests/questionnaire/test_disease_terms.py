"""The disease suggestions under the questionnaire's disease fields are counted from the
registry once and counted again only when an entry changed: an edit, an approved answer,
a merge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select

from surveyapp.extensions import db
from surveyapp.history.service import Provenance
from surveyapp.questionnaire.service import known_disease_terms
from surveyapp.registry.merging import merge_institutions
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.service import FieldUpdate, change_fields
from surveyapp.vocabulary import ChangeSource

EDIT = Provenance(ChangeSource.STAFF_EDIT, "curator@example.org")


@contextmanager
def counted() -> Iterator[list[str]]:
    """Whether the block counted the terms again (their statement reads every entry's
    diseases)."""
    recounts: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        if "entry.diseases_targeted" in statement:
            recounts.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield recounts
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_the_terms_are_counted_once_while_the_registry_stays_as_it_is(table1, ctx):
    first = known_disease_terms()
    with counted() as recounts:
        assert known_disease_terms() == first
        assert known_disease_terms() == first
    assert recounts == []


def test_an_edited_entry_brings_its_new_disease_into_the_suggestions(table1, ctx):
    assert "Fanconi anaemia" not in known_disease_terms()
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 4)).one()
    change_fields(
        entry,
        {"diseases_targeted": FieldUpdate(["Fanconi anaemia"], "Fanconi anaemia")},
        EDIT,
    )
    db.session.flush()
    with counted() as recounts:
        assert "Fanconi anaemia" in known_disease_terms()
    assert len(recounts) == 1


def test_a_merge_counts_the_terms_again(table1, ctx):
    known_disease_terms()
    keep, retire = db.session.scalars(select(Institution).order_by(Institution.id).limit(2))
    merge_institutions(keep, retire, actor="curator@example.org")
    db.session.flush()
    with counted() as recounts:
        known_disease_terms()
    assert len(recounts) == 1
