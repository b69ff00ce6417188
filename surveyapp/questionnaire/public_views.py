"""The public "suggest a facility" form: anyone may propose a new facility or a correction.

Suggestions reach the curators' queue marked unverified. One that gives an email address
waits until its sender confirms it by the emailed link (a page with a Confirm button: the
link alone changes nothing, since mail scanners open links). The form is rate-limited per
address and, for suggestions stored, across all addresses (a botnet has many), and it
carries a honeypot field that people leave empty and bots fill in. A limited sender gets
the form back with what they typed and a word to try later.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, render_template, request
from flask_babel import get_locale
from flask_limiter.errors import RateLimitExceeded
from flask_wtf import FlaskForm

from surveyapp.extensions import db, limiter
from surveyapp.i18n import use_language_of
from surveyapp.questionnaire import forms, service
from surveyapp.questionnaire import suggestion_confirmation as confirmation
from surveyapp.registry.models import Institution
from surveyapp.routing import id_from

blueprint = Blueprint("suggest", __name__, url_prefix="/suggest")
# The one key every sender shares, for the limit across all addresses.
EVERYONE = "all-addresses"


def _institution() -> Institution | None:
    raw = request.values.get("institution_id") or request.args.get("institution")
    institution_id = id_from(raw)
    return db.session.get(Institution, institution_id) if institution_id else None


def _stored(_response: Any) -> bool:
    """Only suggestions actually stored count against the limit across all addresses, so
    bots the honeypot or the checks turn away cannot use it up for everyone."""
    return bool(g.get("suggestion_stored"))


@blueprint.errorhandler(RateLimitExceeded)
def _too_many(_error: RateLimitExceeded) -> tuple[str, int]:
    """The form again with what was typed, saying to try later (429)."""
    return render_template(
        "questionnaire/suggest.html",
        form=forms.SuggestionForm(),
        institution=_institution(),
        limited=True,
    ), 429


@blueprint.get("/")
def form() -> str:
    """The suggestion form, pre-filled when it corrects a registry institution."""
    institution = _institution()
    suggestion = forms.SuggestionForm()
    if institution is not None:
        suggestion.institution_id.data = str(institution.id)
        suggestion.institution.data = institution.name
        suggestion.country.data = institution.country_code or ""
        suggestion.website.data = institution.website or ""
    return render_template("questionnaire/suggest.html", form=suggestion, institution=institution)


@blueprint.post("/")
@limiter.limit(lambda: current_app.config["SUGGESTION_RATE_LIMIT"])
@limiter.limit(
    lambda: current_app.config["SUGGESTION_GLOBAL_RATE_LIMIT"],
    key_func=lambda: EVERYONE,
    deduct_when=_stored,
)
def send() -> Any:
    """Take a suggestion: into the review queue (unverified), or, when it gives an email
    address, waiting for the confirmation emailed there."""
    institution = _institution()
    suggestion = forms.SuggestionForm()
    if suggestion.homepage.data:  # a bot filled the honeypot: thank it, keep nothing
        return render_template("questionnaire/suggested.html")
    if suggestion.validate_on_submit():
        answers = {
            "institution": {
                "institution": suggestion.institution.data.strip(),
                "country": suggestion.country.data,
                "website": suggestion.website.data.strip() or None,
            },
            "entries": [],
        }
        try:
            stored = service.suggest(
                institution=institution,
                answers=answers,
                note=suggestion.note.data,
                submitter_name=suggestion.your_name.data or "",
                submitter_email=suggestion.your_email.data,
                consent_store=suggestion.consent_store.data,
                language=str(get_locale() or "en"),
            )
        except service.QuestionnaireError as exc:
            db.session.rollback()
            suggestion.consent_store.errors = [str(exc)]
        else:
            db.session.commit()
            g.suggestion_stored = True
            return render_template(
                "questionnaire/suggested.html",
                awaiting=stored.submitter_email is not None,
                days=current_app.config["SUGGESTION_CONFIRM_DAYS"],
            )
    return render_template(
        "questionnaire/suggest.html", form=suggestion, institution=institution
    ), 400


def _link_problem(exc: confirmation.ConfirmationLinkInvalid) -> tuple[str, int]:
    expired = isinstance(exc, confirmation.ConfirmationLinkExpired)
    return render_template(
        "questionnaire/suggestion_link.html",
        expired=expired,
        days=current_app.config["SUGGESTION_CONFIRM_DAYS"],
    ), (410 if expired else 404)


@blueprint.get("/confirm/<token>")
def confirmation_page(token: str) -> Any:
    """What the emailed link opens: the suggestion and a Confirm button (nothing changes
    until it is pressed)."""
    try:
        suggestion, language = confirmation.suggestion_of(token)
    except confirmation.ConfirmationLinkInvalid as exc:
        return _link_problem(exc)
    use_language_of(language)
    return render_template(
        "questionnaire/confirm_suggestion.html", suggestion=suggestion, form=FlaskForm()
    )


@blueprint.post("/confirm/<token>")
def confirm(token: str) -> Any:
    """Confirm the suggestion: it enters the curators' queue now (the CSRF token, checked
    for every POST, shows the button on our page was pressed)."""
    try:
        suggestion, language = confirmation.suggestion_of(token)
    except confirmation.ConfirmationLinkInvalid as exc:
        return _link_problem(exc)
    use_language_of(language)
    newly = confirmation.confirm(suggestion)
    db.session.commit()
    return render_template(
        "questionnaire/suggestion_confirmed.html", already=not newly, suggestion=suggestion
    )
