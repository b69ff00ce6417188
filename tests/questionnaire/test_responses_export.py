"""Raw responses and non-responders leave the app as spreadsheets for staff."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from surveyapp.campaigns import service
from surveyapp.definitions import table1
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.vocabulary import Role
from tests.campaigns.test_views import coordinator
from tests.conftest import AuthActions


def dangerous(answers) -> None:
    answers["institution"]["institution"] = '=HYPERLINK("http://evil.example")'
    answers["entries"][0]["fields"]["contact_person"] = "Prof. Dr. Ulrich Example"
    answers["entries"][1]["active"] = False


def records(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


def test_staff_download_every_submission_one_row_per_programme_block(
    app, campaign, submit_for, make_user, ctx
):
    submission = submit_for("pullig@example.org", 9, edit=dangerous)
    client = coordinator(app, make_user)
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    url = f"/campaigns/{campaign.id}/export/responses.csv"
    assert url in page
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = records(response.get_data(as_text=True))
    assert len(rows) == 3  # Table 1 rows 9-11: one institution, three programmes
    first = rows[0]
    assert first["submission_id"] == str(submission.id)
    assert first["invitation_id"] == str(submission.invitation_id)
    assert (first["status"], first["version"], first["campaign"]) == (
        "submitted",
        "1",
        "Registry update 2026",
    )
    assert first["submitted_at"].startswith(submission.submitted_at.date().isoformat())
    assert first["institution"] == '\'=HYPERLINK("http://evil.example")'
    assert {r["institution"] for r in rows} == {first["institution"]}  # repeated per block
    assert [r["block"] for r in rows] == ["1", "2", "3"]
    assert [r["block_active"] for r in rows] == ["yes", "no", "yes"]
    assert all(r["entry_id"] for r in rows)
    assert first["contact_person"] == "Prof. Dr. Ulrich Example"  # personal, for staff
    assert first["respondent_email"] == "pullig@example.org"
    assert len(set(rows[0])) == len(next(csv.reader(io.StringIO(response.get_data(as_text=True)))))
    for key in ("atmp_type", "atmp_type_other", "patients_treated_estimate", "diseases_targeted"):
        assert key in first
    assert set(table1().table1_columns) - {"atmp_type", "patients_treated"} <= set(first)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "campaign.export_responses")
    ).one()
    assert (event.actor, event.target_id) == ("coord@example.org", campaign.id)


def test_the_cli_writes_xlsx_with_no_formula_cell(campaign, submit_for, runner, tmp_path, ctx):
    submit_for("pullig@example.org", 9, edit=dangerous)
    path = tmp_path / "responses.xlsx"
    result = runner.invoke(
        args=[
            "campaigns",
            "export-responses",
            "Registry update 2026",
            str(path),
            "--format",
            "xlsx",
        ]
    )
    assert result.exit_code == 0, result.output
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    header, first = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert header[0] == "submission_id" and len(rows) == 4
    assert first["institution"] == '\'=HYPERLINK("http://evil.example")'
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_non_responders_with_their_invitation_state(
    app, campaign, submit_for, make_contact, make_user, runner, tmp_path, ctx
):
    submit_for("answered@example.org", 4)
    make_contact("silent@example.org", 3, name="Dr. Silent")
    service.invite(campaign, actor="test")
    db.session.commit()
    path = tmp_path / "silent.csv"
    result = runner.invoke(
        args=["campaigns", "export-non-responders", "Registry update 2026", str(path)]
    )
    assert result.exit_code == 0, result.output
    (row,) = records(path.read_text(encoding="utf-8"))
    assert (row["contact_email"], row["contact_name"], row["status"]) == (
        "silent@example.org",
        "Dr. Silent",
        "queued",
    )
    assert row["institution"] and row["expires_at"]
    client = coordinator(app, make_user)
    web = client.get(f"/campaigns/{campaign.id}/export/non-responders.xlsx")
    assert web.status_code == 200
    sheet = load_workbook(io.BytesIO(web.data)).active
    assert [r[1] for r in sheet.iter_rows(values_only=True)] == [
        "contact_email",
        "silent@example.org",
    ]


def test_curators_and_the_public_get_no_responses(app, campaign, make_user, client, ctx):
    url = f"/campaigns/{campaign.id}/export/responses.csv"
    assert client.get(url).status_code == 302  # to the login page
    make_user("cura@example.org", Role.CURATOR)
    curator = AuthActions(app.test_client())
    curator.login("cura@example.org")
    assert curator.client.get(url).status_code == 403
