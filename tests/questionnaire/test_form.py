"""The questionnaire behind an invitation: pre-fill, save and resume, validation, submit."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire import forms
from surveyapp.questionnaire.models import Submission
from surveyapp.vocabulary import InvitationStatus, SubmissionStatus
from tests.campaigns.test_invitations import plain, tokens_in
from tests.conftest import csrf_token
from tests.forms import FormReader


def form_fields(html: str) -> dict[str, str]:
    """Values of text inputs, selected options and checked boxes in a page."""
    fields = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        fields.setdefault(name, value)
    for name, value in re.findall(r'<input checked[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        fields[name] = value
    return fields


def post(client, token: str, data: dict[str, str], button: str = "save"):
    page = client.get(f"/i/{token}/form").get_data(as_text=True)
    key = re.search(r'name="submit_key" type="hidden" value="([^"]*)"', page)
    payload = {
        "csrf_token": csrf_token(client, f"/i/{token}/form"),
        "submit_key": key.group(1) if key else "",
        button: "y",
    }
    return client.post(f"/i/{token}/form", data={**prefilled(page), **payload, **data})


def prefilled(html: str) -> dict[str, object]:
    """What a browser would send for the page's questionnaire form as it is."""
    reader = FormReader("/form")
    reader.feed(html)
    return {
        k: (
            v.removeprefix("\r\n").removeprefix("\n")
            if isinstance(v, str) and k.endswith(("diseases_targeted", "diseases_pipeline"))
            else v
        )
        for k, v in reader.data.items()
    }


def test_the_form_is_prefilled_with_every_entry_of_the_institution(client, invited):
    token = invited(9)
    html = client.get(f"/i/{token}/form").get_data(as_text=True)
    assert "Translational Center Regenerative Medicine TLC-RT Würzburg" in html
    assert html.count("Pre-filled from the registry (entry") == 3
    data = prefilled(html)
    assert data["institution_block-country"] == "DE"
    assert data["entries-0-atmp_type"] == ["tissue_engineered"]
    assert data["entries-2-atmp_type"] == ["gene_therapy"]
    assert data["entries-0-patients_treated"] == "80"
    assert data["entries-0-contract_research"] == ["yes"]
    assert "Degenerative cartilage defects" in data["entries-0-diseases_targeted"]


def test_opening_the_form_changes_nothing(client, invited):
    token = invited(9)
    client.get(f"/i/{token}/form")
    assert db.session.scalars(select(Submission)).all() == []
    invitation = db.session.scalars(select(Invitation)).one()
    db.session.refresh(invitation)
    assert invitation.started_at is None


def test_a_draft_is_saved_and_comes_back_through_any_link(client, invited, campaign, mailbox):
    token = invited(9)
    response = post(
        client,
        token,
        {
            "entries-0-patients_treated": "95",
            "entries-0-diseases_pipeline": "Osteoarthritis\nRheumatism",
        },
    )
    assert response.status_code == 200
    assert "Your answers are saved" in response.get_data(as_text=True)
    invitation = db.session.scalars(select(Invitation)).one()
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.STARTED
    campaigns.resend(invitation, actor="test")
    db.session.commit()
    send_pending()
    other_token = tokens_in(mailbox.messages[-1])[0]
    assert other_token != token
    data = prefilled(client.get(f"/i/{other_token}/form").get_data(as_text=True))
    assert data["entries-0-patients_treated"] == "95"
    assert data["entries-0-diseases_pipeline"] == "Osteoarthritis\nRheumatism"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("institution_block-institution", "", "This field is required."),
        ("institution_block-country", "", "This field is required."),
        ("institution_block-country", "XX", "Not a valid choice."),
        ("institution_block-website", "not a website", "Enter a web address"),
        ("entries-0-contact_email", "nobody-at-example", "Invalid email address."),
        ("entries-0-patients_treated", "-4", "Number must be between 0 and 10000000."),
        ("entries-0-patients_treated", "many", "Not a valid integer value."),
    ],
)
def test_each_rule_shows_its_message_and_keeps_what_was_typed(
    client, invited, field, value, message
):
    token = invited(9)
    response = post(
        client,
        token,
        {
            field: value,
            "entries-1-diseases_targeted": "Typed but not saved yet",
            "consent_store": "y",
        },
        button="submit",
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Please check these answers" in html
    assert message in html
    assert "Typed but not saved yet" in html
    assert db.session.scalars(select(Submission.status)).one() == SubmissionStatus.DRAFT


@pytest.mark.parametrize("sent", [["DE"], [""], ["XX"], ["de"], []])
def test_a_country_is_checked_as_wtforms_checks_a_choice(app, sent):
    """The country field checks its code against a set rather than every option; it
    accepts and refuses exactly what WTForms' own select field does."""

    class Reference(Form):
        country = SelectField(choices=forms._country_choices("Choose", "en"))

    class Ours(Form):
        country = forms.CountryField(choices=forms._country_choices("Choose", "en"))

    with app.test_request_context("/"):
        sent_data = MultiDict([("country", value) for value in sent])
        reference, ours = Reference(sent_data), Ours(sent_data)
        assert ours.validate() == reference.validate()
        assert ours.country.errors == reference.country.errors


def test_blocks_are_added_and_retired_with_their_entry_ids(client, invited):
    token = invited(9)
    response = post(client, token, {}, button="add_entry")
    html = response.get_data(as_text=True)
    assert "Programme 4" in html and "A new programme." in html
    data = prefilled(html)
    data.update(
        {
            "entries-3-atmp_type": ["combined"],
            "entries-3-patients_treated": "3",
            "entries-3-patients_treated_qualifier": "at_least",
            "consent_store": "y",
        }
    )
    data["entries-1-active"] = []  # untick "we still run this programme"
    key = re.search(r'name="submit_key" type="hidden" value="([^"]*)"', html).group(1)
    response = client.post(
        f"/i/{token}/form",
        data={
            **data,
            "csrf_token": csrf_token(client, f"/i/{token}/form"),
            "submit_key": key,
            "submit": "y",
        },
    )
    assert response.status_code == 302
    answers = db.session.scalars(select(Submission)).one().answers
    blocks = answers["entries"]
    assert [b["entry_id"] is not None for b in blocks] == [True, True, True, False]
    assert [b["active"] for b in blocks] == [True, False, True, True]
    assert blocks[3]["fields"]["patients_treated"] == {"estimate": 3, "qualifier": "at_least"}
    assert blocks[3]["fields"]["atmp_type"] == {"types": ["combined"], "other": None}


def test_submitting_needs_consent_then_confirms_by_page_and_email(client, invited, mailbox):
    token = invited(4)
    refused = post(client, token, {}, button="submit")
    assert refused.status_code == 400
    assert "Please agree that the registry stores the contact details" in refused.get_data(
        as_text=True
    )
    done = post(client, token, {"consent_store": "y", "consent_publish": "y"}, button="submit")
    assert done.status_code == 302 and done.headers["Location"].endswith("/thanks")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Thank you" in page and "sarcoma" in page
    submission = db.session.scalars(select(Submission)).one()
    assert (submission.status, len(submission.versions)) == (SubmissionStatus.SUBMITTED, 1)
    assert submission.consent_publish is True
    invitation = db.session.scalars(select(Invitation)).one()
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.SUBMITTED
    mailbox.messages.clear()
    send_pending()
    (confirmation,) = mailbox.messages
    assert confirmation["Subject"] == "Your answers to Registry update 2026"
    body = plain(confirmation)
    assert "Number of patients treated: 114" in body
    assert "/thanks" in body


def test_a_double_submission_creates_one_version(client, invited):
    token = invited(4)
    page = client.get(f"/i/{token}/form").get_data(as_text=True)
    data = {
        **prefilled(page),
        "csrf_token": csrf_token(client, f"/i/{token}/form"),
        "consent_store": "y",
        "submit": "y",
    }
    first = client.post(f"/i/{token}/form", data=data)
    second = client.post(f"/i/{token}/form", data=data)
    assert first.status_code == second.status_code == 302
    assert len(db.session.scalars(select(Submission)).one().versions) == 1


def test_amend_while_submitted_and_refused_once_in_review(client, invited):
    token = invited(4)
    post(client, token, {"consent_store": "y"}, button="submit")
    post(
        client, token, {"consent_store": "y", "entries-0-patients_treated": "120"}, button="submit"
    )
    submission = db.session.scalars(select(Submission)).one()
    db.session.refresh(submission)
    assert [
        v.answers["entries"][0]["fields"]["patients_treated"]["estimate"]
        for v in submission.versions
    ] == [114, 120]
    page = client.get(f"/i/{token}/form").get_data(as_text=True)  # opened before the review
    submission.status = SubmissionStatus.IN_REVIEW
    db.session.commit()
    closed = client.post(
        f"/i/{token}/form",
        data={
            **prefilled(page),
            "csrf_token": csrf_token(client, f"/i/{token}/nominate"),
            "consent_store": "y",
            "entries-0-patients_treated": "500",
            "submit": "y",
        },
    )
    assert closed.status_code == 409
    assert "A curator is reviewing your answers" in closed.get_data(as_text=True)
    db.session.refresh(submission)
    assert len(submission.versions) == 2
    reopened = client.get(f"/i/{token}/form")
    assert reopened.status_code == 302 and reopened.headers["Location"].endswith("/thanks")
    assert "In review." in client.get(reopened.headers["Location"]).get_data(as_text=True)


def test_nothing_has_changed_is_one_action(client, invited):
    token = invited(9)
    page = client.get(f"/i/{token}/form").get_data(as_text=True)
    assert "Nothing has changed" in page
    response = client.post(
        f"/i/{token}/unchanged",
        data={"csrf_token": csrf_token(client, f"/i/{token}/form"), "consent_store": "y"},
    )
    assert response.status_code == 302
    submission = db.session.scalars(select(Submission)).one()
    assert submission.nothing_changed is True
    assert submission.status == SubmissionStatus.SUBMITTED
    assert [e["entry_id"] is not None for e in submission.answers["entries"]] == [True] * 3


def test_an_expired_csrf_token_keeps_the_input_and_asks_again(client, invited):
    token = invited(4)
    page = client.get(f"/i/{token}/form").get_data(as_text=True)
    data = {
        **prefilled(page),
        "csrf_token": "expired-token",
        "entries-0-diseases_pipeline": "Kept through expiry",
        "save": "y",
    }
    response = client.post(f"/i/{token}/form", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "please press the button again" in html
    assert "Kept through expiry" in html
    again = {**prefilled(html), "csrf_token": csrf_token(client, f"/i/{token}/form"), "save": "y"}
    assert client.post(f"/i/{token}/form", data=again).status_code == 200
    answers = db.session.scalars(select(Submission)).one().answers
    assert answers["entries"][0]["fields"]["diseases_pipeline"] == ["Kept through expiry"]


def test_diseases_are_added_one_term_at_a_time_with_suggestions(client, invited):
    token = invited(4)
    html = client.get(f"/i/{token}/form").get_data(as_text=True)
    assert '<datalist id="disease-terms">' in html
    assert '<option value="uveal melanoma">' in html
    response = post(client, token, {"entries-0-diseases_pipeline_add": "Glioblastoma"})
    data = prefilled(response.get_data(as_text=True))
    assert data["entries-0-diseases_pipeline"] == "Glioblastoma"
    assert data["entries-0-diseases_pipeline_add"] == ""
    response = post(client, token, {"entries-0-diseases_pipeline_add": "Melanoma"})
    assert prefilled(response.get_data(as_text=True))["entries-0-diseases_pipeline"] == (
        "Glioblastoma\nMelanoma"
    )


def test_coordinators_activate_a_nominated_contact(app, client, invited, make_user, ctx):
    from surveyapp.campaigns.models import Contact
    from surveyapp.vocabulary import Role
    from tests.conftest import AuthActions

    token = invited(4)
    url = f"/i/{token}/nominate"
    client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "name": "New Lab",
            "contact_email": "lab@new.example",
        },
    )
    contact = db.session.scalars(select(Contact).where(Contact.email == "lab@new.example")).one()
    assert not contact.active
    make_user("coord@example.org", Role.COORDINATOR)
    coordinator = AuthActions(app.test_client())
    coordinator.login("coord@example.org")
    page = f"/contacts/{contact.id}"
    coordinator.client.post(
        page,
        data={
            "csrf_token": csrf_token(coordinator.client, page),
            "email": contact.email,
            "language": "en",
            "active": "y",
        },
    )
    db.session.refresh(contact)
    assert contact.active


def test_a_german_contact_gets_the_questionnaire_and_emails_in_german(
    client, campaign, make_contact, mailbox, ctx
):
    contact = make_contact("fischer@example.org", 9, name="Dr. Fischer")
    contact.language = "de"
    db.session.commit()
    campaigns.invite(campaign, actor="test")
    db.session.commit()
    send_pending()
    (invitation_email,) = mailbox.messages
    assert invitation_email["Subject"] == (
        "Bitte bestätigen Sie Ihre ATMP-Einrichtung im europäischen Register"
    )
    assert "Guten Tag Dr. Fischer" in plain(invitation_email)
    assert "Diese E-Mails abbestellen" in plain(invitation_email)
    token = tokens_in(invitation_email)[0]
    html = client.get(f"/i/{token}/form").get_data(as_text=True)
    assert '<html lang="de">' in html
    assert "Zahl der behandelten Patientinnen und Patienten" in html
    assert "Gentherapie" in html and "Deutschland" in html
    response = post(
        client, token, {"institution_block-institution": "", "consent_store": "y"}, button="submit"
    )
    assert "Dieses Feld wird benötigt." in response.get_data(as_text=True)
    name = "Translational Center Regenerative Medicine TLC-RT Würzburg"
    post(client, token, {"institution_block-institution": name, "consent_store": "y"}, "submit")
    mailbox.messages.clear()
    send_pending()
    (confirmation,) = mailbox.messages
    assert confirmation["Subject"] == "Ihre Antworten zu Registry update 2026"
    assert "Art des ATMP: Biotechnologisch bearbeitetes Gewebeprodukt" in plain(confirmation)


def test_the_language_can_be_switched_on_the_page(client, invited):
    token = invited(4)
    english = client.get(f"/i/{token}/form").get_data(as_text=True)
    assert "Number of patients treated" in english
    german = client.get(f"/i/{token}/form?lang=de").get_data(as_text=True)
    assert "Zahl der behandelten Patientinnen und Patienten" in german
    assert "Zahl der behandelten" in client.get(f"/i/{token}/form").get_data(as_text=True)


def test_a_block_cannot_claim_another_institutions_entry(client, invited, ctx):
    from tests.conftest import institution_of_row

    token = invited(4)
    foreign = institution_of_row(9).entries[0].id
    post(client, token, {"entries-0-entry_id": str(foreign), "consent_store": "y"}, button="submit")
    answers = db.session.scalars(select(Submission)).one().answers
    assert answers["entries"][0]["entry_id"] is None
