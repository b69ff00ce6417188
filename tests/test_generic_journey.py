"""A field no migration knows about travels the whole way: two campaigns on two versions of
a test-only questionnaire, open at once; the respondent answers through the link (save,
come back, submit); a curator compares and merges; the registry page, the directory filter,
the exports, the API with its OpenAPI document and the statistics show the answer; the
history keeps old and new value, and a restore brings the earlier value back."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openapi_spec_validator import validate
from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.models import Version
from surveyapp.history.service import Provenance
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire.models import Submission
from surveyapp.registry import service as registry
from surveyapp.vocabulary import ChangeSource, Role
from tests.api.test_generic_fields import check
from tests.campaigns.test_invitations import tokens_in
from tests.conftest import AuthActions, institution_of_row
from tests.questionnaire.test_form import post
from tests.review.conftest import decide, visible_text

V2_ANSWERS = {
    "institution_block-name": "TLC-RT",
    "institution_block-gmp": "yes",
    "institution_block-lots_per_year": "120",
    "institution_block-trial_units": "2",
    "institution_block-authorised_on": "2020-05-01",
    "entries-0-platform": "car_t",
    "entries-0-platforms": ["car_t", "aav"],
    "entries-0-partners": "Fraunhofer ISC\r\nUniversity Hospital\r\n",
    "entries-0-description": "Autologous cartilage.",
}


def campaign_on(name: str, questionnaire: str):
    return campaigns.create_campaign(
        name, (utcnow() + timedelta(days=30)).date(), actor="test", questionnaire=questionnaire
    )


def test_a_new_field_goes_from_the_link_to_every_output_without_a_migration(
    app, client, table1, test_questionnaires, make_contact, make_user, mailbox, ctx
):
    first = campaign_on("Capacity 2026", "everything-v1")
    second = campaign_on("Capacity 2027", "everything-v2")
    svane = make_contact("svane@example.org", 4)
    make_contact("pullig@example.org", 9, name="PD Dr. Oliver Pullig")
    campaigns.invite(first, actor="test", contact_ids=[svane.id])
    campaigns.invite(second, actor="test")
    db.session.commit()
    send_pending()
    to_pullig = [m for m in mailbox.messages if m["To"].addresses[0].username == "pullig"]
    assert len(to_pullig) == 1  # on v2, while svane answers v1 too: both campaigns are open
    token = tokens_in(to_pullig[0])[0]

    # The respondent saves, comes back through the link, finds the answers and submits.
    assert post(client, token, V2_ANSWERS).status_code == 200
    page = client.get(f"/i/{token}/form").get_data(as_text=True)
    assert 'value="120"' in page and "Clinical-trial units" in page
    assert "Cleanroom area" not in page  # v2 no longer asks it
    submitted = post(client, token, {**V2_ANSWERS, "consent_store": "y"}, button="submit")
    assert submitted.status_code == 302, submitted.get_data(as_text=True)
    submission = db.session.scalars(
        select(Submission).where(Submission.definition_version == 2)
    ).one()
    assert (submission.definition_id, submission.answers["institution"]["lots_per_year"]) == (
        "everything",
        120,
    )

    # A curator compares field by field and approves, taking the answers.
    make_user("cura@example.org", Role.CURATOR)
    curator = AuthActions(app.test_client())
    curator.login("cura@example.org")
    review = visible_text(
        curator.client.get(f"/staff/review/{submission.id}").get_data(as_text=True)
    )
    assert "Batches per year" in review and "120 batches" in review
    assert decide(curator.client, submission.id, "approve").status_code == 302
    institution = institution_of_row(9)
    db.session.refresh(institution)
    assert institution.answers["lots_per_year"] == 120
    assert institution.answers["trial_units"] == 2

    # Every public output shows it; the directory filters by it.
    public = visible_text(client.get(f"/institutions/{institution.id}").get_data(as_text=True))
    assert "Batches per year" in public and "120 batches" in public
    listed = client.get("/?platform=car_t").get_data(as_text=True)
    assert "TLC-RT" in listed or "Würzburg" in listed
    rows = list(
        csv.DictReader(io.StringIO(client.get("/registry/export.csv").get_data(as_text=True)))
    )
    mine = [r for r in rows if r["lots_per_year"]]
    assert mine and mine[0]["lots_per_year"] == "120" and "car_t" in mine[0]["platforms"]
    exported = client.get("/registry/export.json").get_json()
    assert any(item.get("platforms") == ["car_t", "aav"] for item in exported)
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    entries = client.get("/api/v1/entries?per_page=100").get_json()
    check(document, "EntryPage", entries)
    assert any(item.get("lots_per_year") == 120 for item in entries["items"])
    statistics = visible_text(client.get("/statistics").get_data(as_text=True))
    assert "Main platform" in statistics and "Batches per year" in statistics

    # History keeps old and new value; restoring the version before brings it back.
    versions = db.session.scalars(
        select(Version).where(Version.institution_id == institution.id).order_by(Version.number)
    ).all()
    changed = [c for v in versions for c in v.changes if c.field == "lots_per_year"]
    assert (changed[-1].old_value, changed[-1].new_value) == (None, 120)
    registry.restore(
        institution, versions[-2].number, Provenance(ChangeSource.RESTORE, "cura@example.org")
    )
    db.session.commit()
    db.session.refresh(institution)
    assert "lots_per_year" not in institution.answers
