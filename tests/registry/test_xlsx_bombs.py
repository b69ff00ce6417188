"""The registry import refuses crafted XLSX workbooks at once, from the command line and
the staff page alike, and stores nothing: the outside test's dimension and shared-string
bombs (built in :mod:`tests.test_tabular`) end with a message naming the problem."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from surveyapp.definitions import table1 as definition
from surveyapp.extensions import db
from surveyapp.history.models import Version
from surveyapp.registry.models import Entry, Institution
from surveyapp.vocabulary import Role
from tests.conftest import AuthActions, csrf_token
from tests.test_tabular import dimension_bomb, shared_string_bomb

HEADER = [*definition().table1_columns]


def stored() -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count(Institution.id))),
        db.session.scalar(select(func.count(Entry.id))),
        db.session.scalar(select(func.count(Version.id))),
    )


def test_the_command_refuses_a_workbook_declaring_a_huge_range(runner, tmp_path, ctx):
    path = dimension_bomb(tmp_path / "wide.xlsx", *HEADER)
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 1
    assert "wide.xlsx was not imported" in result.output
    assert "the sheet spans A1:XFD200000, more than an import reads" in result.output
    assert stored() == (0, 0, 0)


def test_the_command_refuses_a_workbook_unpacking_to_64_mib(runner, tmp_path, ctx):
    path = shared_string_bomb(tmp_path / "strings.xlsx", *HEADER)
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 1
    assert "the workbook unpacks to more than 50 MB" in result.output
    assert stored() == (0, 0, 0)


def test_the_staff_page_refuses_both_bombs_and_stores_nothing(app, make_user, tmp_path, ctx):
    make_user("cur@example.org", Role.CURATOR)
    curator = AuthActions(app.test_client())
    curator.login("cur@example.org")
    token = csrf_token(curator.client, "/staff/registry/import/")
    for bomb, expected in (
        (dimension_bomb(tmp_path / "wide.xlsx", *HEADER), "the sheet spans A1:XFD200000"),
        (shared_string_bomb(tmp_path / "strings.xlsx", *HEADER), "unpacks to more than 50 MB"),
    ):
        response = curator.client.post(
            "/staff/registry/import/",
            data={"csrf_token": token, "file": (io.BytesIO(bomb.read_bytes()), bomb.name)},
            content_type="multipart/form-data",
        )
        assert response.status_code == 400
        assert expected in response.get_data(as_text=True)
    assert stored() == (0, 0, 0)
