"""Review fixtures: submitted questionnaires for Table 1 institutions, and the review page."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.questionnaire.models import Submission
from tests.forms import form_values

Answers = dict[str, Any]


def review_form(client, submission_id: int, query: str = "") -> dict[str, object]:
    """The decision form of a review page as the browser would send it unchanged."""
    html = client.get(f"/staff/review/{submission_id}{query}").get_data(as_text=True)
    values = form_values(html, f"/staff/review/{submission_id}/decide")
    assert values, "the review page has no decision form"
    return values


def decide(client, submission_id: int, button: str, query: str = "", **changes: object):
    """Post the review page's decision form with a button and some fields changed."""
    values = review_form(client, submission_id, query)
    return client.post(
        f"/staff/review/{submission_id}/decide", data={**values, **changes, button: "y"}
    )


def take(client, submission_id: int):
    """Press "take into review" on the review page."""
    html = client.get(f"/staff/review/{submission_id}").get_data(as_text=True)
    values = form_values(html, f"/staff/review/{submission_id}/take")
    return client.post(f"/staff/review/{submission_id}/take", data=values)


def choice(path: str) -> str:
    """The form name of a row's value choice, e.g. choice("entries.0.website")."""
    return "choice__" + path.replace(".", "__")


def custom(path: str) -> str:
    """The form name of a row's corrected value."""
    return "custom__" + path.replace(".", "__")


def comment(path: str) -> str:
    """The form name of a row's comment."""
    return "comment__" + path.replace(".", "__")


def visible_text(html: str) -> str:
    """The page without tags, for reading what a person sees."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def suggest(client, **fields: str) -> Submission:
    """Send the public suggestion form (a new facility unless fields say otherwise) and,
    when it gives an email address, confirm it by the link as its sender would."""
    from tests.conftest import csrf_token
    from tests.questionnaire.test_widening import SUGGESTION, confirm_suggestion

    data = {**SUGGESTION, **fields, "csrf_token": csrf_token(client, "/suggest/")}
    response = client.post("/suggest/", data=data)
    assert response.status_code == 200, response.get_data(as_text=True)
    sent = db.session.scalars(select(Submission).order_by(Submission.id.desc())).first()
    if sent.submitter_email:
        confirm_suggestion(client, sent)
    return sent
