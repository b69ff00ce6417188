"""Two curators at the same moment, on real separate connections (SQLite and PostgreSQL):
the first decision or edit wins, the second gets the conflict page, nothing is overwritten."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.questionnaire.models import Submission
from surveyapp.registry.models import Entry
from surveyapp.review.models import Review
from surveyapp.vocabulary import Role, SubmissionStatus
from tests.conftest import AuthActions
from tests.forms import form_values
from tests.review.conftest import choice, custom, review_form

pytestmark = pytest.mark.committed


def curator_client(app, make_user, email: str):
    client = app.test_client()
    make_user(email, Role.CURATOR)
    assert AuthActions(client).login(email).status_code == 302
    return client


def at_once(*calls):
    """Run the calls in threads released together; their results in order."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call) -> None:
        start.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_curators_approving_one_submission_at_once(app, make_user, submit_for):
    def edit(answers):
        answers["entries"][0]["fields"]["patients_treated"] = {"estimate": 95, "qualifier": None}

    submission_id = submit_for("pullig@example.org", 9, edit=edit).id
    db.session.commit()  # reading the id began a transaction: SQLite would stay locked
    first = curator_client(app, make_user, "first@example.org")
    second = curator_client(app, make_user, "second@example.org")
    path = "entries.0.patients_treated"
    forms = {
        first: {
            **review_form(first, submission_id),
            choice(path): "custom",
            custom(path): "101",
            "approve": "y",
        },
        second: {
            **review_form(second, submission_id),
            choice(path): "custom",
            custom(path): "202",
            "approve": "y",
        },
    }
    url = f"/staff/review/{submission_id}/decide"
    responses = at_once(
        lambda: first.post(url, data=forms[first]), lambda: second.post(url, data=forms[second])
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [302, 409], [r.get_data(as_text=True)[:500] for r in responses]
    loser = next(r for r in responses if r.status_code == 409).get_data(as_text=True)
    assert "Someone else was quicker" in loser
    assert "nothing was overwritten" in loser
    winner = "first@example.org" if responses[0].status_code == 302 else "second@example.org"
    with app.app_context():
        reviews = db.session.scalars(select(Review)).all()
        assert [r.curator for r in reviews] == [winner]
        entry = db.session.scalars(select(Entry).where(Entry.source_row == 9)).one()
        assert entry.patients_estimate == (101 if winner.startswith("first") else 202)
        assert db.session.get(Submission, submission_id).status == SubmissionStatus.APPROVED


def test_two_curators_editing_one_entry_at_once(app, make_user, table1):
    with app.app_context():
        entry_id = db.session.scalars(select(Entry.id).where(Entry.source_row == 9)).one()
    first = curator_client(app, make_user, "first@example.org")
    second = curator_client(app, make_user, "second@example.org")
    url = f"/staff/registry/curate/entry/{entry_id}/edit"
    mine = form_values(first.get(url).get_data(as_text=True), url)
    theirs = form_values(second.get(url).get_data(as_text=True), url)
    responses = at_once(
        lambda: first.post(url, data={**mine, "patients_treated": "111"}),
        lambda: second.post(url, data={**theirs, "patients_treated": "222"}),
    )
    assert sorted(r.status_code for r in responses) == [302, 409]
    kept = 111 if responses[0].status_code == 302 else 222
    with app.app_context():
        assert db.session.get(Entry, entry_id).patients_estimate == kept


def test_a_decision_after_someone_else_took_the_submission_over(app, make_user, submit_for):
    submission_id = submit_for("pullig@example.org", 9).id
    db.session.commit()  # reading the id began a transaction: SQLite would stay locked
    first = curator_client(app, make_user, "first@example.org")
    second = curator_client(app, make_user, "second@example.org")
    stale = review_form(second, submission_id)
    page = first.get(f"/staff/review/{submission_id}").get_data(as_text=True)
    take = form_values(page, f"/staff/review/{submission_id}/take")
    assert first.post(f"/staff/review/{submission_id}/take", data=take).status_code == 302
    response = second.post(
        f"/staff/review/{submission_id}/decide", data={**stale, "reject": "y", "reason": "x"}
    )
    assert response.status_code == 409
    assert "assigned to first@example.org" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Submission, submission_id).status == SubmissionStatus.IN_REVIEW
