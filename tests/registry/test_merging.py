"""Merging two institutions that are one: entries move with history, answers the kept one
lacks are taken over, the duplicate flag between them is resolved, both are audited, and
the retired institution's identifier and page lead to the survivor for good."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent, Version
from surveyapp.history.service import Provenance
from surveyapp.registry import service
from surveyapp.registry.merging import MergeError, merge_institutions, survivor
from surveyapp.registry.models import Entry, Institution
from surveyapp.vocabulary import ChangeSource, FlagKind
from tests.conftest import csrf_token, institution_of_row

CURATOR = "curator@example.org"


@pytest.fixture
def pair(table1, ctx):
    """Two institutions (Table 1 rows 9 and 12), the second with an answer the first lacks
    and a duplicate flag between them."""
    keep, retire = institution_of_row(9), institution_of_row(12)
    service.change_fields(
        retire,
        {"gmp_manufacturing": service.FieldUpdate("own_facility", "")},
        Provenance(ChangeSource.STAFF_EDIT, CURATOR),
    )
    service.flag(
        FlagKind.POSSIBLE_DUPLICATE,
        "same contact",
        entry=retire.entries[0],
        related_entry=keep.entries[0],
    )
    db.session.commit()
    return keep, retire


def test_a_merge_moves_entries_takes_missing_answers_and_keeps_history(pair):
    keep, retire = pair
    moved = [e.id for e in retire.entries]
    kept_before = len(keep.entries)
    report = merge_institutions(keep, retire, CURATOR)
    db.session.commit()

    db.session.expire_all()
    keep, retire = db.session.get(Institution, keep.id), db.session.get(Institution, retire.id)
    assert report.entries_moved == len(moved) and report.answers_taken == ("gmp_manufacturing",)
    assert len(keep.entries) == kept_before + len(moved) and retire.entries == []
    assert keep.answers["gmp_manufacturing"] == "own_facility"
    assert retire.replaced_by_id == keep.id and retire.merged_at is not None
    assert survivor(retire).id == keep.id
    for entry_id in moved:
        last = db.session.scalars(
            select(Version).where(Version.entry_id == entry_id).order_by(Version.number.desc())
        ).first()
        assert last.source_ref == f"merge of institution {retire.id} into {keep.id}"
    assert report.flags_resolved == 1
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "registry.institutions_merged")
    ).all()
    assert {(e.target_id, e.detail["role"]) for e in events} == {
        (keep.id, "kept"),
        (retire.id, "retired"),
    }


def test_merging_into_itself_or_twice_is_refused(pair):
    keep, retire = pair
    with pytest.raises(MergeError, match="into itself"):
        merge_institutions(keep, keep, CURATOR)
    merge_institutions(keep, retire, CURATOR)
    db.session.commit()
    other = institution_of_row(1)
    with pytest.raises(MergeError, match="already merged"):
        merge_institutions(other, retire, CURATOR)
    with pytest.raises(MergeError, match="already merged"):
        merge_institutions(retire, other, CURATOR)


def test_the_retired_identifier_and_page_lead_to_the_survivor(client, pair):
    keep, retire = pair
    merge_institutions(keep, retire, CURATOR)
    db.session.commit()
    response = client.get(f"/id/{retire.public_id}")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/institutions/{keep.id}"
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 12)).one()
    assert (
        client.get(f"/id/{entry.public_id}")
        .headers["Location"]
        .startswith(f"/institutions/{keep.id}#")
    )


def test_a_curator_names_the_duplicate_compares_and_confirms(client, staff, pair):
    keep, retire = pair
    page = f"/staff/registry/curate/institution/{keep.id}/merge"
    compared = client.get(f"{page}?other={retire.public_id.upper()}").get_data(as_text=True)
    assert "Compare before merging" in compared and retire.public_id in compared
    response = client.post(
        page, data={"other": str(retire.id), "csrf_token": csrf_token(client, page)}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Institution, retire.id).replaced_by_id == keep.id


def test_the_page_says_what_is_wrong_with_the_name_given(client, staff, pair):
    keep, _retire = pair
    page = f"/staff/registry/curate/institution/{keep.id}/merge"
    unknown = client.get(f"{page}?other=123456789")
    assert unknown.status_code == 400
    assert "No institution has this number or identifier." in unknown.get_data(as_text=True)
    itself = client.post(page, data={"other": str(keep.id), "csrf_token": csrf_token(client, page)})
    assert itself.status_code == 400 and "into itself" in itself.get_data(as_text=True)


def test_the_command_merges_and_explains_refusals(app, pair):
    keep, retire = pair
    runner = app.test_cli_runner()
    result = runner.invoke(args=["registry", "merge-institutions", str(keep.id), "999999"])
    assert result.exit_code == 2 and "No institution has number 999999." in result.output
    result = runner.invoke(args=["registry", "merge-institutions", str(keep.id), str(keep.id)])
    assert result.exit_code == 1 and "into itself" in result.output
    result = runner.invoke(args=["registry", "merge-institutions", str(keep.id), str(retire.id)])
    assert result.exit_code == 0, result.output
    assert f"({retire.public_id}) into" in result.output and "entries moved" in result.output
    db.session.expire_all()
    assert db.session.get(Institution, retire.id).replaced_by_id == keep.id
