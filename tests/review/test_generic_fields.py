"""The curator's review of answers to generic fields: compared field by field, merged per
field (keep, take, correct) into the registry's ``answers`` with history and restore, each
submission against its own questionnaire version, with fields its version did not ask shown
as "not asked" and never overwritten."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from surveyapp.campaigns import service as campaign_service
from surveyapp.campaigns.models import Campaign, Invitation
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.models import Version
from surveyapp.history.service import Provenance
from surveyapp.questionnaire import service as questionnaire
from surveyapp.questionnaire.models import Submission
from surveyapp.registry import service as registry
from surveyapp.registry.models import Entry, Institution
from surveyapp.review import service
from surveyapp.vocabulary import ChangeSource
from tests.conftest import institution_of_row
from tests.review.conftest import choice, comment, custom, decide, visible_text


def entry_of_row(row: int) -> Entry:
    return db.session.scalars(select(Entry).where(Entry.source_row == row)).one()


def make_campaign(name: str, questionnaire_name: str) -> Campaign:
    created = campaign_service.create_campaign(
        name,
        (utcnow() + timedelta(days=30)).date(),
        actor="test",
        reply_to="team@example.org",
        questionnaire=questionnaire_name,
    )
    db.session.commit()
    return created


@pytest.fixture
def campaigns(table1, test_questionnaires, ctx) -> dict[str, Campaign]:
    """A campaign on each version of the test questionnaire, open at the same time."""
    return {
        "v1": make_campaign("Capacity 2026", "everything-v1"),
        "v2": make_campaign("Capacity 2027", "everything-v2"),
    }


@pytest.fixture
def answer(make_contact):
    """Invite a contact for Table 1 row 9 in a campaign and submit answers as given."""

    def submit(
        campaign: Campaign,
        email: str,
        institution: dict[str, Any],
        entry: dict[str, Any],
    ) -> Submission:
        contact = make_contact(email, 9)
        campaign_service.invite(campaign, actor="test", contact_ids=[contact.id])
        invitation = db.session.scalars(
            select(Invitation).where(
                Invitation.contact_id == contact.id, Invitation.campaign_id == campaign.id
            )
        ).one()
        submission = questionnaire.submission_for(invitation)
        answers = submission.answers
        answers = {
            "institution": {**answers["institution"], "name": "TLC-RT", **institution},
            "entries": [
                {**block, "fields": {**block["fields"], **(entry if index == 0 else {})}}
                for index, block in enumerate(answers["entries"])
            ],
        }
        questionnaire.submit(
            submission,
            invitation,
            answers,
            submit_key=f"test-{email}-{campaign.id}",
            consent_store=True,
            consent_publish=False,
        )
        db.session.commit()
        return submission

    return submit


V1_INSTITUTION = {
    "gmp": "yes",
    "lots_per_year": 40,
    "cleanroom_area": "120.5",
    "authorised_on": "2019-05-01",
}
V1_ENTRY = {
    "platform": "car_t",
    "platforms": ["car_t", "aav"],
    "partners": ["Charité", "LMU"],
    "description": "Autologous chondrocytes.",
}


def rows_by_path(comparison: service.Comparison) -> dict[str, service.FieldRow]:
    return {row.path: row for row in comparison.rows}


def test_generic_answers_are_compared_field_by_field_with_the_registry(
    campaigns, answer, client, staff
):
    institution = institution_of_row(9)
    registry.change_fields(
        institution,
        {
            "gmp": registry.FieldUpdate("no", ""),
            "cleanroom_area": registry.FieldUpdate("120.5", ""),
        },
        Provenance(ChangeSource.STAFF_EDIT, "test"),
    )
    db.session.commit()
    submission = answer(campaigns["v1"], "a@example.org", V1_INSTITUTION, V1_ENTRY)

    rows = rows_by_path(service.compare(submission))
    gmp = rows["institution.gmp"]
    assert (gmp.submitted_text, gmp.registry_text, gmp.changed) == ("Yes", "No", True)
    area = rows["institution.cleanroom_area"]
    assert (area.submitted_text, area.changed) == ("120.5 m²", False)
    assert rows["institution.lots_per_year"].submitted_text == "40 batches"
    platforms = rows["entries.0.platforms"]
    assert platforms.submitted_text == "CAR-T and other engineered immune cells; In vivo AAV"
    assert (platforms.registry_text, platforms.changed) == ("", True)

    page = visible_text(client.get(f"/staff/review/{submission.id}").get_data(as_text=True))
    assert "GMP manufacturing" in page and "Batches per year" in page
    assert "CAR-T and other engineered immune cells; In vivo AAV" in page


def test_approval_merges_generic_fields_per_field_with_history_and_restore(
    campaigns, answer, client, staff
):
    institution = institution_of_row(9)
    registry.change_fields(
        institution,
        {"authorised_on": registry.FieldUpdate("2018-01-01", "")},
        Provenance(ChangeSource.STAFF_EDIT, "test"),
    )
    db.session.commit()
    submission = answer(campaigns["v1"], "a@example.org", V1_INSTITUTION, V1_ENTRY)

    response = decide(
        client,
        submission.id,
        "approve",
        **{
            choice("institution.authorised_on"): "registry",
            choice("institution.lots_per_year"): "custom",
            custom("institution.lots_per_year"): "45",
            choice("entries.0.partners"): "custom",
            custom("entries.0.partners"): "Charité; LMU; TUM",
            choice("entries.0.platforms"): "submitted",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    institution = institution_of_row(9)
    assert institution.answers == {
        "city": "Würzburg",  # read from the name Table 1 printed
        "name": "TLC-RT",
        "gmp": "yes",
        "lots_per_year": 45,
        "cleanroom_area": "120.5",
        "authorised_on": "2018-01-01",
    }
    entry = entry_of_row(9)
    assert entry.answers == {**V1_ENTRY, "partners": ["Charité", "LMU", "TUM"]}

    version = db.session.scalars(
        select(Version).where(Version.entry_id == entry.id).order_by(Version.number.desc())
    ).first()
    assert (version.source, version.source_ref) == (
        ChangeSource.SUBMISSION,
        f"submission {submission.id} v1",
    )
    partners = next(c for c in version.changes if c.field == "partners")
    assert (partners.old_value, partners.new_value) == (None, ["Charité", "LMU", "TUM"])
    assert partners.new_text == "Charité; LMU; TUM"

    history = client.get(f"/staff/registry/curate/entry/{entry.id}/history").get_data(as_text=True)
    assert "Partners" in history and "Charité; LMU; TUM" in history

    registry.restore(entry, version.number - 1, Provenance(ChangeSource.RESTORE, "test"))
    db.session.commit()
    assert entry_of_row(9).answers == {}


def test_an_unreadable_corrected_generic_value_is_refused(campaigns, answer, client, staff):
    submission = answer(campaigns["v1"], "a@example.org", V1_INSTITUTION, V1_ENTRY)
    response = decide(
        client,
        submission.id,
        "approve",
        **{
            choice("entries.0.platform"): "custom",
            custom("entries.0.platform"): "crispr",
        },
    )
    assert response.status_code == 400
    assert "cannot be read" in response.get_data(as_text=True)
    db.session.expire_all()
    assert entry_of_row(9).answers == {}


def test_a_field_the_submissions_version_did_not_ask_shows_as_not_asked_and_is_kept(
    campaigns, answer, client, staff
):
    first = answer(campaigns["v1"], "a@example.org", V1_INSTITUTION, V1_ENTRY)
    assert decide(client, first.id, "approve").status_code == 302
    db.session.expire_all()
    assert institution_of_row(9).answers["cleanroom_area"] == "120.5"

    # v2 dropped cleanroom_area and added trial_units.
    second = answer(
        campaigns["v2"],
        "b@example.org",
        {**V1_INSTITUTION, "trial_units": 3, "lots_per_year": 15000},
        V1_ENTRY,
    )
    rows = rows_by_path(service.compare(second))
    dropped = rows["institution.cleanroom_area"]
    assert (dropped.asked, dropped.changed, dropped.registry_text) == (False, False, "120.5 m²")
    assert rows["institution.trial_units"].changed
    assert rows["institution.lots_per_year"].changed
    page = visible_text(client.get(f"/staff/review/{second.id}").get_data(as_text=True))
    assert "not asked" in page

    assert decide(client, second.id, "approve").status_code == 302, "approved"
    db.session.expire_all()
    answers = institution_of_row(9).answers
    assert answers["cleanroom_area"] == "120.5"  # kept, with its history
    assert (answers["trial_units"], answers["lots_per_year"]) == (3, 15000)

    # An answer given under v1 meets a registry that now has v2's trial_units.
    third = answer(campaigns["v1"], "c@example.org", V1_INSTITUTION, V1_ENTRY)
    rows = rows_by_path(service.compare(third))
    added = rows["institution.trial_units"]
    assert (added.asked, added.changed) == (False, False)
    assert decide(client, third.id, "approve").status_code == 302
    db.session.expire_all()
    assert institution_of_row(9).answers["trial_units"] == 3
    assert db.session.get(Institution, institution_of_row(9).id).answers["lots_per_year"] == 40


def test_the_comparison_shows_vocabulary_labels_in_the_curators_language(
    campaigns, answer, client, staff
):
    submission = answer(campaigns["v1"], "a@example.org", V1_INSTITUTION, V1_ENTRY)
    page = client.get(f"/staff/review/{submission.id}?lang=de").get_data(as_text=True)
    assert "CAR-T und andere veränderte Immunzellen; In vivo AAV" in visible_text(page)


def test_a_comment_on_a_field_not_asked_names_the_field(campaigns, answer, client, staff):
    first = answer(campaigns["v1"], "a@example.org", V1_INSTITUTION, V1_ENTRY)
    assert decide(client, first.id, "approve").status_code == 302
    second = answer(campaigns["v2"], "b@example.org", {"trial_units": 3}, {})
    response = decide(
        client,
        second.id,
        "request_changes",
        **{comment("institution.cleanroom_area"): "Is it still 120 m²?"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    review = service.reviews_of(db.session.get(Submission, second.id))[-1]
    assert service.labelled_comments(review) == [("Cleanroom area", "Is it still 120 m²?")]
