"""``/api/v1``: entries, institutions, statistics, the EU-authorised ATMPs and the OpenAPI
document.

Parameters are checked and a bad one gets a 400 problem document naming it. Personal data
is left out unless the entry's contact consented to publication.

Harvesters keep a copy in step cheaply: ``changed_since`` lists only what changed from an
instant on, and every answer carrying data has a strong ETag (a hash of its body and of
who may read it) and, for the public, a Last-Modified, so a repeated request gets 304.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import exists, or_, select

from surveyapp.api.openapi import openapi_document
from surveyapp.auth.access import is_staff
from surveyapp.pagination import paginate
from surveyapp.registry import authorised_atmps, export, generic, service
from surveyapp.registry.merging import survivor
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.statistics import registry_statistics
from surveyapp.releases import publishing
from surveyapp.releases.models import Release
from surveyapp.vocabulary import AtmpType, is_country_code

blueprint = Blueprint("api", __name__)


class BadParameter(Exception):
    """A query parameter has a value the API cannot use."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


def is_api_request() -> bool:
    """True for requests to the API, whose errors are JSON rather than pages."""
    return request.blueprint == "api" or request.path.startswith("/api/")


def problem(status: int, detail: str) -> tuple[Response, int]:
    """An RFC 9457 problem document."""
    body = jsonify({"status": status, "title": _TITLES.get(status, "Error"), "detail": detail})
    body.mimetype = "application/problem+json"
    return body, status


_TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Too Large",
    500: "Internal Server Error",
}


@blueprint.before_request
def _check_token() -> tuple[Response, int] | None:
    """A request that brings credentials gets 401 when they are not valid, never public data."""
    if "Authorization" in request.headers and not current_user.is_authenticated:
        return problem(401, "The API token is missing, unknown or revoked.")
    return None


@blueprint.after_request
def _conditional(response: Response) -> Response:
    """Give a GET's data a strong ETag and (for the public) its Last-Modified, and answer
    304 with no body when the client's copy is still current.

    The ETag hashes the body together with the reader's audience, so a staff member's
    answer (with personal data and curation state) never shares a tag with the public's;
    ``Vary: Authorization`` keeps shared caches apart too. Staff answers get no
    Last-Modified: curation flags change them without touching any ``updated_at``.
    """
    response.vary.add("Authorization")
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    audience = b"staff" if is_staff() else b"public"
    response.set_etag(hashlib.sha256(audience + b"\0" + response.get_data()).hexdigest())
    changed_at: datetime | None = g.pop("api_changed_at", None)
    if changed_at is not None and audience == b"public":
        response.last_modified = changed_at
    return response.make_conditional(request)


def _changed_at(*moments: datetime | None) -> None:
    """Record the newest change the answer being built rests on, for its Last-Modified."""
    known = [moment for moment in moments if moment is not None]
    if known:
        g.api_changed_at = max(known)


@blueprint.errorhandler(BadParameter)
def _bad_parameter(error: BadParameter) -> tuple[Response, int]:
    return problem(400, str(error))


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise BadParameter(name, f"must be a whole number from {low} to {high}")
    return int(raw)


def _filters() -> service.EntryFilters:
    country = request.args.get("country", "").strip()
    if country and not is_country_code(country):
        raise BadParameter("country", "must be an ISO 3166-1 alpha-2 code such as DE")
    atmp_type = request.args.get("atmp_type", "").strip()
    if atmp_type and atmp_type not in {t.value for t in AtmpType}:
        raise BadParameter("atmp_type", f"must be one of {', '.join(t.value for t in AtmpType)}")
    q = request.args.get("q", "").strip()
    if len(q) > 200:
        raise BadParameter("q", "must be at most 200 characters")
    return service.EntryFilters(q=q, country=country, atmp_type=atmp_type)


# A "+" of a UTC offset that was not percent-encoded arrives as a space.
_UNENCODED_OFFSET = re.compile(r"T[0-9:.]+ (\d{2}(:?\d{2})?)$")


def _changed_since() -> datetime | None:
    """The ``changed_since`` instant: ISO 8601, a date or a date and time; no zone means UTC."""
    raw = request.args.get("changed_since", "").strip()
    if not raw:
        return None
    if _UNENCODED_OFFSET.search(raw):
        raw = raw[: raw.rindex(" ")] + "+" + raw[raw.rindex(" ") + 1 :]
    try:
        moment = datetime.fromisoformat(raw)  # a date alone is its midnight
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadParameter(
            "changed_since",
            "must be an ISO 8601 date or date and time such as 2026-01-31T12:00:00Z",
        ) from None


def _answer_filters() -> dict[str, str]:
    """Filters on the answers to choice, multi-choice and yes/no/unknown fields of later
    questionnaires, one parameter per field key, each a code of its vocabulary."""
    answers = {}
    for field in generic.filter_fields():
        code = request.args.get(field.key, "").strip()
        allowed = [value for value, _label in generic.filter_choices(field)]
        if code and code not in allowed:
            raise BadParameter(field.key, f"must be one of {', '.join(allowed)}")
        answers[field.key] = code
    return answers


@blueprint.get("/entries")
def entries() -> Any:
    """A page of entries, filtered by country, ATMP type, free text and answers to the
    vocabulary fields of later questionnaires.

    Staff (session or API token) also get contact persons, emails and curation state.
    """
    filters = _filters()
    answers = _answer_filters()
    since = _changed_since()
    page_number = _int_arg("page", 1, 1, 1_000_000)
    per_page = _int_arg("per_page", 50, 1, current_app.config["API_MAX_PER_PAGE"])
    matching = generic.filtered(filters, answers)
    if since is not None:
        # An institution's change (its name, say) shows in each of its entries.
        matching = matching.where(or_(Entry.updated_at >= since, Institution.updated_at >= since))
    page = service.search_entries(filters, page_number, per_page, matching=matching)
    _changed_at(*service.registry_changed_at())
    return jsonify(
        items=export.page_records(page.items, staff=is_staff()),
        total=page.total,
        page=page.page,
        per_page=page.per_page,
        pages=page.pages,
    )


@blueprint.get("/entries/<int:entry_id>")
def entry(entry_id: int) -> Any:
    """One entry by id."""
    try:
        found = service.get_entry(entry_id)
    except service.EntryNotFound as exc:
        return problem(404, str(exc))
    _changed_at(found.updated_at, found.institution.updated_at)
    return jsonify(export.page_records([found], staff=is_staff())[0])


@blueprint.get("/institutions")
def institutions() -> Any:
    """A page of institutions by id, public fields only, merged ones included (with the
    institution they were merged into), optionally only those changed since an instant
    (an institution counts as changed when one of its entries did too: its list of
    active entries may have)."""
    since = _changed_since()
    page_number = _int_arg("page", 1, 1, 1_000_000)
    per_page = _int_arg("per_page", 50, 1, current_app.config["API_MAX_PER_PAGE"])
    query = select(Institution).order_by(Institution.id)
    if since is not None:
        entry_changed = exists().where(
            Entry.institution_id == Institution.id, Entry.updated_at >= since
        )
        query = query.where(or_(Institution.updated_at >= since, entry_changed))
    page = paginate(query, page_number, per_page)
    _changed_at(*service.registry_changed_at())
    return jsonify(
        items=[export.institution_record(found) for found in page.items],
        total=page.total,
        page=page.page,
        per_page=page.per_page,
        pages=page.pages,
    )


@blueprint.get("/institutions/<int:institution_id>")
def institution(institution_id: int) -> Any:
    """One institution by id; a merged one's id answers 301 to the institution it was
    merged into."""
    found = service.get_institution(institution_id)
    if found is None:
        return problem(404, f"no institution has id {institution_id}")
    if found.replaced_by_id is not None:  # merged: it lives on in another
        return redirect(url_for("api.institution", institution_id=survivor(found).id), 301)
    _changed_at(found.updated_at, *(entry.updated_at for entry in found.entries))
    return jsonify(export.institution_record(found))


@blueprint.get("/stats")
def stats() -> Any:
    """Counts by country, ATMP type and answers; patients treated by country; figures per
    field of later questionnaires."""
    _changed_at(*service.registry_changed_at())
    return jsonify(registry_statistics())


@blueprint.get("/vocabularies/authorised-atmps")
def authorised_atmps_vocabulary() -> Any:
    """Every EU-authorised ATMP of the newest version, withdrawn ones included (answers
    may name them), with its class, status, dates and sources, and the evidence cut-off."""
    vocabulary = authorised_atmps.authorised_atmps()
    return jsonify(
        id=vocabulary.id,
        version=vocabulary.version,
        title=vocabulary.title,
        cut_off=vocabulary.details.get("cut_off"),
        source=vocabulary.details.get("source"),
        products=authorised_atmps.product_records(vocabulary),
    )


def release_record(release: Release) -> dict[str, Any]:
    """A release as the API describes it: version, notes, counts, what changed since the
    previous one, and each file with its address and SHA-256 (who made it is staff's
    business, not the public's)."""
    return {
        "version": release.version,
        "notes": release.notes,
        "created_at": release.created_at.isoformat(),
        "previous_version": release.previous_version,
        "entry_count": release.entry_count,
        "institution_count": release.institution_count,
        "changes": release.changes,
        "url": url_for("releases.release", version=release.version, _external=True),
        "changelog_url": url_for(
            "releases.release_changelog", version=release.version, _external=True
        ),
        "files": [
            {
                "name": file.name,
                "media_type": file.media_type,
                "size": file.size,
                "sha256": file.sha256,
                "url": url_for(
                    "releases.download", version=release.version, name=file.name, _external=True
                ),
            }
            for file in release.files
        ],
    }


@blueprint.get("/releases")
def releases() -> Any:
    """Every release, newest first."""
    every = publishing.releases()
    _changed_at(*(release.created_at for release in every))
    return jsonify(items=[release_record(release) for release in every])


@blueprint.get("/releases/<version>")
def release(version: str) -> Any:
    """One release by version."""
    try:
        found = publishing.get_release(version)
    except publishing.ReleaseNotFound as exc:
        return problem(404, str(exc))
    _changed_at(found.created_at)
    return jsonify(release_record(found))


@blueprint.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3.1 document describing this API."""
    return jsonify(openapi_document())
