"""The served OpenAPI document, checked against the OpenAPI specification, for every API
test that validates answers against it (see tests/api/schema.py)."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate


@pytest.fixture
def spec(client):
    """The document as the API serves it, valid OpenAPI 3.1."""
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    return document
