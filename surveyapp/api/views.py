"""``/api/v1``: entries, one entry, statistics, the EU-authorised ATMPs and the OpenAPI
document.

Parameters are checked and a bad one gets a 400 problem document naming it. Personal data
is left out unless the entry's contact consented to publication.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user

from surveyapp.api.openapi import openapi_document
from surveyapp.auth.access import is_staff
from surveyapp.registry import authorised_atmps, export, generic, service
from surveyapp.registry.statistics import registry_statistics
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


@blueprint.errorhandler(BadParameter)
def _bad_parameter(error: BadParameter) -> tuple[Response, int]:
    return problem(400, str(error))


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
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
    page_number = _int_arg("page", 1, 1, 1_000_000)
    per_page = _int_arg("per_page", 50, 1, current_app.config["API_MAX_PER_PAGE"])
    page = generic.search(filters, answers, page=page_number, per_page=per_page)
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
    return jsonify(export.page_records([found], staff=is_staff())[0])


@blueprint.get("/stats")
def stats() -> Any:
    """Counts by country, ATMP type and answers; patients treated by country; figures per
    field of later questionnaires."""
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


@blueprint.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3.1 document describing this API."""
    return jsonify(openapi_document())
