"""The one check of an API answer against the served OpenAPI document, for every API test."""

from __future__ import annotations

from typing import Any

import jsonschema


def check(spec: dict[str, Any], schema_name: str, instance: Any) -> None:
    """Validate a response body against a schema of the served OpenAPI document."""
    jsonschema.validate(
        instance,
        {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]},
        cls=jsonschema.Draft202012Validator,
    )
