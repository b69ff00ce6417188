"""``/id/<identifier>``: the address to cite. It resolves an institution's or an entry's
permanent identifier to its page, so a citation keeps working when pages move."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from surveyapp.extensions import db
from surveyapp.registry.identifiers import normalise
from surveyapp.registry.merging import survivor
from surveyapp.registry.models import Entry, Institution

blueprint = Blueprint("identifiers", __name__)


@blueprint.get("/id/<identifier>")
def resolve(identifier: str) -> Response:
    """301 to the institution's page (a merged one's: to the survivor's; an entry's
    identifier: to its section there); 404
    for an identifier that fails its check or that was never minted."""
    found = normalise(identifier)
    if found is None:
        abort(404, description="This is not a registry identifier (its check digits fail).")
    institution = db.session.scalar(select(Institution).where(Institution.public_id == found))
    if institution is not None:
        target = survivor(institution)  # a merged institution lives on in another
        return redirect(url_for("registry.institution", institution_id=target.id), 301)
    entry = db.session.scalar(select(Entry).where(Entry.public_id == found))
    if entry is None:
        abort(404, description="No institution or entry has this identifier.")
    target = url_for("registry.institution", institution_id=entry.institution_id)
    return redirect(f"{target}#entry-{entry.id}", 301)
