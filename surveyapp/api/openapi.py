"""The OpenAPI 3.1 document for /api/v1, built from the same definitions the API uses.

Field names and descriptions come from the questionnaire definition and enumerations from
the vocabulary module, so the document cannot drift from what the API returns; a test
validates real responses against it.
"""

from __future__ import annotations

from typing import Any

from surveyapp.definitions import table1
from surveyapp.definitions.answers import json_schema
from surveyapp.registry.authorised_atmps import (
    ATMP_CLASSES,
    CONFIDENCES,
    DATE_PATTERN,
    STATUSES,
)
from surveyapp.registry.export import institution_answer_fields, institution_text_fields
from surveyapp.registry.generic import filter_choices, filter_fields, generic_fields
from surveyapp.registry.identifiers import LENGTH, SYMBOLS
from surveyapp.registry.statistics import capacity_statistics_keys, counted_fields
from surveyapp.releases.changelog import SECTIONS
from surveyapp.releases.publishing import VERSION_PATTERN
from surveyapp.routing import MAX_ID
from surveyapp.vocabulary import (
    Answer,
    AtmpType,
    DiseaseArea,
    EntryStatus,
    PatientsQualifier,
    Vocabulary,
    countries,
)


def _enum(vocabulary: type[Vocabulary], nullable: bool = False) -> dict[str, Any]:
    values: list[Any] = [m.value for m in vocabulary]
    if nullable:
        return {"type": ["string", "null"], "enum": [*values, None]}
    return {"type": "string", "enum": values}


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def _public_id(description: str) -> dict[str, Any]:
    """A permanent public identifier (:mod:`surveyapp.registry.identifiers`)."""
    return {
        "type": "string",
        "pattern": f"^[{SYMBOLS}]{{{LENGTH}}}$",
        "description": f"{description} (resolves at /id/{{public_id}})",
    }


def entry_schema() -> dict[str, Any]:
    """JSON Schema of one entry as the API returns it."""
    properties: dict[str, Any] = {
        "id": {"type": "integer"},
        "public_id": _public_id("The entry's permanent identifier to cite"),
        "institution_id": {"type": "integer"},
        "institution_public_id": _public_id("Its institution's permanent identifier to cite"),
        "source_row": _nullable("integer", description="Row of RESTORE D1.4 Table 1"),
        "status": _enum(EntryStatus),
    }
    for field in table1().fields:
        description = f"{field.label}: the text Table 1 printed, until a change replaces it"
        if field.personal:
            description = f"{field.label}: null unless the contact consented to publication"
        properties[field.key] = _nullable("string", description=description)
    properties |= {
        "country_code": _nullable("string", pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2"),
        "atmp_types": {"type": "array", "items": _enum(AtmpType)},
        "atmp_other": _nullable("string", description="Other activities, in words"),
        "patients_estimate": _nullable("integer", minimum=0),
        "patients_qualifier": _enum(PatientsQualifier, nullable=True),
        "diseases_targeted_terms": {"type": "array", "items": {"type": "string"}},
        "diseases_pipeline_terms": {"type": "array", "items": {"type": "string"}},
        "disease_areas": {"type": "array", "items": _enum(DiseaseArea)},
        "contract_research_value": _enum(Answer, nullable=True),
        "routine_application_value": _enum(Answer, nullable=True),
        "retired_reason": _nullable("string"),
        "last_changed": {"type": "string", "format": "date-time"},
        "last_confirmed": _nullable("string", format="date-time"),
        "table1_fields_filled": {
            "type": "integer",
            "minimum": 0,
            "description": "How many of Table 1's ten columns the entry fills",
        },
        "needs_curation": {
            "type": ["boolean", "null"],
            "description": "Staff only: open curation flags; null for the public",
        },
    }
    for field in generic_fields(include_personal=True):
        description = f"{field.label} ({field.level} level)"
        if field.personal:
            description = f"{field.label}: staff only; null for the public"
        properties[field.key] = json_schema(field) | {"description": description}
    required = [k for k in properties if k != "needs_curation"]
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def institution_schema() -> dict[str, Any]:
    """JSON Schema of one institution as the API returns it: public fields only."""
    properties: dict[str, Any] = {
        "id": {"type": "integer"},
        "public_id": _public_id("The permanent identifier to cite"),
        "replaced_by": _nullable(
            "integer",
            description="Merged into this institution (its id); null while it stands alone",
        ),
    }
    for field in institution_text_fields():
        properties[field.key] = _nullable(
            "string", description=f"{field.label}: the text shown for the institution"
        )
    properties |= {
        "country_code": _nullable("string", pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2"),
        "entries": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "Ids of the institution's active entries (/entries/{entry_id})",
        },
        "last_changed": {"type": "string", "format": "date-time"},
    }
    for field in institution_answer_fields():
        properties[field.key] = json_schema(field) | {"description": field.label}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _page_schema(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 500},
            "pages": {"type": "integer", "minimum": 1},
        },
        "required": ["items", "total", "page", "per_page", "pages"],
        "additionalProperties": False,
    }


def _counts(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": {"type": "integer", "minimum": 0},
    }


# The figures of Table 1's fields in /stats; see stats_schema for the rest.
_STATS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entries": {"type": "integer", "minimum": 0},
        "entries_by_country": _counts("Active entries per ISO country code"),
        "entries_by_atmp_type": _counts("Active entries per ATMP type"),
        "entries_by_disease_area": _counts(
            "Active entries per disease area of the diseases targeted"
        ),
        "entries_by_contract_research": _counts("Per contract research answer"),
        "entries_by_routine_application": _counts("Per routine application answer"),
        "patients_treated_by_country": _counts("Sum of patients per country code"),
        "patients_treated_by_country_detail": {
            "type": "object",
            "description": "Per country: the sum, the sum per qualifier, and "
            "how many entries give a number or none",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "total": {"type": "integer", "minimum": 0},
                    "entries_with_number": {"type": "integer", "minimum": 0},
                    "entries_without_number": {"type": "integer", "minimum": 0},
                    "by_qualifier": _counts("Sum of patients per qualifier"),
                },
                "required": [
                    "total",
                    "entries_with_number",
                    "entries_without_number",
                    "by_qualifier",
                ],
                "additionalProperties": False,
            },
        },
    },
    "required": [
        "entries",
        "entries_by_country",
        "entries_by_atmp_type",
        "entries_by_disease_area",
        "entries_by_contract_research",
        "entries_by_routine_application",
        "patients_treated_by_country",
        "patients_treated_by_country_detail",
    ],
    "additionalProperties": False,
}


def answer_statistics_schema() -> dict[str, Any]:
    """JSON Schema of the figures per generic field in ``/stats``: counts per code for
    vocabulary fields, a distribution for integer fields."""
    counts = {
        "type": "object",
        "properties": {
            "level": {"enum": ["institution", "entry"]},
            "counted": {"enum": ["institutions", "entries"]},
            "kind": {"const": "counts"},
            "total": {"type": "integer", "minimum": 0, "description": "Entries or institutions"},
            "counts": _counts("Per code; 'unknown' for no answer"),
        },
        "required": ["level", "counted", "kind", "total", "counts"],
        "additionalProperties": False,
    }
    number = {"type": ["integer", "null"]}
    distribution = {
        "type": "object",
        "properties": {
            "level": {"enum": ["institution", "entry"]},
            "counted": {"enum": ["institutions", "entries"]},
            "kind": {"const": "distribution"},
            "answers": {"type": "integer", "minimum": 0},
            "unanswered": {"type": "integer", "minimum": 0},
            "min": number,
            "median": {"type": ["number", "null"]},
            "max": number,
            "buckets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "from": {"type": "integer"},
                        "to": {"type": "integer"},
                        "count": {"type": "integer", "minimum": 0},
                    },
                    "required": ["from", "to", "count"],
                    "additionalProperties": False,
                },
            },
        },
        "required": [
            "level",
            "counted",
            "kind",
            "answers",
            "unanswered",
            "min",
            "median",
            "max",
            "buckets",
        ],
        "additionalProperties": False,
    }
    properties = {
        field.key: counts if field.type != "integer" else distribution for field in counted_fields()
    }
    return {
        "type": "object",
        "description": "Per field of a later questionnaire: active entries (or institutions "
        "with one, for institution-level fields) per answer, or the distribution of a number",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_CAPACITY: dict[str, Any] = {
    "centres_by_authorised_atmp": _counts(
        "Institutions with at least one active entry administering each EU-authorised ATMP "
        "(codes of /vocabularies/authorised-atmps, with each product's status), each "
        "institution once; products no centre names are left out"
    ),
    "capacity_by_country": {
        "type": "object",
        "description": "Per ISO country code ('unknown' when not known): institutions with "
        "an active entry, and of those the GMP sites (GMP manufacturing in their own "
        "facility or through a partner) and those with a clinical-trial unit",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "institutions": {"type": "integer", "minimum": 0},
                "gmp_sites": {"type": "integer", "minimum": 0},
                "trial_units": {"type": "integer", "minimum": 0},
            },
            "required": ["institutions", "gmp_sites", "trial_units"],
            "additionalProperties": False,
        },
    },
}


def stats_schema() -> dict[str, Any]:
    """JSON Schema of ``/stats``; the capacity figures and the figures of generic fields
    only when a definition in use asks their fields."""
    schema = dict(_STATS)
    capacity = {key: _CAPACITY[key] for key in capacity_statistics_keys()}
    if capacity:
        schema["properties"] = schema["properties"] | capacity
        schema["required"] = [*schema["required"], *capacity]
    if counted_fields():
        schema["properties"] = schema["properties"] | {"answers": answer_statistics_schema()}
        schema["required"] = [*schema["required"], "answers"]
    return schema


def authorised_atmps_schema() -> dict[str, Any]:
    """JSON Schema of ``/vocabularies/authorised-atmps``."""
    text = {"type": "string"}
    a_date = {"type": "string", "pattern": DATE_PATTERN}
    product = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "The code answers store"},
            "name": text,
            "active_substance": text,
            "atmp_class": {"type": "string", "enum": list(ATMP_CLASSES)},
            "status": {"type": "string", "enum": list(STATUSES)},
            "status_changed": {
                "type": ["string", "null"],
                "pattern": DATE_PATTERN,
                "description": "When the status last changed (withdrawal, expiry); "
                "null while authorised",
            },
            "first_authorised": a_date | {"description": "YYYY, YYYY-MM or YYYY-MM-DD"},
            "therapeutic_area": text,
            "holder": {"type": "string", "description": "Marketing authorisation holder"},
            "sources": {"type": "array", "items": {"type": "string"}},
            "confidence": {"type": "string", "enum": list(CONFIDENCES)},
        },
        "required": [
            "code",
            "name",
            "active_substance",
            "atmp_class",
            "status",
            "status_changed",
            "first_authorised",
            "therapeutic_area",
            "holder",
            "sources",
            "confidence",
        ],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "description": "The ATMPs ever granted an EU marketing authorisation; a withdrawn, "
        "expired or not renewed product stays listed, marked by its status",
        "properties": {
            "id": {"const": "authorised_atmps"},
            "version": {"type": "integer", "minimum": 1},
            "title": text,
            "cut_off": {
                "type": ["string", "null"],
                "pattern": DATE_PATTERN,
                "description": "The newest evidence the version rests on",
            },
            "source": {"type": ["string", "null"]},
            "products": {"type": "array", "items": product},
        },
        "required": ["id", "version", "title", "cut_off", "source", "products"],
        "additionalProperties": False,
    }


# Headers of every answer carrying data, and the request headers that make it conditional.
_CACHE_HEADERS: dict[str, Any] = {
    "ETag": {
        "description": "A strong validator: a hash of the body and of the reader's audience "
        "(a staff member's answer never shares one with the public's)",
        "schema": {"type": "string"},
    },
    "Last-Modified": {
        "description": "The newest change the answer rests on (for lists and statistics, "
        "the registry's newest change); absent for staff and for the vocabulary and "
        "this document",
        "schema": {"type": "string"},
    },
    "Vary": {
        "description": "Authorization: a token changes the answer",
        "schema": {"type": "string"},
    },
}
_CONDITIONAL_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "If-None-Match",
        "in": "header",
        "description": "ETags of copies the client holds: 304 when one is current",
        "schema": {"type": "string"},
    },
    {
        "name": "If-Modified-Since",
        "in": "header",
        "description": "304 when nothing changed since (to the second; ignored when "
        "If-None-Match is given, and for staff)",
        "schema": {"type": "string"},
    },
]
_NOT_MODIFIED: dict[str, Any] = {
    "description": "Not modified: the client's copy is current; no body",
    "headers": {key: _CACHE_HEADERS[key] for key in ("ETag", "Last-Modified")},
}


def _read(
    summary: str,
    operation_id: str,
    schema: str,
    description: str,
    parameters: list[dict[str, Any]] | None = None,
    errors: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A GET operation answering ``schema`` with an ETag, and 304 to a conditional request."""
    return {
        "get": {
            "summary": summary,
            "operationId": operation_id,
            "parameters": [*(parameters or []), *_CONDITIONAL_PARAMETERS],
            "responses": {
                "200": {
                    "description": description,
                    "headers": _CACHE_HEADERS,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                    },
                },
                "304": _NOT_MODIFIED,
                **(errors or {}),
            },
        }
    }


def release_schema() -> dict[str, Any]:
    """A release: what it holds, what changed since the previous one, its files."""
    count = {"type": "integer", "minimum": 0}
    change_counts = [f"{table}_{kind}" for table, kinds in SECTIONS.items() for kind in kinds]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "version",
            "notes",
            "created_at",
            "previous_version",
            "entry_count",
            "institution_count",
            "changes",
            "url",
            "changelog_url",
            "files",
        ],
        "properties": {
            "version": {"type": "string", "pattern": VERSION_PATTERN.pattern},
            "notes": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "previous_version": {"type": ["string", "null"]},
            "entry_count": count,
            "institution_count": count,
            "changes": {
                "type": "object",
                "description": "Counts of the changelog since the previous release",
                "additionalProperties": False,
                "required": change_counts,
                "properties": dict.fromkeys(change_counts, count),
            },
            "url": {"type": "string", "description": "The release's page"},
            "changelog_url": {"type": "string"},
            "files": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "media_type", "size", "sha256", "url"],
                    "properties": {
                        "name": {"type": "string"},
                        "media_type": {"type": "string"},
                        "size": count,
                        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                        "url": {
                            "type": "string",
                            "description": "The file, served with its SHA-256 as ETag",
                        },
                    },
                },
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    page_params = [
        {
            "name": "page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
        },
        {
            "name": "per_page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 500},
        },
    ]
    filter_params = [
        {
            "name": "country",
            "in": "query",
            "description": "An assigned ISO 3166-1 alpha-2 code (lower case is accepted too)",
            "schema": {"type": "string", "enum": sorted(countries())},
        },
        {"name": "atmp_type", "in": "query", "schema": _enum(AtmpType)},
        {
            "name": "q",
            "in": "query",
            "description": "Words to find in any public field",
            "schema": {"type": "string", "maxLength": 200},
        },
    ]
    filter_params += [
        {
            "name": field.key,
            "in": "query",
            "description": f"{field.label}: entries whose answer is (or, for a multi-choice, "
            "includes) this code",
            "schema": {"type": "string", "enum": [code for code, _ in filter_choices(field)]},
        }
        for field in filter_fields()
    ]
    instant = "ISO 8601, a date or a date and time (no zone means UTC; encode a '+' offset as %2B)"
    examples = {"utc": {"value": "2026-01-31T12:00:00Z"}, "day": {"value": "2026-01-31"}}
    entries_since = {
        "name": "changed_since",
        "in": "query",
        "description": "Entries that changed, or whose institution changed, at or after "
        f"this instant: {instant}",
        "schema": {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ]
        },
        "examples": examples,
    }
    institutions_since = entries_since | {
        "description": "Institutions that changed, or one of whose entries changed (its "
        f"list of active entries may have), at or after this instant: {instant}"
    }
    problem = {
        "description": "A problem document",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }

    def path_id(name: str) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
            }
        ]

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "surveyapp ATMP facility registry",
            "version": "1",
            "description": "Read-only access to the registry of ATMP facilities that "
            "RESTORE D1.4 Table 1 started. Personal data is omitted unless "
            "consent to publish it was recorded. Every answer carrying data has an ETag; "
            "send it back in If-None-Match to get 304 while nothing changed.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{}, {"bearerToken": []}],
        "paths": {
            "/entries": _read(
                "List entries",
                "listEntries",
                "EntryPage",
                "A page of entries",
                [*filter_params, entries_since, *page_params],
                {"400": problem},
            ),
            "/entries/{entry_id}": _read(
                "One entry", "getEntry", "Entry", "The entry", path_id("entry_id"), {"404": problem}
            ),
            "/institutions": _read(
                "List institutions",
                "listInstitutions",
                "InstitutionPage",
                "A page of institutions, by id",
                [institutions_since, *page_params],
                {"400": problem},
            ),
            "/institutions/{institution_id}": _read(
                "One institution",
                "getInstitution",
                "Institution",
                "The institution",
                path_id("institution_id"),
                {
                    "301": {
                        "description": "The institution was merged into another: Location "
                        "names the one it lives on in",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                    "404": problem,
                },
            ),
            "/stats": _read("Registry statistics", "getStats", "Stats", "Counts"),
            "/vocabularies/authorised-atmps": _read(
                "The EU-authorised ATMPs",
                "getAuthorisedAtmps",
                "AuthorisedAtmps",
                "The newest version of the vocabulary",
            ),
            "/releases": _read(
                "List releases",
                "listReleases",
                "ReleaseList",
                "Every release, newest first",
            ),
            "/releases/{version}": _read(
                "One release",
                "getRelease",
                "Release",
                "The release: its counts, changes and files with their SHA-256",
                [
                    {
                        "name": "version",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": VERSION_PATTERN.pattern},
                    }
                ],
                {"404": problem},
            ),
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "getOpenApi",
                    "parameters": _CONDITIONAL_PARAMETERS,
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document",
                            "headers": _CACHE_HEADERS,
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "304": _NOT_MODIFIED,
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Entry": entry_schema(),
                "EntryPage": _page_schema("Entry"),
                "Institution": institution_schema(),
                "InstitutionPage": _page_schema("Institution"),
                "Stats": stats_schema(),
                "AuthorisedAtmps": authorised_atmps_schema(),
                "Release": release_schema(),
                "ReleaseList": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["items"],
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Release"},
                        }
                    },
                },
                "Problem": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "integer"},
                        "title": {"type": "string"},
                        "detail": {"type": "string"},
                    },
                    "required": ["status", "title", "detail"],
                },
            }
        },
    }
