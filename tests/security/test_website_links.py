"""Websites: only an http(s) address or a host name gets in, at every entry point, and a
value stored before that rule is never a link and is flagged for curation.

An outside test stored ``javascript:`` websites through the questionnaire and the public
forms; they were approved and linked on the public institution page, stopped only by the
Content-Security-Policy.
"""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
from flask import render_template_string
from openpyxl import Workbook
from sqlalchemy import func, select, update

from surveyapp.campaigns.models import Invitation, Nomination
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.history.service import Provenance
from surveyapp.questionnaire import service as questionnaire
from surveyapp.questionnaire.models import Submission
from surveyapp.registry import service as registry
from surveyapp.registry.models import CurationFlag, Entry, Institution
from surveyapp.vocabulary import ChangeSource, FlagKind, SubmissionStatus
from tests.campaigns.test_views import coordinator
from tests.conftest import AuthActions, csrf_token, institution_of_row, write_csv
from tests.forms import FormReader, form_values
from tests.questionnaire.test_form import post, prefilled
from tests.questionnaire.test_widening import SUGGESTION
from tests.registry.test_import_file import HEADER, counts, row
from tests.review.conftest import choice, custom, decide

# What the outside test stored, and its disguises: mixed case, whitespace a browser drops
# from inside a scheme, another scheme, a link to a host of the browser's choosing.
REFUSED = [
    "javascript:alert(1)",
    "JaVa\tScR\nipt:alert(1)",
    "java script:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example",
]
ACCEPTED = ["https://x.org", "www.x.org"]
FORM_MESSAGE = "Enter a web address that starts with http:// or https://"
BAD_STORED = "javascript://example.org/%0Aalert(document.domain)"  # has "//", as links had


def hrefs(html: str) -> list[str]:
    """Every link target of a page, lower-cased."""
    return [h.lower() for h in re.findall(r'href="([^"]*)"', html)]


def assert_no_script_links(html: str) -> None:
    for href in hrefs(html):
        assert not href.startswith(("javascript:", "data:", "//evil")), href


def page_value(html: str, action: str, name: str) -> object:
    reader = FormReader(action)
    reader.feed(html)
    return reader.data.get(name)


# The rule at every entry point --------------------------------------------------------


def test_the_questionnaire_refuses_them_and_keeps_what_was_typed(client, invited, ctx):
    token = invited(9)
    for website in REFUSED:
        response = post(
            client,
            token,
            {"institution_block-website": website, "consent_store": "y"},
            button="submit",
        )
        assert response.status_code == 400, website
        html = response.get_data(as_text=True)
        assert FORM_MESSAGE in html
        assert prefilled(html)["institution_block-website"] == website
        submission = db.session.scalars(select(Submission)).one()
        db.session.refresh(submission)
        assert submission.status == SubmissionStatus.DRAFT


@pytest.mark.parametrize("website", ACCEPTED)
def test_the_questionnaire_takes_web_addresses_and_host_names(client, invited, ctx, website):
    token = invited(9)
    post(client, token, {"institution_block-website": website, "consent_store": "y"}, "submit")
    submission = db.session.scalars(select(Submission)).one()
    db.session.refresh(submission)
    assert submission.status == SubmissionStatus.SUBMITTED
    assert submission.answers["institution"]["website"] == website


def test_the_public_suggestion_form_refuses_them_and_keeps_what_was_typed(client, table1, ctx):
    for website in REFUSED:
        data = {**SUGGESTION, "website": website, "csrf_token": csrf_token(client, "/suggest/")}
        response = client.post("/suggest/", data=data)
        assert response.status_code == 400, website
        html = response.get_data(as_text=True)
        assert FORM_MESSAGE in html
        assert page_value(html, "/suggest/", "website") == website
        assert "CAR-T since 2024" in html
    assert db.session.scalar(select(func.count(Submission.id))) == 0
    for website in ACCEPTED:
        data = {**SUGGESTION, "website": website, "csrf_token": csrf_token(client, "/suggest/")}
        assert client.post("/suggest/", data=data).status_code == 200, website
    stored = db.session.scalars(select(Submission).order_by(Submission.id)).all()
    assert [s.answers["institution"]["website"] for s in stored] == ACCEPTED


def test_a_nomination_refuses_them_and_keeps_what_was_typed(client, invited, ctx):
    token = invited(4)
    url = f"/i/{token}/nominate"
    for website in REFUSED:
        data = {"csrf_token": csrf_token(client, url), "name": "Lab", "website": website}
        response = client.post(url, data=data)
        assert response.status_code == 400, website
        html = response.get_data(as_text=True)
        assert FORM_MESSAGE in html
        assert page_value(html, "", "website") == website
    assert db.session.scalar(select(func.count(Nomination.id))) == 0
    for website in ACCEPTED:
        data = {"csrf_token": csrf_token(client, url), "name": "Lab", "website": website}
        assert client.post(url, data=data).status_code == 200, website
    stored = db.session.scalars(select(Nomination.website).order_by(Nomination.id)).all()
    assert stored == ACCEPTED


def test_the_questionnaire_service_refuses_them_whoever_calls_it(invited, ctx):
    invited(4)
    invitation = db.session.scalars(select(Invitation)).one()
    for website in REFUSED:
        with pytest.raises(questionnaire.QuestionnaireError, match="Enter a web address"):
            questionnaire.nominate(
                invitation, name="Lab", country_code=None, website=website, contact_email=None
            )
        with pytest.raises(questionnaire.QuestionnaireError, match="Enter a web address"):
            questionnaire.suggest(
                institution=None,
                answers={"institution": {"institution": "Lab", "website": website}},
                note="",
                submitter_name="",
                submitter_email="a@example.org",
                consent_store=True,
            )


@pytest.mark.parametrize("website", REFUSED)
def test_an_import_file_is_refused_naming_row_and_column(table1, runner, tmp_path, ctx, website):
    path = write_csv(
        tmp_path / "websites.csv",
        HEADER,
        [
            row(institution="Good Row Institute", country="France", website="www.good.example"),
            row(institution="Script Lab", country="France", website=website),
        ],
    )
    before = counts()
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 1
    assert "websites.csv was not imported" in result.output
    assert f"row 3, column website: website {website!r}" in result.output
    assert counts() == before


def test_an_uploaded_xlsx_is_refused_and_an_update_cannot_bring_one_in(client, staff, table1, ctx):
    workbook = Workbook()
    workbook.active.append(["entry_id", *HEADER])
    entry = db.session.scalars(select(Entry).where(Entry.source_row == 4)).one()
    before = entry.institution.website
    workbook.active.append([entry.id, *row(website="javascript:alert(1)")])
    workbook.active.append(["", *row(institution="Fine Lab", country="Italy", website="x.org")])
    buffer = io.BytesIO()
    workbook.save(buffer)
    url = "/staff/registry/import/"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "file": (io.BytesIO(buffer.getvalue()), "u.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "row 2, column website: website &#39;javascript:alert(1)&#39; starts with" in html
    db.session.refresh(entry.institution)
    assert entry.institution.website == before
    assert db.session.scalar(select(Institution.id).where(Institution.name == "Fine Lab")) is None


def test_the_table1_loader_keeps_every_printed_website(table1, ctx):
    institutions = db.session.scalars(select(Institution)).all()
    assert [(i.website or "") for i in institutions] == [i.printed["website"] for i in institutions]
    assert "Pluristem.com" in {i.website for i in institutions}


def curate(client, institution_id: int) -> tuple[str, dict[str, object]]:
    url = f"/staff/registry/curate/institution/{institution_id}/edit"
    return url, form_values(client.get(url).get_data(as_text=True), url)


def test_a_curators_edit_refuses_them_next_to_the_field_and_keeps_the_text(
    client, staff, table1, ctx
):
    institution = institution_of_row(9)
    before = institution.website
    for website in REFUSED:
        url, values = curate(client, institution.id)
        response = client.post(url, data={**values, "website": website})
        assert response.status_code == 400, website
        html = response.get_data(as_text=True)
        assert f"website {website!r}" in unescape(html)
        assert page_value(html, url, "website") == website
    db.session.refresh(institution)
    assert institution.website == before
    for website in ACCEPTED:
        url, values = curate(client, institution.id)
        assert client.post(url, data={**values, "website": website}).status_code == 302
        db.session.refresh(institution)
        assert institution.website == website


def test_no_writer_of_the_registry_can_store_one(table1, ctx):
    institution = institution_of_row(9)
    provenance = Provenance(ChangeSource.STAFF_EDIT, "test")
    for website in REFUSED:
        update_ = registry.FieldUpdate(website, website)
        with pytest.raises(registry.FieldProblems) as refused:
            registry.change_fields(institution, {"website": update_}, provenance)
        assert "website" in refused.value.problems


def test_approving_a_submission_stored_with_one_is_refused_until_corrected(
    client, staff, submit_for
):
    def edit(answers):
        answers["institution"]["website"] = "javascript:alert(1)"

    submission = submit_for("a@example.org", 9, edit=edit)  # stored before the rule
    institution = institution_of_row(9)
    before = institution.website
    response = decide(client, submission.id, "approve")
    assert response.status_code == 400
    html = response.get_data(as_text=True).replace("&#39;", "'")
    assert "the submitted value cannot be taken: website 'javascript:alert(1)'" in html
    assert_no_script_links(html)
    db.session.refresh(institution)
    assert institution.website == before
    path = "institution.website"
    fixed = {choice(path): "custom", custom(path): "www.tlc-rt.example.org"}
    assert decide(client, submission.id, "approve", **fixed).status_code == 302
    db.session.refresh(institution)
    assert institution.website == "www.tlc-rt.example.org"


# Values stored before the rule ---------------------------------------------------------


def store_bad_website(institution: Institution, website: str = BAD_STORED) -> None:
    """Write a website straight into the database, as one stored before the rule was."""
    db.session.execute(
        update(Institution).where(Institution.id == institution.id).values(website=website)
    )
    db.session.commit()
    db.session.refresh(institution)


def test_the_one_helper_links_only_web_addresses(app):
    with app.test_request_context():
        shown = {
            w: render_template_string("{{ w|website_link }}", w=w)
            for w in ["https://x.org", "www.x.org", BAD_STORED, "data:text/html,<b>x</b>", ""]
        }
    assert shown["https://x.org"] == (
        '<a href="https://x.org" rel="nofollow noopener">https://x.org</a>'
    )
    assert shown["www.x.org"] == (
        '<a href="https://www.x.org" rel="nofollow noopener">www.x.org</a>'
    )
    assert shown[BAD_STORED] == BAD_STORED
    assert shown["data:text/html,<b>x</b>"] == "data:text/html,&lt;b&gt;x&lt;/b&gt;"
    assert shown[""] == ""


def test_a_stored_one_is_plain_text_on_the_institution_pages(app, client, table1, ctx, make_user):
    institution = institution_of_row(9)
    store_bad_website(institution)
    url = f"/institutions/{institution.id}"
    public = client.get(url).get_data(as_text=True)
    assert BAD_STORED in public
    assert_no_script_links(public)
    make_user("curator@example.org")
    curator = AuthActions(app.test_client())
    curator.login("curator@example.org")
    for page in (
        url,
        f"/staff/registry/curate/institution/{institution_of_row(4).id}/merge"
        f"?other={institution.public_id}",
    ):
        html = curator.client.get(page).get_data(as_text=True)
        assert BAD_STORED in html, page
        assert_no_script_links(html)


def test_a_stored_one_is_plain_text_where_coordinators_and_curators_read_it(
    app, client, staff, submit_for, make_user
):
    def edit(answers):
        answers["institution"]["website"] = BAD_STORED

    submission = submit_for("a@example.org", 9, edit=edit)
    review = client.get(f"/staff/review/{submission.id}").get_data(as_text=True)
    assert BAD_STORED in review
    assert_no_script_links(review)
    stored = Nomination(invitation_id=submission.invitation_id, name="Lab", website=BAD_STORED)
    db.session.add(stored)
    db.session.commit()
    nominations = coordinator(app, make_user).get("/contacts/nominations")
    html = nominations.get_data(as_text=True)
    assert BAD_STORED in html
    assert_no_script_links(html)


def test_the_command_flags_each_stored_one_once(app, runner, table1, ctx):
    # Row 9's institution has an open flag on its website already: Table 1 printed it cut off.
    first, second = institution_of_row(9), institution_of_row(4)
    store_bad_website(first)
    store_bad_website(second, "//evil.example/x")
    result = runner.invoke(args=["registry", "check-websites"])
    assert result.exit_code == 0, result.output
    assert f"flagged: institution {first.id} ({first.name}): website {BAD_STORED!r}" in (
        result.output
    )
    assert f"flagged: institution {second.id}" in result.output
    assert "2 stored websites fail the rule; 2 newly flagged for curation." in result.output

    def website_flags() -> list[CurationFlag]:
        return db.session.scalars(
            select(CurationFlag).where(
                CurationFlag.field == "website",
                CurationFlag.reason.contains("plain text until it is corrected"),
                CurationFlag.resolved_at.is_(None),
            )
        ).all()

    flagged = website_flags()
    assert {(f.institution_id, f.kind) for f in flagged} == {
        (first.id, FlagKind.UNMAPPED_VALUE),
        (second.id, FlagKind.UNMAPPED_VALUE),
    }
    again = runner.invoke(args=["registry", "check-websites"])
    assert again.exit_code == 0, again.output
    assert "2 stored websites fail the rule; 0 newly flagged for curation." in again.output
    assert f"already flagged: institution {first.id}" in again.output
    assert len(website_flags()) == 2
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "registry.check_websites")
        .order_by(AuditEvent.id)
    ).all()
    assert [e.detail["flagged"] for e in events] == [sorted([first.id, second.id]), []]
    entries = {e.id for e in first.entries}
    assert registry.entries_needing_curation(list(entries)) == entries
