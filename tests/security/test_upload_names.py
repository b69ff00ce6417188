"""A NUL character in an uploaded file's name is refused with the same clear 400 as one in
any other field, on every upload form (it used to end as a server error when the upload
was saved under its name)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from surveyapp.campaigns.models import Contact
from surveyapp.extensions import db
from surveyapp.vocabulary import Role
from tests.conftest import AuthActions, csrf_token

UPLOAD_FORMS = [
    ("/staff/registry/import/", "/staff/registry/import/"),
    ("/contacts/import", "/contacts/"),
]


@pytest.fixture
def coordinator_client(app, make_user):
    make_user("coord@example.org", Role.COORDINATOR, Role.CURATOR)
    actions = AuthActions(app.test_client())
    actions.login("coord@example.org")
    return actions.client


@pytest.mark.parametrize(("action", "page"), UPLOAD_FORMS)
def test_a_nul_in_an_uploaded_file_name_gets_a_clear_400(coordinator_client, ctx, action, page):
    response = coordinator_client.post(
        action,
        data={
            "csrf_token": csrf_token(coordinator_client, page),
            "file": (io.BytesIO(b"email\nnul@example.org\n"), "con\x00tacts.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Contact.id))) == 0


def test_a_nul_in_a_repeated_field_is_refused_too(client, table1):
    token = csrf_token(client, "/suggest/")
    response = client.post(
        "/suggest/",
        data={"institution": ["Lab", "Lab\x00"], "csrf_token": token},
    )
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
