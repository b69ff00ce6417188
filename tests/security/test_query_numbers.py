"""Numbers too large for the database in query strings get a page, never a 500 (issue 17:
?page=999... on a staff list, ?institution=999... on the suggestion form raised in the
database driver). Every page is asked once with every numeric parameter the pages read."""

from __future__ import annotations

import pytest

from surveyapp.pagination import MAX_PAGE, page_number
from surveyapp.routing import MAX_ID, id_from
from tests.security.test_requests import concrete

HUGE = "9" * 30
NUMERIC_PARAMETERS = (
    "page",
    "per_page",
    "days",
    "older_than",
    "size",
    "institution",
    "institution_id",
    "contact_id",
    "merge_into",
    "target_id",
    "campaign",
    "patients_min",
    "old",
    "new",
)


@pytest.mark.parametrize("number", [HUGE, "-" + HUGE, "²", "1e9999"])
def test_every_page_answers_odd_numbers_in_its_query_without_failing(
    app,
    client,
    everything,
    number,
):
    query = "&".join(f"{name}={number}" for name in NUMERIC_PARAMETERS)
    failing = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("auth.logout", "static"):
            continue
        url = f"{concrete(rule, everything)}?{query}"
        if client.get(url).status_code >= 500:
            failing.append(rule.rule)
    assert failing == []


def test_ids_and_page_numbers_are_read_within_range():
    assert [id_from(raw) for raw in ("12", str(MAX_ID), str(MAX_ID + 1), HUGE, "²", "")] == [
        12,
        MAX_ID,
        None,
        None,
        None,
        None,
    ]
    assert [page_number(raw) for raw in ("3", "0", HUGE, "²", None)] == [3, 1, MAX_PAGE, 1, 1]
