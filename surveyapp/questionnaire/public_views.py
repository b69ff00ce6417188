"""The public "suggest a facility" form: anyone may propose a new facility or a correction.

Suggestions enter the curators' queue marked unverified. The form is rate-limited per
address and carries a honeypot field that people leave empty and bots fill in.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from surveyapp.extensions import db, limiter
from surveyapp.questionnaire import forms, service
from surveyapp.registry.models import Institution
from surveyapp.routing import id_from

blueprint = Blueprint("suggest", __name__, url_prefix="/suggest")


def _institution() -> Institution | None:
    raw = request.values.get("institution_id") or request.args.get("institution")
    institution_id = id_from(raw)
    return db.session.get(Institution, institution_id) if institution_id else None


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
def send() -> Any:
    """Take a suggestion into the review queue (unverified)."""
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
            service.suggest(
                institution=institution,
                answers=answers,
                note=suggestion.note.data,
                submitter_name=suggestion.your_name.data,
                submitter_email=suggestion.your_email.data.strip().lower(),
                consent_store=suggestion.consent_store.data,
            )
        except service.QuestionnaireError as exc:
            db.session.rollback()
            suggestion.consent_store.errors = [str(exc)]
        else:
            db.session.commit()
            return render_template("questionnaire/suggested.html")
    return render_template(
        "questionnaire/suggest.html", form=suggestion, institution=institution
    ), 400
