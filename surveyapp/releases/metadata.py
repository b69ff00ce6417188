"""How a release describes itself: a Frictionless Data Package and a CITATION.cff.

The data package's table schema is generated from the questionnaire definitions in use
(the same fields the export writes, each with the type its answers have), so a reader's
tools check every column's type without reading our code; the citation file is what
GitHub, Zenodo and reference managers read to cite the release.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app

from surveyapp.definitions import FieldDefinition, registry_fields
from surveyapp.registry import export
from surveyapp.vocabulary import Answer, EntryStatus, PatientsQualifier

LICENSE = {
    "name": "CC-BY-4.0",
    "title": "Creative Commons Attribution 4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
}
SOURCE = {
    "title": "RESTORE deliverable D1.4, Table 1: list of the ATMP facilities available",
}
# Frictionless types of the columns every export has, beyond the definitions' fields.
_INTEGER = {"type": "integer"}
_DATETIME = {"type": "datetime"}
_CODES = {"type": "string", "description": "Codes separated by '; '."}
FIXED_COLUMNS: dict[str, dict[str, Any]] = {
    "source_row": {**_INTEGER, "description": "Row of RESTORE D1.4 Table 1, if from there."},
    "entry_id": {**_INTEGER, "description": "The registry's internal number of the entry."},
    "public_id": {
        "type": "string",
        "description": "The entry's permanent identifier; cite it as <site>/id/<public_id>.",
        "constraints": {"required": True, "unique": True},
    },
    "institution_id": {**_INTEGER, "description": "The registry's number of the institution."},
    "institution_public_id": {
        "type": "string",
        "description": "The institution's permanent identifier.",
        "constraints": {"required": True},
    },
    "status": {"type": "string", "constraints": {"enum": [s.value for s in EntryStatus]}},
    "country_code": {"type": "string", "constraints": {"pattern": "[A-Z]{2}"}},
    "atmp_types": _CODES,
    "atmp_other": {"type": "string"},
    "patients_estimate": _INTEGER,
    "patients_qualifier": {
        "type": "string",
        "constraints": {"enum": [q.value for q in PatientsQualifier]},
    },
    "disease_areas": _CODES,
    "contract_research_value": {
        "type": "string",
        "constraints": {"enum": [a.value for a in Answer]},
    },
    "routine_application_value": {
        "type": "string",
        "constraints": {"enum": [a.value for a in Answer]},
    },
    "needs_curation": {"type": "boolean", "trueValues": ["yes"], "falseValues": ["no"]},
    "last_changed": {**_DATETIME, "description": "When the entry last changed."},
    "last_confirmed": {**_DATETIME, "description": "When its institution last confirmed it."},
}
INSTITUTION_COLUMNS: dict[str, dict[str, Any]] = {
    "id": {**_INTEGER, "description": "The registry's number of the institution."},
    "public_id": {
        "type": "string",
        "description": "The institution's permanent identifier.",
        "constraints": {"required": True, "unique": True},
    },
    "replaced_by": {**_INTEGER, "description": "Merged: the institution it lives on in."},
    "replaced_by_public_id": {"type": "string", "description": "Its permanent identifier."},
    "country_code": {"type": "string", "constraints": {"pattern": "[A-Z]{2}"}},
    "entries": {"type": "string", "description": "Ids of its active entries, '; '-separated."},
    "last_changed": {**_DATETIME, "description": "When the institution last changed."},
}
# Types of the definitions' fields as they appear in a CSV cell.
FIELD_TYPES: dict[str, dict[str, Any]] = {
    "integer": {"type": "integer"},
    "decimal": {"type": "number"},
    "date": {"type": "date"},
    "multi_choice": _CODES,
    "text_list": {"type": "string", "description": "Items separated by '; '."},
}


def field_schema(name: str, definition: FieldDefinition | None) -> dict[str, Any]:
    """One column of the table schema: a fixed column's type, or the type of the field the
    definitions give it (text where a cell holds shown text)."""
    schema: dict[str, Any] = {"name": name}
    if name in FIXED_COLUMNS:
        return schema | FIXED_COLUMNS[name]
    if definition is None:
        return schema | {"type": "string"}
    typed = FIELD_TYPES.get(definition.type, {"type": "string"}) if not definition.in_table1 else {}
    schema |= {"type": "string", "title": definition.label} | typed
    if definition.unit:
        schema["description"] = f"Unit: {definition.unit}."
    return schema


def entries_schema() -> dict[str, Any]:
    """The table schema of ``registry.csv``, column for column as the export writes it."""
    fields = {f.key: f for f in registry_fields()}
    return {
        "fields": [
            field_schema(column, fields.get(column)) for column in export.export_columns(False)
        ],
        "missingValues": [""],
        "primaryKey": ["public_id"],
    }


def institutions_schema(columns: list[str]) -> dict[str, Any]:
    """The table schema of ``institutions.csv``."""
    fields = {f.key: f for f in registry_fields()}
    return {
        "fields": [
            {"name": column, **INSTITUTION_COLUMNS[column]}
            if column in INSTITUTION_COLUMNS
            else field_schema(column, fields.get(column))
            for column in columns
        ],
        "missingValues": [""],
        "primaryKey": ["public_id"],
    }


def _people() -> list[str]:
    return list(current_app.config["RELEASE_AUTHORS"])


def datapackage(
    version: str, created_at: datetime, notes: str, institution_columns: list[str]
) -> dict[str, Any]:
    """The ``datapackage.json`` of a release (Frictionless Data Package v1)."""
    title = current_app.config["RELEASE_TITLE"]
    return {
        "name": "atmp-facility-registry",
        "title": title,
        "description": notes.strip() or f"{title}, release {version}.",
        "version": version,
        "created": created_at.isoformat(timespec="seconds"),
        "homepage": current_app.config["SITE_URL"].rstrip("/") + "/releases/" + version,
        "licenses": [LICENSE],
        "sources": [SOURCE],
        "contributors": [{"title": name, "role": "author"} for name in _people()],
        "resources": [
            {
                "name": "entries",
                "path": "registry.csv",
                "title": "Entries: one programme or ATMP type of an institution",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": entries_schema(),
            },
            {
                "name": "institutions",
                "path": "institutions.csv",
                "title": "Institutions",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": institutions_schema(institution_columns),
            },
        ],
    }


def write_datapackage(
    folder: Path, version: str, created_at: datetime, notes: str, institution_columns: list[str]
) -> None:
    """Write ``datapackage.json`` into the release folder."""
    descriptor = datapackage(version, created_at, notes, institution_columns)
    with (folder / "datapackage.json").open("w", encoding="utf-8") as handle:
        json.dump(descriptor, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def citation(version: str, created_at: datetime) -> str:
    """``CITATION.cff`` (Citation File Format 1.2.0) for a release."""
    site = current_app.config["SITE_URL"].rstrip("/")
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use this release of the registry, please cite it as below."',
        "type: dataset",
        f"title: {json.dumps(current_app.config['RELEASE_TITLE'], ensure_ascii=False)}",
        f'version: "{version}"',
        f"date-released: {created_at.date().isoformat()}",
        "license: CC-BY-4.0",
        f'url: "{site}/releases/{version}"',
        "authors:",
        *(f"  - name: {json.dumps(name, ensure_ascii=False)}" for name in _people()),
        "references:",
        "  - type: report",
        f"    title: {json.dumps(SOURCE['title'])}",
        "    authors:",
        '      - name: "RESTORE consortium"',
    ]
    return "\n".join(lines) + "\n"


def write_citation(folder: Path, version: str, created_at: datetime) -> None:
    """Write ``CITATION.cff`` into the release folder."""
    (folder / "CITATION.cff").write_text(citation(version, created_at), encoding="utf-8")
