"""Respondents lose nothing, confirm in two actions and always know where they stand.

Every button saves (a refused Submit too), a link that closes while the form is open keeps
what was typed as a late draft, a disease list the browser accepts passes the server's
length check, "nothing has changed" sits on the page the emailed link opens, and that page
says where the answer stands and what to do next.
"""

from __future__ import annotations

import re
from datetime import timedelta

from babel.dates import format_date
from sqlalchemy import select

from surveyapp.auth.models import User
from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.models import OutboxMessage
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire import service as questionnaire
from surveyapp.questionnaire.models import Submission
from surveyapp.review import service as review
from surveyapp.review.models import Review
from surveyapp.vocabulary import Decision, MessageKind, Role, SubmissionStatus
from tests.campaigns.test_invitations import tokens_in
from tests.conftest import csrf_token
from tests.questionnaire.test_form import post, prefilled

NAME = "Translational Center Regenerative Medicine TLC-RT Würzburg"


def the_invitation() -> Invitation:
    invitation = db.session.scalars(select(Invitation)).one()
    db.session.refresh(invitation)
    return invitation


def the_submission() -> Submission:
    submission = db.session.scalars(select(Submission)).one()
    db.session.refresh(submission)
    return submission


def form_page_values(client, token: str) -> dict[str, object]:
    return prefilled(client.get(f"/i/{token}/form").get_data(as_text=True))


# Every button saves, Submit included ----------------------------------------------------


def test_a_submit_refused_for_missing_consent_keeps_the_typed_values(client, invited):
    token = invited(9)
    response = post(client, token, {"entries-0-patients_treated": "95"}, button="submit")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "saved but not submitted yet" in html
    assert 'id="errors"' in html
    assert "Please agree that the registry stores the contact details" in html
    submission = the_submission()
    assert submission.status == SubmissionStatus.DRAFT
    assert submission.answers["entries"][0]["fields"]["patients_treated"]["estimate"] == 95
    assert form_page_values(client, token)["entries-0-patients_treated"] == "95"


def test_a_submit_refused_for_an_invalid_field_keeps_every_typed_value(client, invited):
    token = invited(9)
    response = post(
        client,
        token,
        {
            "institution_block-website": "not a website",
            "entries-1-diseases_pipeline": "Osteoarthritis",
            "consent_store": "y",
        },
        button="submit",
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter a web address" in html and "saved but not submitted yet" in html
    values = form_page_values(client, token)
    assert values["institution_block-website"] == "not a website"
    assert values["entries-1-diseases_pipeline"] == "Osteoarthritis"
    assert values["consent_store"] == ["y"]
    assert the_submission().status == SubmissionStatus.DRAFT


# A link that closes while the form is open ------------------------------------------------


def close_the_link() -> Invitation:
    invitation = the_invitation()
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    return invitation


def post_open_page(client, token: str, page: str, data: dict[str, object], button: str):
    """Press a button on a form page that was opened while the link still worked."""
    return client.post(
        f"/i/{token}/form",
        data={
            **prefilled(page),
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
            button: "y",
            **data,
        },
    )


def test_a_link_closed_while_the_form_was_open_keeps_what_was_typed(client, invited):
    token = invited(9)
    page = client.get(f"/i/{token}/form").get_data(as_text=True)
    close_the_link()
    response = post_open_page(
        client, token, page, {"entries-0-diseases_pipeline": "Typed too late"}, "submit"
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "This survey has closed" in html
    assert "passed it to the coordinators" in html
    assert "Typed too late" in html  # shown back, read-only
    assert "<input" not in html.split("<main", 1)[1].split("</main>")[0]
    submission = the_submission()
    assert submission.status == SubmissionStatus.DRAFT
    assert submission.late_at is not None
    assert submission.answers["entries"][0]["fields"]["diseases_pipeline"] == ["Typed too late"]
    assert not submission.versions


def test_saving_after_the_campaign_closed_keeps_a_late_draft(client, invited):
    token = invited(9)
    page = client.get(f"/i/{token}/form").get_data(as_text=True)
    close_the_link()
    response = post_open_page(client, token, page, {"entries-0-patients_treated": "7"}, "save")
    assert response.status_code == 200 and "This survey has closed" in response.get_data(
        as_text=True
    )
    answers = the_submission().answers
    assert answers["entries"][0]["fields"]["patients_treated"]["estimate"] == 7


def test_nothing_has_changed_after_the_link_closed_is_kept_as_a_late_draft(client, invited):
    token = invited(9)
    landing = client.get(f"/i/{token}").get_data(as_text=True)
    close_the_link()
    response = client.post(
        f"/i/{token}/unchanged",
        data={
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', landing).group(1),
            "consent_store": "y",
            "origin": "landing",
        },
    )
    assert response.status_code == 200
    assert "You confirmed that the registry" in response.get_data(as_text=True)
    submission = the_submission()
    assert (submission.status, submission.nothing_changed) == (SubmissionStatus.DRAFT, True)
    assert submission.late_at is not None


def test_revoked_links_and_links_long_closed_stay_refused(client, invited):
    token = invited(9)
    page = client.get(f"/i/{token}/form").get_data(as_text=True)
    invitation = the_invitation()
    campaigns.revoke(invitation, actor="test")
    db.session.commit()
    assert post_open_page(client, token, page, {}, "save").status_code == 404
    invitation.revoked_at = None
    invitation.expires_at = utcnow() - questionnaire.LATE_GRACE - timedelta(hours=1)
    db.session.commit()
    assert post_open_page(client, token, page, {}, "save").status_code == 404
    assert db.session.scalars(select(Submission)).all() == []


def test_a_coordinator_can_accept_a_late_draft_as_submitted(client, invited):
    token = invited(9)
    page = client.get(f"/i/{token}/form").get_data(as_text=True)
    close_the_link()
    post_open_page(client, token, page, {"consent_store": "y"}, "submit")
    submission = the_submission()
    version = questionnaire.accept_late_draft(submission, actor="coord@example.org")
    db.session.commit()
    assert (submission.status, version.number) == (SubmissionStatus.SUBMITTED, 1)
    assert submission.late_at is not None  # the record that it arrived late
    confirmations = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == MessageKind.CONFIRMATION)
    ).all()
    assert confirmations == []  # the closed link cannot carry one


# Line endings --------------------------------------------------------------------------


def test_a_disease_list_the_browser_accepts_passes_the_length_check(client, invited):
    token = invited(4)
    html = client.get(f"/i/{token}/form").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*maxlength="2000"[^>]*name="entries-0-diseases_targeted"', html)
    terms = [f"Disease {n:03d}" for n in range(166)]
    # A browser counts each line break as one character against maxlength but sends CRLF.
    assert len("\n".join(terms)) <= 2000 < len("\r\n".join(terms))
    response = post(
        client,
        token,
        {"entries-0-diseases_targeted": "\r\n".join(terms), "consent_store": "y"},
        button="submit",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert the_submission().answers["entries"][0]["fields"]["diseases_targeted"] == terms


# Confirm unchanged in two actions ----------------------------------------------------------


def test_nothing_has_changed_is_confirmed_on_the_landing_page(client, invited):
    token = invited(9)
    landing = client.get(f"/i/{token}").get_data(as_text=True)
    assert "Nothing has changed — confirm" in landing
    assert 'id="confirm-consent"' in landing and 'for="confirm-consent"' in landing
    assert "I agree that the registry keeps the contact details it holds" in landing
    response = client.post(
        f"/i/{token}/unchanged",
        data={
            "csrf_token": csrf_token(client, f"/i/{token}"),
            "consent_store": "y",
            "origin": "landing",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/thanks")
    submission = the_submission()
    assert (submission.status, submission.nothing_changed) == (SubmissionStatus.SUBMITTED, True)
    assert the_invitation().opened_at is not None


def test_confirming_without_consent_says_how_to_confirm(client, invited):
    token = invited(9)
    response = client.post(
        f"/i/{token}/unchanged",
        data={"csrf_token": csrf_token(client, f"/i/{token}"), "origin": "landing"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "To confirm, tick the box" in html
    assert "remove" not in html.lower()
    assert "Nothing has changed — confirm" in html  # still on the landing page
    assert db.session.scalars(select(Submission)).all() == []


# Where do I stand? -------------------------------------------------------------------------


def landing_of(client, token: str) -> str:
    return client.get(f"/i/{token}").get_data(as_text=True)


def day(moment) -> str:
    return format_date(moment, format="long", locale="en")


def test_the_landing_page_says_where_the_answer_stands_and_what_comes_next(client, invited):
    token = invited(9)
    fresh = landing_of(client, token)
    assert ">Start</button>" in fresh and "Where your answer stands" not in fresh

    post(client, token, {"entries-0-patients_treated": "95"})
    draft = landing_of(client, token)
    assert "Draft saved, not submitted yet." in draft and ">Continue</a>" in draft

    post(client, token, {"consent_store": "y"}, button="submit")
    submitted_at = the_submission().submitted_at
    submitted = landing_of(client, token)
    assert f"Submitted on {day(submitted_at)}." in submitted
    assert "See or amend your answer" in submitted and ">Start<" not in submitted

    submission = the_submission()
    submission.status = SubmissionStatus.IN_REVIEW
    db.session.commit()
    in_review = landing_of(client, token)
    assert "In review." in in_review and "See your answer" in in_review


def curator(make_user) -> User:
    email = make_user("cura@example.org", Role.CURATOR)
    return db.session.scalars(select(User).where(User.email == email)).one()


def test_changes_requested_show_the_curators_comments(client, invited, make_user):
    token = invited(9)
    post(client, token, {"consent_store": "y"}, button="submit")
    submission = the_submission()
    review.request_changes(
        submission,
        curator(make_user),
        seen_row_version=submission.row_version,
        comment="Please check the numbers.",
        field_comments={"entries.0.patients_treated": "Really 80?"},
        link_days=14,
    )
    db.session.commit()
    html = landing_of(client, token)
    assert "Changes requested on" in html
    assert "Please check the numbers." in html and "Really 80?" in html
    assert "Change your answer" in html


def test_a_rejected_respondent_sees_the_reason_and_a_read_only_answer(client, invited, make_user):
    token = invited(9)
    post(client, token, {"consent_store": "y"}, button="submit")
    submission = the_submission()
    review.reject(
        submission,
        curator(make_user),
        seen_row_version=submission.row_version,
        reason="This centre closed in 2024.",
        notify=False,
    )
    db.session.commit()
    decided = db.session.scalars(select(Review)).one()
    html = landing_of(client, token)
    assert f"Not taken into the registry (decided on {day(decided.created_at)})." in html
    assert "This centre closed in 2024." in html and "See your answer" in html
    form = client.get(f"/i/{token}/form")
    assert form.status_code == 302  # no dead form: the read-only answer instead
    answer = client.get(form.headers["Location"]).get_data(as_text=True)
    assert "This centre closed in 2024." in answer and NAME in answer
    assert "<input" not in answer.split("<main", 1)[1] and "Submit" not in answer


def test_an_approved_answer_says_so(client, invited):
    token = invited(9)
    post(client, token, {"consent_store": "y"}, button="submit")
    submission = the_submission()
    submission.status = SubmissionStatus.APPROVED
    db.session.add(
        Review(
            submission_id=submission.id,
            version_number=1,
            decision=Decision.APPROVED,
            curator="cura@example.org",
        )
    )
    db.session.commit()
    decided = db.session.scalars(select(Review)).one()
    html = landing_of(client, token)
    assert f"Approved on {day(decided.created_at)}." in html and "See your answer" in html


# Where the page lands -------------------------------------------------------------------------


def test_errors_and_new_blocks_are_where_the_page_lands(client, invited):
    token = invited(9)
    html = client.get(f"/i/{token}/form").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/i/[^"#]+/form#errors"', html)
    assert re.search(r'name="add_entry"[^>]*formaction="/i/[^"#]+/form#entry-4"', html) or (
        re.search(r'formaction="/i/[^"#]+/form#entry-4"[^>]*name="add_entry"', html)
    )
    added = post(client, token, {}, button="add_entry").get_data(as_text=True)
    assert 'id="entry-4"' in added
    refused = post(client, token, {"institution_block-institution": ""}, button="submit")
    assert 'id="errors"' in refused.get_data(as_text=True)
    assert "questionnaire.js" in html


# New institutions arrive pre-filled -------------------------------------------------------------


def test_a_new_institution_is_prefilled_with_what_the_coordinator_imported(
    client, campaign, make_contact, mailbox
):
    contact = make_contact("ann@mctu.example.mt", name="Dr. Ann Example")
    contact.institution_name = "Malta Cell Therapy Unit"
    contact.country_code = "MT"
    db.session.commit()
    campaigns.invite(campaign, actor="test")
    db.session.commit()
    send_pending()
    token = tokens_in(mailbox.messages[-1])[0]
    values = form_page_values(client, token)
    assert values["institution_block-institution"] == "Malta Cell Therapy Unit"
    assert values["institution_block-country"] == "MT"
    assert values["entries-0-contact_person"] == "Dr. Ann Example"
    assert values["entries-0-contact_email"] == "ann@mctu.example.mt"
