"""Admins view and filter the audit log; exports are audited."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.history.service import audit
from surveyapp.vocabulary import Role
from tests.conftest import AuthActions


def test_admins_filter_the_audit_log(app, client, make_user, auth, ctx):
    audit("registry.export", "curator@example.org", format="csv")
    audit("user.create", "boss@example.org", email="x@example.org")
    db.session.commit()
    make_user("boss@example.org", Role.ADMIN)
    auth.login("boss@example.org")
    html = client.get("/admin/audit/?action=registry.export").get_data(as_text=True)
    assert "curator@example.org" in html
    assert "x@example.org" not in html
    html = client.get("/admin/audit/?actor=boss").get_data(as_text=True)
    assert "x@example.org" in html and "format: csv" not in html
    html = client.get("/admin/audit/?since=2999-01-01").get_data(as_text=True)
    assert "No events match." in html


def test_a_staff_export_has_contacts_and_is_audited(client, staff, table1, ctx):
    response = client.get("/staff/registry/export.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows[3]["contact_person"] == "Dr. Inge Marie Svane"
    assert "contact_email" in rows[0]
    assert rows[3]["needs_curation"] == "yes"
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "registry.export", AuditEvent.actor == staff)
    )
    assert event.detail["include_personal"] is True


def test_a_public_export_is_audited_without_contacts(client, table1, ctx):
    rows = list(
        csv.DictReader(io.StringIO(client.get("/registry/export.csv").get_data(as_text=True)))
    )
    assert all(r["contact_person"] == "" for r in rows)
    assert all(r["needs_curation"] == "" for r in rows)
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.export"))
    assert (event.actor, event.detail["include_personal"]) == ("anonymous", False)


def test_curators_import_files_through_the_page(app, make_user, table1, tmp_path, ctx):
    make_user("cur@example.org", Role.CURATOR)
    curator = AuthActions(app.test_client())
    curator.login("cur@example.org")
    from tests.conftest import csrf_token

    token = csrf_token(curator.client, "/staff/registry/import/")
    body = (
        "institution,contact_person,country,website,atmp_type,patients_treated,"
        "diseases_targeted,diseases_pipeline,contract_research,routine_application\n"
        "Page Import Lab,,Austria,,Gene therapy,12,,,Maybe,\n"
    )
    response = curator.client.post(
        "/staff/registry/import/",
        data={"csrf_token": token, "file": (io.BytesIO(body.encode()), "new.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "row 2, column contract_research: &#39;Maybe&#39;" in response.get_data(as_text=True)
    response = curator.client.post(
        "/staff/registry/import/",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(body.replace("Maybe", "Yes").encode()), "new.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "1 institution and 1 entry created" in response.get_data(as_text=True)
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "registry.import_file")
    )
    assert event.actor == "cur@example.org"


def test_staff_see_the_curation_list(client, staff, table1):
    html = client.get("/staff/registry/curation").get_data(as_text=True)
    assert "no country is named &#39;Republic of&#39;" in html
    assert "Possible duplicate" in html
