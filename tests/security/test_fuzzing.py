"""Malformed input gets a clear 4xx, never a 500: the API fuzzed by schemathesis from its
own OpenAPI document, the forms by hypothesis. Bounded examples and a fixed seed keep it
fast and repeatable (derandomize=True)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from surveyapp.extensions import db
from tests.conftest import csrf_token

FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def api_operations():
    """The API's operations as documented by its own OpenAPI document (read once)."""
    from surveyapp import create_app

    app = create_app("testing")
    with app.app_context():  # the document names the newest recorded vocabulary versions
        db.create_all()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    cases = []
    for result in schema.get_all_operations():
        operation = result.ok()
        cases.append((operation.label, GenerationMode.POSITIVE))
        # Only query and path parameters can be made invalid; the conditional-request
        # headers every GET documents (If-None-Match, If-Modified-Since) take any text.
        if any(p.location in ("query", "path") for p in operation.iter_parameters()):
            cases.append((operation.label, GenerationMode.NEGATIVE))
    return cases


@pytest.mark.parametrize(("label", "mode"), api_operations())
def test_the_api_answers_generated_requests_as_documented(app, table1, label, mode):
    """Every response matches the document (status, content type, body schema) and no
    request, valid or not, gets a server error. Schemathesis' own pytest plugin does not
    run under pytest 9, so its strategies drive hypothesis directly."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = next(r.ok() for r in schema.get_all_operations() if r.ok().label == label)

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call()
        assert response.status_code < 500, case.as_curl_command()
        if mode == GenerationMode.POSITIVE:
            case.validate_response(response)
        else:
            assert response.status_code < 500

    run()


text = st.text(max_size=300) | st.sampled_from(["", " ", "0", "-1", "1e309", "x" * 5000])


@FUZZ
@given(
    q=text,
    country=text,
    atmp_type=text,
    page=text,
    sort=text,
    needs_curation=text,
)
def test_registry_filters_never_fail(
    client, table1, q, country, atmp_type, page, sort, needs_curation
):
    response = client.get(
        "/",
        query_string={
            "q": q,
            "country": country,
            "atmp_type": atmp_type,
            "page": page,
            "sort": sort,
            "needs_curation": needs_curation,
        },
    )
    assert response.status_code < 500


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "institution",
                "country",
                "website",
                "note",
                "your_name",
                "your_email",
                "consent_store",
            ]
        ),
        text,
    )
)
def test_the_suggestion_form_never_fails(client, table1, fields):
    token = csrf_token(client, "/suggest/")
    response = client.post("/suggest/", data={**fields, "csrf_token": token})
    assert response.status_code in (200, 400, 429)


@FUZZ
@given(payload=st.binary(max_size=400))
def test_invalid_utf8_and_garbage_bodies_get_4xx(client, table1, payload):
    token = csrf_token(client, "/suggest/")
    response = client.post(
        "/suggest/",
        data=b"csrf_token=" + token.encode() + b"&institution=" + payload,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (200, 400, 429)


@FUZZ
@given(data=st.dictionaries(st.text(max_size=60), text, max_size=12))
def test_the_questionnaire_never_fails_on_odd_fields(client, invited_token, data):
    token = csrf_token(client, f"/i/{invited_token}/form")
    response = client.post(
        f"/i/{invited_token}/form", data={**data, "csrf_token": token, "save": "y"}
    )
    assert response.status_code in (200, 400, 409)


@pytest.fixture
def invited_token(invited):
    return invited(9)


def test_deeply_nested_json_gets_a_clear_4xx(client, table1):
    """No endpoint parses JSON bodies; sending one anywhere is refused, not parsed."""
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/entries", data=body, content_type="application/json")
    assert 400 <= response.status_code < 500
