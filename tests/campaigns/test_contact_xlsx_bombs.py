"""Contact imports refuse crafted XLSX workbooks at once, from the command line and the
contacts page alike, and store nothing; the row limit they read up to is the setting
IMPORT_MAX_ROWS, as for the registry import."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from surveyapp.campaigns.models import Contact
from surveyapp.extensions import db
from tests.campaigns.test_views import coordinator
from tests.conftest import csrf_token
from tests.test_tabular import cell, dimension_bomb, header, row, shared_string_bomb, workbook


def contacts() -> int:
    return db.session.scalar(select(func.count(Contact.id)))


def test_the_command_refuses_both_bombs(runner, tmp_path, ctx):
    for bomb, expected in (
        (dimension_bomb(tmp_path / "wide.xlsx", "email"), "the sheet spans A1:XFD200000"),
        (shared_string_bomb(tmp_path / "strings.xlsx", "email"), "unpacks to more than 50 MB"),
    ):
        result = runner.invoke(args=["contacts", "import", str(bomb)])
        assert result.exit_code == 1
        assert f"{bomb.name} was not imported" in result.output
        assert expected in result.output
    assert contacts() == 0


def test_the_contacts_page_refuses_both_bombs(app, make_user, tmp_path, ctx):
    client = coordinator(app, make_user)
    token = csrf_token(client, "/contacts/")
    for bomb, expected in (
        (dimension_bomb(tmp_path / "wide.xlsx", "email"), "the sheet spans A1:XFD200000"),
        (shared_string_bomb(tmp_path / "strings.xlsx", "email"), "unpacks to more than 50 MB"),
    ):
        response = client.post(
            "/contacts/import",
            data={"csrf_token": token, "file": (io.BytesIO(bomb.read_bytes()), bomb.name)},
            content_type="multipart/form-data",
        )
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "nothing was imported" in page and expected in page
    assert contacts() == 0


def test_a_sheet_reaching_past_the_row_limit_is_refused(app, runner, tmp_path, ctx, monkeypatch):
    """A sheet that declares nothing but has a cell a million rows down is read only as
    far as the row limit."""
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 10)
    path = workbook(
        tmp_path / "long.xlsx",
        [
            header("email"),
            row(2, cell("A2", "a@example.org")),
            row(1_000_000, cell("A1000000", "b@example.org")),
        ],
    )
    result = runner.invoke(args=["contacts", "import", str(path)])
    assert result.exit_code == 1
    assert "row 12: more than 10 rows" in result.output
    assert contacts() == 0
