"""Importing contacts, and linking them to registry institutions."""

from __future__ import annotations

from sqlalchemy import func, select

from surveyapp.campaigns.models import Contact, ContactLink
from surveyapp.extensions import db
from surveyapp.vocabulary import LinkStatus
from tests.conftest import institution_of_row, write_csv

HEADER = ["institution", "contact_person", "email", "country", "language", "institution_id"]


def test_bad_rows_are_listed_and_good_rows_kept(table1, runner, tmp_path, ctx):
    herlev = institution_of_row(4)
    path = write_csv(
        tmp_path / "contacts.csv",
        HEADER,
        [
            [
                "Herlev CCIT",
                "Dr. Inge Marie Svane",
                "inge@example.org",
                "Denmark",
                "da",
                str(herlev.id),
            ],
            ["Somewhere", "No Mail", "not-an-address", "France", "fr", ""],
            ["Somewhere", "Bad Country", "bad.country@example.org", "Atlantis", "en", ""],
            ["Somewhere", "Bad Language", "bad.language@example.org", "France", "Klingonish", ""],
            ["Somewhere", "Bad Id", "bad.id@example.org", "France", "fr", "999999"],
            ["Herlev again", "Twice", "INGE@example.org", "Denmark", "da", ""],
            ["Galway CCMI", "Andrew Example", "andrew@example.org", "IE", "en", ""],
        ],
    )
    result = runner.invoke(args=["contacts", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 contacts imported, 0 updated, 0 unchanged, 5 rows skipped" in result.output
    for expected in (
        "row 3, column email: An email address must have an @-sign.",
        "row 4, column country: no country is named 'Atlantis'",
        "row 5, column language: 'Klingonish' is not a language",
        "row 6, column institution_id: no registry institution has id '999999'",
        "row 7, column email: inge@example.org appears earlier in the file",
    ):
        assert expected in result.output
    inge = db.session.scalars(select(Contact).where(Contact.email == "inge@example.org")).one()
    assert inge.language == "da" and inge.country_code == "DK"
    assert [i.id for i in inge.confirmed_institutions] == [herlev.id]


def test_a_reimport_updates_rather_than_duplicates(table1, runner, tmp_path, ctx):
    first = write_csv(
        tmp_path / "a.csv", HEADER, [["X", "Old Name", "a@example.org", "FR", "fr", ""]]
    )
    second = write_csv(
        tmp_path / "b.csv", HEADER, [["X", "New Name", "A@Example.org", "FR", "fr", ""]]
    )
    runner.invoke(args=["contacts", "import", str(first)])
    result = runner.invoke(args=["contacts", "import", str(second)])
    assert "0 contacts imported, 1 updated" in result.output
    assert db.session.scalar(select(func.count(Contact.id))) == 1
    assert db.session.scalars(select(Contact)).one().name == "New Name"


def test_table1_names_get_proposed_institutions(table1, runner, tmp_path, ctx):
    path = write_csv(
        tmp_path / "c.csv",
        HEADER,
        [
            [
                "CCMI, National University of Ireland Galway",
                "Andrew",
                "andrew@example.org",
                "Ireland",
                "en",
                "",
            ],
            ["Rizzoli", "Someone", "someone@ior.it", "Italy", "it", ""],
            ["Unknown Lab", "Nobody", "nobody@gmail.com", "Malta", "en", ""],
        ],
    )
    result = runner.invoke(args=["contacts", "import", str(path)])
    assert result.exit_code == 0, result.output

    def proposed(email: str) -> set[int]:
        contact = db.session.scalars(select(Contact).where(Contact.email == email)).one()
        return {link.institution_id for link in contact.links if link.status == LinkStatus.PROPOSED}

    assert institution_of_row(16).id in proposed("andrew@example.org")
    assert institution_of_row(17).id in proposed("andrew@example.org")
    assert {institution_of_row(r).id for r in (24, 30, 31)} <= proposed("someone@ior.it")
    assert proposed("nobody@gmail.com") == set()


def test_coordinators_confirm_and_reject_proposals_in_one_screen(
    app, make_user, table1, tmp_path, runner, ctx
):
    from surveyapp.vocabulary import Role
    from tests.conftest import AuthActions, csrf_token

    path = write_csv(
        tmp_path / "c.csv",
        HEADER,
        [
            [
                "CCMI, National University of Ireland Galway",
                "Andrew",
                "andrew@example.org",
                "Ireland",
                "en",
                "",
            ]
        ],
    )
    runner.invoke(args=["contacts", "import", str(path)])
    links = db.session.scalars(select(ContactLink)).all()
    assert len(links) >= 2
    make_user("coord@example.org", Role.COORDINATOR)
    coordinator = AuthActions(app.test_client())
    coordinator.login("coord@example.org")
    page = coordinator.client.get("/contacts/links").get_data(as_text=True)
    assert "CCMI, National University of Ireland, Galway" in page
    keep, drop = links[0], links[1]
    response = coordinator.client.post(
        "/contacts/links",
        data={
            "csrf_token": csrf_token(coordinator.client, "/contacts/links"),
            f"link-{keep.contact_id}-{keep.institution_id}": "confirm",
            f"link-{drop.contact_id}-{drop.institution_id}": "reject",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ContactLink, (keep.contact_id, keep.institution_id)).status == (
        LinkStatus.CONFIRMED
    )
    assert db.session.get(ContactLink, (drop.contact_id, drop.institution_id)).status == (
        LinkStatus.REJECTED
    )


def test_a_file_with_a_wrong_header_is_refused(runner, tmp_path):
    path = write_csv(tmp_path / "x.csv", ["name", "mail"], [["a", "b"]])
    result = runner.invoke(args=["contacts", "import", str(path)])
    assert result.exit_code == 1
    assert "missing columns: email" in result.output


def test_the_import_summary_counts_in_good_english():
    from surveyapp.campaigns.contact_import import ContactImportReport

    report = ContactImportReport(source="one.csv", created=1, proposed=1)
    assert report.summary().startswith("one.csv: 1 contact imported, 0 updated")
    assert "1 link proposed" in report.summary() and "0 rows skipped" in report.summary()


def test_without_a_language_a_new_contact_gets_their_countrys(table1, runner, tmp_path, ctx):
    header = ["institution", "contact_person", "email", "country"]
    rows = [
        ["A", "Ada", "it@example.org", "Italy"],
        ["B", "Bea", "es@example.org", "ES"],
        ["C", "Cé", "be@example.org", "Belgium"],
        ["D", "Dag", "at@example.org", "Austria"],
        ["E", "Eva", "dk@example.org", "Denmark"],
        ["F", "Fay", "none@example.org", ""],
    ]
    result = runner.invoke(
        args=["contacts", "import", str(write_csv(tmp_path / "c.csv", header, rows))]
    )
    assert result.exit_code == 0, result.output
    languages = dict(db.session.execute(select(Contact.email, Contact.language)).all())
    assert languages == {
        "it@example.org": "it",
        "es@example.org": "es",
        "be@example.org": "fr",
        "at@example.org": "de",
        "dk@example.org": "en",  # no Danish catalogue: English
        "none@example.org": "en",
    }


def test_a_language_column_wins_and_a_reimport_without_one_keeps_the_contacts(
    table1, runner, tmp_path, ctx
):
    first = write_csv(tmp_path / "a.csv", HEADER, [["X", "Ann", "a@example.org", "IT", "en", ""]])
    runner.invoke(args=["contacts", "import", str(first)])
    assert db.session.scalars(select(Contact)).one().language == "en"
    header = ["institution", "contact_person", "email", "country"]
    again = write_csv(tmp_path / "b.csv", header, [["X", "Ann", "a@example.org", "IT"]])
    runner.invoke(args=["contacts", "import", str(again)])
    assert db.session.scalars(select(Contact)).one().language == "en"
