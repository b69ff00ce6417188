"""Permanent public identifiers: minted once for every institution and entry, checked,
forgiving of how people type them, never changed by edits or restores, and resolvable at
``/id/<identifier>``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.history.service import Provenance
from surveyapp.registry import service
from surveyapp.registry.identifiers import LENGTH, SYMBOLS, mint, normalise
from surveyapp.registry.models import Entry, Institution
from surveyapp.vocabulary import ChangeSource
from tests.conftest import institution_of_row

EDIT = Provenance(ChangeSource.STAFF_EDIT, "curator@example.org")


def test_a_minted_identifier_has_nine_characters_and_passes_its_check():
    minted = {mint() for _ in range(2000)}
    assert len(minted) == 2000
    for identifier in minted:
        assert len(identifier) == LENGTH and set(identifier[:7]) <= set(SYMBOLS)
        assert identifier[7:].isdigit() and normalise(identifier) == identifier


def test_people_may_type_it_in_any_case_with_look_alikes_and_hyphens():
    identifier = mint()
    typed = identifier.upper().replace("1", "I").replace("0", "O")
    assert normalise(f" {typed[:4]}-{typed[4:]} ") == identifier


@pytest.mark.parametrize("position", range(LENGTH))
def test_a_typing_error_in_any_place_fails_the_check(position):
    identifier = mint()
    for symbol in SYMBOLS if position < 7 else "0123456789":
        if symbol != identifier[position]:
            wrong = identifier[:position] + symbol + identifier[position + 1 :]
            assert normalise(wrong) is None


def test_swapped_neighbours_fail_the_check():
    for _ in range(200):
        identifier = mint()
        for i in range(LENGTH - 1):
            swapped = identifier[:i] + identifier[i + 1] + identifier[i] + identifier[i + 2 :]
            if swapped != identifier:
                assert normalise(swapped) is None


def test_every_institution_and_entry_has_its_own(table1, ctx):
    institutions = db.session.scalars(select(Institution.public_id)).all()
    entries = db.session.scalars(select(Entry.public_id)).all()
    assert len(institutions) == 52 and len(entries) == 55
    assert len(set(institutions) | set(entries)) == 52 + 55
    assert all(normalise(i) == i for i in [*institutions, *entries])


def test_edits_and_restores_never_change_it(table1, ctx):
    institution = institution_of_row(9)
    before = (institution.public_id, [e.public_id for e in institution.entries])
    service.change_fields(institution, {"institution": service.FieldUpdate("TLC-RT", "")}, EDIT)
    db.session.commit()
    service.restore(institution, 1, Provenance(ChangeSource.RESTORE, "curator@example.org"))
    db.session.commit()
    db.session.expire_all()
    institution = institution_of_row(9)
    assert (institution.public_id, [e.public_id for e in institution.entries]) == before


def test_the_identifier_resolves_to_the_page_and_is_shown_there(client, table1, ctx):
    institution = institution_of_row(9)
    entry = institution.entries[1]
    response = client.get(f"/id/{institution.public_id.upper()}")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/institutions/{institution.id}"
    response = client.get(f"/id/{entry.public_id}")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/institutions/{institution.id}#entry-{entry.id}"
    page = client.get(f"/institutions/{institution.id}").get_data(as_text=True)
    assert institution.public_id in page and entry.public_id in page


def test_an_unknown_or_mistyped_identifier_is_not_found(client, table1):
    assert client.get("/id/not-an-id").status_code == 404
    unused = mint()
    assert client.get(f"/id/{unused}").status_code == 404


def test_a_new_row_never_takes_an_identifier_already_held(table1, ctx, monkeypatch):
    held = institution_of_row(9).public_id
    fresh = mint()
    drawn = iter([held, fresh])
    monkeypatch.setattr("surveyapp.registry.models.mint", lambda: next(drawn))
    institution = service.add_institution(
        {"institution": service.FieldUpdate("Second Würzburg", "Second Würzburg")}, EDIT
    )
    db.session.flush()
    assert institution.public_id == fresh
