"""The questionnaire behind an invitation link: pre-filled, saved, submitted, amended.

Every button saves what was typed. A validation error keeps every value and shows a
message next to each field with a summary on top; an answer longer than its field allows
stops the save itself (nothing is stored, every value is kept, the page says what to
shorten); an expired CSRF token keeps the input and asks to send it again. Works without
JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from markupsafe import Markup

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation
from surveyapp.database import commit_and_show
from surveyapp.extensions import db
from surveyapp.i18n import gettext as _
from surveyapp.i18n import use_language_of
from surveyapp.questionnaire import field_markup, forms, markup, service
from surveyapp.questionnaire.models import Submission
from surveyapp.registry import cities
from surveyapp.respondent.link_views import (
    invitation_of,
    link_refusal,
    protect_capability_links,
    render_landing,
)
from surveyapp.review.service import labelled_comments, latest_request
from surveyapp.review.standing import standing

blueprint = Blueprint("questionnaire", __name__, url_prefix="/i")
protect_capability_links(blueprint)


@dataclass(frozen=True)
class _Surroundings:
    """What the form page shows beside the answers, read from the registry and the
    review: the disease-term suggestions, the pre-filled answers to confirm and the
    curator's request for changes."""

    disease_terms: Markup
    to_confirm: set[str]
    request_for_changes: dict[str, Any] | None


def _surroundings(invitation: Invitation, submission: Submission) -> _Surroundings:
    """Read what the page shows beside the answers (three short statements)."""
    return _Surroundings(
        disease_terms=field_markup.disease_terms(tuple(service.known_disease_terms())),
        to_confirm=_answers_to_confirm(invitation),
        request_for_changes=_request_for_changes(submission),
    )


def _render(
    invitation: Invitation,
    submission: Submission,
    form: Any,
    token: str,
    *,
    status: int = 200,
    notice: str | None = None,
    surroundings: _Surroundings | None = None,
) -> tuple[str, int]:
    around = surroundings or _surroundings(invitation, submission)
    definition = service.definition_for(invitation)
    return render_template(
        "questionnaire/form.html",
        invitation=invitation,
        submission=submission,
        form=form,
        token=token,
        definition=definition,
        notice=notice,
        editable=service.is_editable(submission),
        disease_terms=around.disease_terms,
        request_for_changes=around.request_for_changes,
        question=field_markup.field,
        label=markup.label,
        to_confirm=around.to_confirm,
    ), status


def _answers_to_confirm(invitation: Invitation) -> set[str]:
    """Pre-filled answers no person gave yet (a city read from the name Table 1 printed),
    which the respondent is asked to check."""
    institution_id = invitation.institution_id
    if institution_id is None or not cities.to_confirm([institution_id]):
        return set()
    return {cities.CITY}


def _request_for_changes(submission: Submission) -> dict[str, Any] | None:
    """What the curator asked to change, shown above the reopened form."""
    request_ = latest_request(submission) if submission.id else None
    if request_ is None:
        return None
    return {"comment": request_.comment, "fields": labelled_comments(request_)}


def _filled_form(invitation: Invitation, submission: Submission) -> Any:
    definition = service.definition_for(invitation)
    data = forms.form_data(definition, submission.answers)
    form = forms.questionnaire_form(definition, formdata=None, data=data)
    form.consent_store.data = submission.consent_store
    form.consent_publish.data = submission.consent_publish
    form.submit_key.data = forms.new_submit_key()
    return form


@blueprint.errorhandler(CSRFError)
def _expired(_error: CSRFError) -> Any:
    """Keep everything typed and ask once to send it again with a fresh token."""
    token = request.view_args.get("token", "") if request.view_args else ""
    refused = link_refusal(token)
    if refused is not None:
        return refused
    invitation = invitation_of(token)
    submission = service.submission_for(invitation, create=False)
    definition = service.definition_for(invitation)
    form = forms.questionnaire_form(definition, meta={"csrf": False})
    form.validate()
    form.submit_key.data = request.form.get("submit_key") or forms.new_submit_key()
    return _render(
        invitation,
        submission,
        form,
        token,
        status=400,
        notice=_(
            "Your page was open for a long time, so for your security nothing was saved "
            "yet. Everything you typed is still here: please press the button again."
        ),
    )


def _open_or_closed(token: str) -> tuple[Invitation, bool]:
    """The link's invitation and whether it closed since the form was opened.

    A link that expired (the campaign closed) lately still hands in what was typed, as a
    late draft; unknown, revoked and opted-out links stay refused with the one 404 page.
    """
    try:
        return invitation_of(token), False
    except campaigns.InvalidLink:
        invitation = service.closed_invitation_of(token)
        if invitation is None:
            raise
        use_language_of(invitation.contact.language)
        return invitation, True


def _kept_late(
    invitation: Invitation,
    answers: dict[str, Any],
    *,
    consent_store: bool,
    consent_publish: bool,
    nothing_changed: bool = False,
) -> Any:
    """Store what arrived after the link closed and show it back, read-only."""
    submission = service.submission_for(invitation, answers=answers)
    try:
        service.keep_late(
            submission,
            invitation,
            answers,
            consent_store=consent_store,
            consent_publish=consent_publish,
            nothing_changed=nothing_changed,
        )
    except service.SubmissionClosed as exc:
        db.session.rollback()
        return render_template(
            "questionnaire/late.html", invitation=invitation, summary=None, notice=str(exc)
        ), 409
    db.session.commit()
    return render_template(
        "questionnaire/late.html",
        invitation=invitation,
        summary=service.summary(service.definition_of(submission), submission.answers),
        nothing_changed=nothing_changed,
        notice=None,
    )


@blueprint.get("/<token>/form")
def form(token: str) -> Any:
    """The questionnaire, pre-filled from the registry or the saved draft; once a curator
    has it, the answer page instead (read-only, with where it stands)."""
    invitation = invitation_of(token)
    submission = service.submission_for(invitation, create=False)
    if not service.is_editable(submission):
        return redirect(url_for("questionnaire.thanks", token=token))
    return _render(invitation, submission, _filled_form(invitation, submission), token)


@blueprint.post("/<token>/form")
def answer(token: str) -> Any:
    """Save, add a programme, or submit; every button keeps what was typed, a refused
    Submit and a link closed meanwhile included."""
    invitation, closed = _open_or_closed(token)
    definition = service.definition_for(invitation)
    form = forms.questionnaire_form(definition)
    valid = form.validate()
    if forms.over_long(form):
        # Nothing is saved, so the draft never holds a part of what the page shows.
        submission = service.submission_for(invitation, create=False)
        notice = _(
            "Nothing was saved yet: some answers are longer than allowed. Everything you "
            "typed is still here; please shorten the answers marked below and save again."
        )
        return _render(invitation, submission, form, token, status=400, notice=notice)
    answers = forms.answers_from_form(definition, form)
    if closed:
        return _kept_late(
            invitation,
            answers,
            consent_store=form.consent_store.data,
            consent_publish=form.consent_publish.data,
        )
    submission = service.submission_for(invitation, answers=answers)
    if not service.is_editable(submission):
        closed_message = service.SubmissionClosed.MESSAGE
        return _render(
            invitation,
            submission,
            _filled_form(invitation, submission),
            token,
            status=409,
            notice=closed_message,
        )
    campaigns.mark_opened(invitation)
    try:
        if form.submit.data and valid and form.consent_store.data:
            service.submit(
                submission,
                invitation,
                answers,
                submit_key=form.submit_key.data or "",
                consent_store=form.consent_store.data,
                consent_publish=form.consent_publish.data,
            )
            db.session.commit()
            return redirect(url_for("questionnaire.thanks", token=token))
        service.save_draft(
            submission,
            invitation,
            answers,
            consent_store=form.consent_store.data,
            consent_publish=form.consent_publish.data,
        )
    except service.SubmissionClosed as exc:
        db.session.rollback()
        return _render(invitation, submission, form, token, status=409, notice=str(exc))
    # The save changes nothing else the page shows: read it in the save's transaction,
    # so that showing the page after the commit needs no second one.
    around = _surroundings(invitation, submission)
    commit_and_show(db.session())  # the page below shows what was just saved
    if form.submit.data:
        if not form.consent_store.data:
            form.consent_store.errors = [str(service.CONSENT_NEEDED)]
        notice = _("Your answers are saved but not submitted yet: what is missing is listed below.")
        return _render(
            invitation, submission, form, token, status=400, notice=notice, surroundings=around
        )
    if form.add_entry.data and len(form.entries) < forms.MAX_ENTRIES:
        form.entries.append_entry({"active": True})
        return _render(
            invitation,
            submission,
            form,
            token,
            notice=_("A new programme block has been added at the end."),
            surroundings=around,
        )
    if not valid:
        notice = _("Your answers are saved. Some need attention before you can submit them.")
        return _render(invitation, submission, form, token, notice=notice, surroundings=around)
    notice = _("Your answers are saved. You can come back through your link at any time.")
    return _render(
        invitation,
        submission,
        _filled_form(invitation, submission),
        token,
        notice=notice,
        surroundings=around,
    )


@blueprint.post("/<token>/unchanged")
def unchanged(token: str) -> Any:
    """ "Nothing has changed": confirm the registry's entries as they are, in one action,
    from the landing page or the form."""
    invitation, closed = _open_or_closed(token)
    consent_store = request.form.get("consent_store") == "y"
    consent_publish = request.form.get("consent_publish") == "y"
    if closed:
        current = service.prefill(
            service.definition_for(invitation), invitation.institution, invitation.contact
        )
        return _kept_late(
            invitation,
            current,
            consent_store=consent_store,
            consent_publish=consent_publish,
            nothing_changed=True,
        )
    submission = service.submission_for(invitation)
    campaigns.mark_opened(invitation)
    try:
        service.confirm_unchanged(
            submission,
            invitation,
            submit_key=request.form.get("submit_key", ""),
            consent_store=consent_store,
            consent_publish=consent_publish,
        )
    except service.QuestionnaireError as exc:
        db.session.rollback()
        if request.form.get("origin") == "landing":
            return render_landing(invitation, token, error=str(exc), status=400)
        form = _filled_form(invitation, submission)
        return _render(invitation, submission, form, token, status=400, notice=str(exc))
    db.session.commit()
    return redirect(url_for("questionnaire.thanks", token=token))


@blueprint.get("/<token>/thanks")
def thanks(token: str) -> Any:
    """The answer page: where the answer stands, the next step, and a copy of the answers
    (also the read-only view once a curator has them)."""
    invitation = invitation_of(token)
    submission = service.submission_for(invitation, create=False)
    return render_template(
        "questionnaire/thanks.html",
        invitation=invitation,
        submission=submission,
        token=token,
        summary=service.summary(service.definition_of(submission), submission.answers),
        editable=service.is_editable(submission),
        standing=standing(invitation),
    )


@blueprint.route("/<token>/nominate", methods=["GET", "POST"])
def nominate(token: str) -> Any:
    """Nominate another facility; it reaches coordinators as a proposed contact."""
    invitation = invitation_of(token)
    form = forms.NominationForm()
    if form.validate_on_submit():
        email = None
        if form.contact_email.data:
            try:
                email = campaigns.normalise_contact_email(form.contact_email.data)
            except campaigns.CampaignError as exc:
                form.contact_email.errors.append(str(exc))
        if not form.errors:
            service.nominate(
                invitation,
                name=form.name.data,
                country_code=form.country.data or None,
                website=form.website.data,
                contact_email=email,
            )
            db.session.commit()
            return render_template(
                "questionnaire/nominate.html",
                invitation=invitation,
                token=token,
                form=forms.NominationForm(formdata=None),
                thanked=form.name.data,
            )
    status = 400 if form.errors else 200
    return render_template(
        "questionnaire/nominate.html", invitation=invitation, token=token, form=form, thanked=None
    ), status
