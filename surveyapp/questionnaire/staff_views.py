"""Staff pages about questionnaire versions: which exist, what each asks, what changed.

Coordinators choose a version for a campaign and curators compare answers given under
different versions; both need to see the fields of each version and the difference between
two, without reading TOML.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from surveyapp.auth.access import STAFF, restrict
from surveyapp.definitions import (
    Definition,
    DefinitionError,
    available,
    diff,
    load_definition,
    split_name,
)
from surveyapp.questionnaire import field_markup, forms

blueprint = Blueprint("questionnaires", __name__, url_prefix="/staff/questionnaires")
restrict(blueprint, STAFF)


def _definition(name: str) -> Definition:
    try:
        return load_definition(*split_name(name))
    except (ValueError, FileNotFoundError, DefinitionError):
        abort(404)


@blueprint.get("/")
def index() -> str:
    """Every questionnaire version a campaign can ask, with its fields and a comparison."""
    versions = [load_definition(*found) for found in available()]
    old = request.args.get("old")
    new = request.args.get("new")
    changes = diff(_definition(old), _definition(new)) if old and new else None
    return render_template(
        "questionnaire/versions.html", versions=versions, changes=changes, old=old, new=new
    )


@blueprint.get("/<name>")
def version(name: str) -> str:
    """One version as a respondent sees it (read-only, in the page's language: the language
    links switch it), with each field's key, type and vocabulary beneath."""
    definition = _definition(name)
    blank = {"institution": {}, "entries": [{"fields": {}}]}
    form = forms.questionnaire_form(
        definition, formdata=None, data=forms.form_data(definition, blank), meta={"csrf": False}
    )
    return render_template(
        "questionnaire/version.html",
        definition=definition,
        form=form,
        question=field_markup.field,
    )
