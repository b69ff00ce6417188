"""Widening the registry: nominations by respondents, and the public suggestion form."""

from __future__ import annotations

from sqlalchemy import select

from surveyapp.campaigns.models import Contact, Nomination
from surveyapp.extensions import db
from surveyapp.questionnaire.models import Submission
from surveyapp.vocabulary import SubmissionStatus
from tests.conftest import csrf_token

SUGGESTION = {
    "institution": "Malta Cell Therapy Unit",
    "country": "MT",
    "website": "www.mctu.example.mt",
    "note": "CAR-T since 2024, about 30 patients",
    "your_name": "Ann Example",
    "your_email": "Ann@Example.org",
    "consent_store": "y",
}


def confirm_suggestion(client, submission: Submission) -> None:
    """Confirm a suggestion as its sender does, by the link its email carries."""
    from surveyapp.questionnaire.suggestion_confirmation import confirmation_token

    url = f"/suggest/confirm/{confirmation_token(submission, 'en')}"
    # the test's own read ends first: on SQLite the request needs the write lock
    db.session.commit()
    response = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()


def test_a_nomination_reaches_coordinators_as_a_proposed_contact(client, invited, table1, ctx):
    token = invited(4)
    url = f"/i/{token}/nominate"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "name": "Rizzoli Orthopaedic Institute",
            "country": "IT",
            "website": "www.ior.it",
            "contact_email": "Lab@IOR.it",
        },
    )
    assert response.status_code == 200
    assert "has been passed to the coordinators" in response.get_data(as_text=True)
    nomination = db.session.scalars(select(Nomination)).one()
    contact = db.session.get(Contact, nomination.contact_id)
    assert (contact.email, contact.active) == ("lab@ior.it", False)
    assert contact.source.startswith("nomination by ")
    assert len(contact.links) == 3  # the ior.it institutions, proposed


def test_a_nomination_needs_a_name_and_a_valid_email(client, invited):
    token = invited(4)
    url = f"/i/{token}/nominate"
    response = client.post(
        url,
        data={"csrf_token": csrf_token(client, url), "name": "", "contact_email": "not-an-email"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This field is required." in html and "Invalid email address." in html


def test_a_public_suggestion_enters_the_queue_unverified_once_confirmed(client, table1, ctx):
    page = client.get("/suggest/").get_data(as_text=True)
    assert "Suggest a facility" in page
    response = client.post(
        "/suggest/", data={**SUGGESTION, "csrf_token": csrf_token(client, "/suggest/")}
    )
    assert response.status_code == 200
    assert "Thank you" in response.get_data(as_text=True)
    assert "please open it and confirm" in response.get_data(as_text=True)
    submission = db.session.scalars(select(Submission)).one()
    assert submission.status == SubmissionStatus.DRAFT
    confirm_suggestion(client, submission)
    submission = db.session.scalars(select(Submission)).one()
    assert submission.unverified is True
    assert submission.status == SubmissionStatus.SUBMITTED
    assert submission.invitation_id is None
    assert submission.answers["institution"]["country"] == "MT"
    assert (submission.submitter_email, submission.note) == (
        "ann@example.org",
        "CAR-T since 2024, about 30 patients",
    )


def test_a_correction_is_prefilled_for_its_institution(client, table1, ctx):
    from tests.conftest import institution_of_row

    herlev = institution_of_row(4)
    page = client.get(f"/suggest/?institution={herlev.id}").get_data(as_text=True)
    assert "Suggest a correction" in page
    assert "National Center for Cancer Immune Therapy" in page
    client.post(
        "/suggest/",
        data={
            **SUGGESTION,
            "institution_id": str(herlev.id),
            "csrf_token": csrf_token(client, "/suggest/"),
        },
    )
    assert db.session.scalars(select(Submission)).one().institution_id == herlev.id


def test_the_honeypot_keeps_bots_out(client, table1, ctx):
    response = client.post(
        "/suggest/",
        data={
            **SUGGESTION,
            "homepage": "http://spam.example",
            "csrf_token": csrf_token(client, "/suggest/"),
        },
    )
    assert response.status_code == 200
    assert db.session.scalars(select(Submission)).all() == []


def test_the_suggestion_form_is_rate_limited(app, client, table1, monkeypatch):
    from surveyapp.extensions import limiter

    monkeypatch.setitem(app.config, "SUGGESTION_RATE_LIMIT", "2 per hour")
    limiter.reset()
    token = csrf_token(client, "/suggest/")
    codes = [
        client.post("/suggest/", data={**SUGGESTION, "csrf_token": token}).status_code
        for _ in range(3)
    ]
    limiter.reset()
    assert codes == [200, 200, 429]


def test_missing_answers_are_explained_and_kept(client, table1):
    response = client.post(
        "/suggest/",
        data={**SUGGESTION, "institution": "", "csrf_token": csrf_token(client, "/suggest/")},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This field is required." in html
    assert "CAR-T since 2024" in html
