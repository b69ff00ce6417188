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
    """One version's sections and fields as a respondent is asked them."""
    return render_template("questionnaire/version.html", definition=_definition(name))
