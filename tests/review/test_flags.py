"""An approval that takes a new value for a flagged field closes the flag, naming itself."""

from __future__ import annotations

from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.registry.models import CurationFlag, Entry
from tests.review.conftest import choice, decide


def flagged_patients() -> tuple[CurationFlag, Entry]:
    flagged = db.session.scalars(
        select(CurationFlag)
        .where(CurationFlag.field == "patients_treated", CurationFlag.entry_id.is_not(None))
        .order_by(CurationFlag.id)
    ).first()
    return flagged, db.session.get(Entry, flagged.entry_id)


def new_count_for(entry_id: int):
    def edit(answers):
        for block in answers["entries"]:
            if block["entry_id"] == entry_id:
                block["fields"]["patients_treated"] = {"estimate": 140, "qualifier": "exact"}

    return edit


def test_taking_the_submitted_value_closes_the_flag(client, staff, submit_for):
    flagged, entry = flagged_patients()
    submission = submit_for("a@example.org", entry.source_row, edit=new_count_for(entry.id))
    response = decide(client, submission.id, "approve")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    flagged = db.session.get(CurationFlag, flagged.id)
    assert flagged.resolution == f"Replaced by submission {submission.id} v1"
    assert flagged.resolved_by == staff
    assert db.session.get(Entry, entry.id).patients_estimate == 140
    curation = client.get("/staff/registry/curation").get_data(as_text=True)
    assert f"Replaced by submission {submission.id} v1" in curation


def test_keeping_the_registry_value_leaves_the_flag_open(client, staff, submit_for):
    flagged, entry = flagged_patients()
    submission = submit_for("a@example.org", entry.source_row, edit=new_count_for(entry.id))
    block = next(
        i
        for i, b in enumerate(submission.latest_version.answers["entries"])
        if b["entry_id"] == entry.id
    )
    response = decide(
        client,
        submission.id,
        "approve",
        **{choice(f"entries.{block}.patients_treated"): "registry"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CurationFlag, flagged.id).resolved_at is None
