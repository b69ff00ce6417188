"""A vocabulary named without a version means its newest version: the newest shipped file,
or a version recorded in the database after it, which every app server sharing the
database sees without a restart, for the price of one lookup per request."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import event

import config
from surveyapp import create_app
from surveyapp.definitions.models import VocabularyVersion
from surveyapp.definitions.vocabularies import (
    VOCABULARIES_DIR,
    choices,
    load_vocabulary,
    newest_version,
    term_record,
)
from surveyapp.extensions import db

NEW_TERM = {"code": "test_product", "label": "Test Product", "extra": {"status": "authorised"}}


def record_version_2(actor: str = "test") -> None:
    """A version 2 of the EU-authorised ATMPs: version 1's terms and one more, committed."""
    shipped = load_vocabulary("authorised_atmps-v1")
    db.session.add(
        VocabularyVersion(
            vocabulary_id="authorised_atmps",
            version=2,
            title=shipped.title,
            terms=[*(term_record(term) for term in shipped.terms), NEW_TERM],
            details={**shipped.details, "cut_off": "2026-05"},
            created_by=actor,
        )
    )
    db.session.commit()


def test_outside_an_application_the_newest_shipped_file_is_meant():
    vocabulary = load_vocabulary("authorised_atmps")
    assert (vocabulary.name, vocabulary.title) == ("authorised_atmps-v1", "EU-authorised ATMPs")
    assert vocabulary.details["cut_off"] == "2026-01"
    assert ("waskyra", "Waskyra") in choices("authorised_atmps")


def test_without_recorded_versions_the_shipped_file_is_meant(ctx):
    assert newest_version("authorised_atmps") == 1
    assert load_vocabulary("authorised_atmps") == load_vocabulary("authorised_atmps-v1")


def test_a_recorded_version_is_meant_from_the_next_request_on(app: Flask):
    with app.app_context():
        assert "test_product" not in dict(choices("authorised_atmps"))
        record_version_2()
    with app.app_context():
        latest = load_vocabulary("authorised_atmps")
        assert (latest.version, latest.details["cut_off"]) == (2, "2026-05")
        assert ("test_product", "Test Product") in choices("authorised_atmps")
        assert load_vocabulary("authorised_atmps-v2") == latest
        # the earlier version keeps its terms, so answers given under it keep their labels
        assert "test_product" not in dict(choices("authorised_atmps-v1"))
    # a definition checked against a folder, and anything outside an app, read the files
    with app.app_context():
        assert load_vocabulary("authorised_atmps", VOCABULARIES_DIR).version == 1
    assert load_vocabulary("authorised_atmps").version == 1


def test_a_page_pays_one_lookup_for_all_its_fields(app: Flask):
    with app.app_context():
        record_version_2()
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with app.app_context():
            for _field in range(20):
                assert "test_product" in dict(choices("authorised_atmps"))
        first_request = len(statements)
        with app.app_context():
            for _field in range(20):
                assert "test_product" in dict(choices("authorised_atmps"))
        second_request = len(statements) - first_request
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # the first reads the version numbers and the new version once; later requests only
    # the numbers, the parsed version being kept
    assert first_request == 2
    assert second_request == 1


@pytest.mark.committed
def test_another_app_server_sees_a_recorded_version_without_a_restart(app: Flask):
    class SameDatabase(config.TestingConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]

    other = create_app(SameDatabase)
    try:
        with other.app_context():
            assert load_vocabulary("authorised_atmps").version == 1
            db.session.rollback()  # hold no lock while the other server writes
            with app.app_context():
                record_version_2()
            # one request sees one version throughout
            assert load_vocabulary("authorised_atmps").version == 1
        with other.app_context():
            assert load_vocabulary("authorised_atmps").version == 2
            assert "test_product" in dict(choices("authorised_atmps"))
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
