"""Generic fields in the registry's write path: a field a later questionnaire asks is
checked, stored in ``answers``, versioned with its old and new value, restored, edited by a
curator and covered by optimistic locking, with no code of its own."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.history.models import Version
from surveyapp.history.service import Provenance
from surveyapp.registry import service
from surveyapp.registry.models import Entry
from surveyapp.vocabulary import ChangeSource
from tests.forms import form_values

EDIT = Provenance(ChangeSource.STAFF_EDIT, "curator@example.org")


def entry_of_row(row: int) -> Entry:
    return db.session.scalars(select(Entry).where(Entry.source_row == row)).one()


def last_version(entry: Entry) -> Version:
    return db.session.scalars(
        select(Version).where(Version.entry_id == entry.id).order_by(Version.number.desc())
    ).first()


def edit_page(client, kind: str, target_id: int) -> tuple[str, dict[str, object]]:
    url = f"/staff/registry/curate/{kind}/{target_id}/edit"
    html = client.get(url).get_data(as_text=True)
    return html, form_values(html, url)


def test_a_generic_value_is_stored_in_answers_with_its_old_and_new_value_in_the_history(
    table1, test_questionnaires, ctx
):
    entry = entry_of_row(9)
    assert service.controlled_value(entry, "platforms") is None
    service.change_fields(
        entry,
        {
            "platforms": service.FieldUpdate(["aav", "car_t"], ""),
            "partners": service.FieldUpdate(["Charité", "LMU"], ""),
        },
        EDIT,
    )
    db.session.commit()
    db.session.expire_all()
    entry = entry_of_row(9)
    assert entry.answers == {"platforms": ["aav", "car_t"], "partners": ["Charité", "LMU"]}
    assert service.controlled_value(entry, "platforms") == ["aav", "car_t"]
    assert "platforms" not in entry.texts  # the text shown is always the value rendered
    changes = {c.field: c for c in last_version(entry).changes}
    assert (changes["platforms"].old_value, changes["platforms"].new_value) == (
        None,
        ["aav", "car_t"],
    )
    assert changes["platforms"].new_text == "In vivo AAV; CAR-T and other engineered immune cells"
    assert changes["partners"].new_text == "Charité; LMU"

    service.change_fields(entry, {"platforms": service.FieldUpdate(["other"], "")}, EDIT)
    db.session.commit()
    change = last_version(entry_of_row(9)).changes[0]
    assert (change.old_value, change.new_value) == (["aav", "car_t"], ["other"])
    assert change.old_text == "In vivo AAV; CAR-T and other engineered immune cells"


def test_an_unchanged_generic_value_writes_no_version(table1, test_questionnaires, ctx):
    entry = entry_of_row(9)
    service.change_fields(entry, {"description": service.FieldUpdate("Cells.", "")}, EDIT)
    db.session.commit()
    again = service.change_fields(entry, {"description": service.FieldUpdate("Cells.", "")}, EDIT)
    assert again is None


def test_generic_values_are_checked_like_typed_answers(table1, test_questionnaires, ctx):
    entry = entry_of_row(9)
    institution = entry.institution
    with pytest.raises(service.FieldProblems) as refused:
        service.change_fields(
            institution, {"lots_per_year": service.FieldUpdate(20001, "")}, EDIT
        )
    assert "at most 20000" in refused.value.problems["lots_per_year"]
    with pytest.raises(service.FieldProblems):
        service.change_fields(entry, {"platform": service.FieldUpdate("crispr", "")}, EDIT)
    with pytest.raises(service.RegistryError, match="is an entry field"):
        service.change_fields(institution, {"platform": service.FieldUpdate("aav", "")}, EDIT)
    with pytest.raises(service.RegistryError, match="no field of the registry"):
        service.change_fields(entry, {"favourite_colour": service.FieldUpdate("blue", "")}, EDIT)
    db.session.rollback()
    assert entry_of_row(9).answers == {}

    service.change_fields(
        institution,
        {
            "lots_per_year": service.FieldUpdate("12", ""),
            "cleanroom_area": service.FieldUpdate("120.50", ""),
            "authorised_on": service.FieldUpdate("2021-03-01", ""),
        },
        EDIT,
    )
    assert institution.answers == {
        "city": "Würzburg",  # read from the name Table 1 printed
        "lots_per_year": 12,
        "cleanroom_area": "120.5",
        "authorised_on": "2021-03-01",
    }


def test_restoring_an_earlier_version_brings_generic_values_back(table1, test_questionnaires, ctx):
    entry = entry_of_row(9)
    service.change_fields(entry, {"platform": service.FieldUpdate("aav", "")}, EDIT)
    db.session.commit()
    first = last_version(entry).number
    service.change_fields(
        entry,
        {"platform": service.FieldUpdate("car_t", ""), "description": service.FieldUpdate("x", "")},
        EDIT,
    )
    db.session.commit()
    service.restore(entry, first, Provenance(ChangeSource.RESTORE, "curator@example.org"))
    db.session.commit()
    db.session.expire_all()
    assert entry_of_row(9).answers == {"platform": "aav"}
    service.restore(entry_of_row(9), first - 1, Provenance(ChangeSource.RESTORE, "c"))
    db.session.commit()
    assert entry_of_row(9).answers == {}


def test_a_curator_edits_generic_fields_as_text_read_like_an_import(
    client, staff, table1, test_questionnaires, ctx
):
    entry = entry_of_row(9)
    html, values = edit_page(client, "entry", entry.id)
    assert "All platforms" in html and "Any of, separated by" in html
    assert values["platforms"] == ""
    response = client.post(
        f"/staff/registry/curate/entry/{entry.id}/edit",
        data={
            **values,
            "platforms": "in vivo aav; Other",
            "partners": "Charité\nLMU",
            "description": "Autologous cells.",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    entry = entry_of_row(9)
    assert entry.answers == {
        "platforms": ["aav", "other"],
        "partners": ["Charité", "LMU"],
        "description": "Autologous cells.",
    }
    _, values = edit_page(client, "entry", entry.id)
    assert values["platforms"] == "In vivo AAV; Other"
    assert str(values["partners"]).strip() == "Charité; LMU"

    history = client.get(f"/staff/registry/curate/entry/{entry.id}/history").get_data(as_text=True)
    assert "All platforms" in history and "In vivo AAV; Other" in history


def test_an_unreadable_generic_value_is_explained_and_nothing_saved(
    client, staff, table1, test_questionnaires, ctx
):
    institution = entry_of_row(9).institution
    html, values = edit_page(client, "institution", institution.id)
    assert "A whole number, at least 0, at most 20000, batches." in html
    response = client.post(
        f"/staff/registry/curate/institution/{institution.id}/edit",
        data={**values, "lots_per_year": "lots", "gmp": "yes"},
    )
    assert response.status_code == 400
    assert "must be a whole number" in response.get_data(as_text=True)
    db.session.expire_all()
    assert entry_of_row(9).institution.answers == {"city": "Würzburg"}


def test_two_curators_editing_generic_fields_conflict_like_any_other(
    app, client, staff, make_user, table1, test_questionnaires, ctx
):
    from surveyapp.vocabulary import Role
    from tests.conftest import AuthActions

    entry = entry_of_row(9)
    other = app.test_client()
    make_user("second@example.org", Role.CURATOR)
    AuthActions(other).login("second@example.org")
    _, mine = edit_page(client, "entry", entry.id)
    _, theirs = edit_page(other, "entry", entry.id)
    url = f"/staff/registry/curate/entry/{entry.id}/edit"
    assert other.post(url, data={**theirs, "platform": "aav"}).status_code == 302
    response = client.post(url, data={**mine, "platform": "other"})
    assert response.status_code == 409
    db.session.expire_all()
    assert entry_of_row(9).answers == {"platform": "aav"}


def write_rows(path, rows: list[dict[str, str]]) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def exported_rows(client) -> list[dict[str, str]]:
    import csv
    import io

    response = client.get("/registry/export.csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_an_export_with_generic_columns_reimports_and_updates_them(
    client, runner, tmp_path, table1, test_questionnaires, ctx
):
    entry = entry_of_row(9)
    service.change_fields(entry, {"platforms": service.FieldUpdate(["aav", "car_t"], "")}, EDIT)
    service.change_fields(entry.institution, {"gmp": service.FieldUpdate("yes", "")}, EDIT)
    db.session.commit()
    path = tmp_path / "export.csv"
    rows = exported_rows(client)
    write_rows(path, rows)
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "55 unchanged" in result.output

    row = next(r for r in rows if r["source_row"] == "9")
    write_rows(path, [{**row, "platforms": "other; aav", "lots_per_year": "12"}])
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    entry = entry_of_row(9)
    assert entry.answers["platforms"] == ["other", "aav"]
    assert entry.institution.answers == {"city": "Würzburg", "gmp": "yes", "lots_per_year": 12}
    version = last_version(entry)
    assert version.source == ChangeSource.FILE_IMPORT
    assert [(c.field, c.old_value, c.new_value) for c in version.changes] == [
        ("platforms", ["aav", "car_t"], ["other", "aav"])
    ]

    write_rows(path, [{**row, "lots_per_year": "a dozen"}])
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code != 0
    assert "column lots_per_year: must be a whole number" in result.output
