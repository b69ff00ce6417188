"""The coordinators' readiness page: every active institution against the criteria, with
the deciding answers and dates, filters, sorting, pages, a fixed number of statements, and
the action that asks an institution to complete its profile in the open table1-v2 campaign."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import select

from surveyapp.campaigns import service as campaign_service
from surveyapp.campaigns.models import Invitation
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.mail.models import OutboxMessage
from surveyapp.vocabulary import LinkStatus, Role
from tests.conftest import csrf_token
from tests.network import make_institution, statements

URL = "/staff/network/readiness/"

# Every criterion met.
READY = {
    "biocluster_companies": 40,
    "biocluster_institutes": 6,
    "gmp_manufacturing": "own_facility",
    "clinical_trial_unit": "yes",
    "stages_covered": ["discovery", "preclinical", "phase_1", "phase_2_3"],
    "research_programme": "yes",
    "technology_transfer_office": "yes",
    "training_programmes": "yes",
    "outreach": "yes",
}


@pytest.fixture
def coordinator(make_user, auth):
    email = make_user("coordinator@example.org", Role.COORDINATOR)
    assert auth.login(email).status_code == 302
    return email


@pytest.fixture
def registry(app):
    """Four active institutions and one whose only programme ended, answers as given."""
    with app.app_context():
        built = {
            "ready": make_institution("Berlin Cell Centre", "DE", READY),
            "partial": make_institution(
                "Aarhus Gene Unit",
                "DK",
                {
                    "biocluster_companies": 0,
                    "biocluster_institutes": 3,
                    "gmp_manufacturing": "planned",
                    "clinical_trial_unit": "no",
                    "trials_as_site": 2,
                    "research_programme": "unknown",
                },
            ),
            "empty": make_institution("Zagreb Tissue Lab", "HR"),
            "gmp_only": make_institution(
                "Copenhagen Vector Facility", "DK", {"gmp_manufacturing": "through_partner"}
            ),
            "retired": make_institution("Closed Clinic", "DE", READY, retired=True),
        }
        db.session.commit()
        return {key: institution.id for key, institution in built.items()}


def names(html: str) -> list[str]:
    """The institutions listed, in the table's order."""
    return re.findall(r'<a href="/institutions/\d+">([^<]+)</a>', html)


def page(client, **query) -> str:
    response = client.get(URL, query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_each_active_institution_shows_every_criterion_with_answer_and_date(
    client, coordinator, registry
):
    html = page(client, sort="name")
    assert names(html) == [
        "Aarhus Gene Unit",
        "Berlin Cell Centre",
        "Copenhagen Vector Facility",
        "Zagreb Tissue Lab",
    ]  # the institution whose only programme ended is not a candidate
    row = html[html.index("Aarhus Gene Unit") : html.index("Berlin Cell Centre")]
    # state in words beside its symbol, then the deciding answer, then its date
    assert "not met</strong>" in row
    assert "0 companies and 3 research institutes in the region" in row
    assert "GMP manufacturing: Planned" in row
    assert (
        "Clinical-trial unit: No; ATMP trials in the last five years: ? as sponsor, 2 as site"
        in row
    )
    assert "Stand-alone ATMP research programme: Unknown" in row
    assert "Stages covered: not answered" in row
    assert f"confirmed {format_date(utcnow(), 'long', locale='en')}" in row
    assert "never confirmed" in row  # stages were never answered
    assert "1 / 7" in row  # trials met through the two trials as site
    # how each criterion is decided is on the page, in words
    assert "Met with an own GMP facility or GMP manufacturing through a partner" in html
    ready = html[html.index("Berlin Cell Centre") : html.index("Copenhagen Vector Facility")]
    assert "7 / 7" in ready and "Nothing unknown" in ready


def test_filters_by_country_criterion_state_and_unknowns(client, coordinator, registry):
    assert names(page(client, country="DK")) == [
        "Aarhus Gene Unit",
        "Copenhagen Vector Facility",
    ]
    assert names(page(client, gmp="met")) == ["Berlin Cell Centre", "Copenhagen Vector Facility"]
    assert names(page(client, gmp="not_met")) == ["Aarhus Gene Unit"]
    assert names(page(client, gmp="met", country="DK")) == ["Copenhagen Vector Facility"]
    assert names(page(client, biocluster="not_met", trials="met")) == ["Aarhus Gene Unit"]
    assert names(page(client, has_unknowns="y", sort="name")) == [
        "Aarhus Gene Unit",
        "Copenhagen Vector Facility",
        "Zagreb Tissue Lab",
    ]
    assert "No institutions match" in page(client, spectrum="not_met")
    # a state the form does not offer is ignored, not an error
    assert len(names(page(client, gmp="maybe"))) == 4


def test_the_country_filter_offers_the_countries_of_active_institutions(
    client, coordinator, registry
):
    html = page(client)
    select_html = html[html.index('<select id="country"') : html.index("</select>")]
    assert re.findall(r'<option value="(\w+)"', select_html) == ["HR", "DK", "DE"]


def test_sorting_by_name_country_criteria_met_and_unknowns(client, coordinator, registry):
    assert names(page(client))[0] == "Aarhus Gene Unit"  # by name unless asked
    assert names(page(client, sort="name", order="desc"))[0] == "Zagreb Tissue Lab"
    # Croatia, Denmark, Germany in English, ties by name
    assert names(page(client, sort="country")) == [
        "Zagreb Tissue Lab",
        "Aarhus Gene Unit",
        "Copenhagen Vector Facility",
        "Berlin Cell Centre",
    ]
    # most met first: 7, then 1 and 1 by name, then 0
    assert names(page(client, sort="met")) == [
        "Berlin Cell Centre",
        "Aarhus Gene Unit",
        "Copenhagen Vector Facility",
        "Zagreb Tissue Lab",
    ]
    assert names(page(client, sort="met", order="asc"))[0] == "Zagreb Tissue Lab"
    # most unknowns first: 7, 6, 3, 0
    assert names(page(client, sort="unknowns")) == [
        "Zagreb Tissue Lab",
        "Copenhagen Vector Facility",
        "Aarhus Gene Unit",
        "Berlin Cell Centre",
    ]


def test_a_column_heading_sorts_and_a_second_click_reverses(client, coordinator, registry):
    html = page(client, sort="met", country="DK")
    assert 'aria-sort="descending"' in html
    assert "/staff/network/readiness/?country=DK&amp;sort=met&amp;order=asc" in html
    assert "/staff/network/readiness/?country=DK&amp;sort=name" in html


def test_pages_keep_the_filters(app, client, coordinator, registry, monkeypatch):
    monkeypatch.setitem(app.config, "READINESS_PAGE_SIZE", 2)
    first = page(client, sort="unknowns", has_unknowns="y")
    assert names(first) == ["Zagreb Tissue Lab", "Copenhagen Vector Facility"]
    assert "3 institutions, page 1 of 2." in first
    assert "page=2" in first and "has_unknowns=y" in first
    second = page(client, sort="unknowns", has_unknowns="y", page=2)
    assert names(second) == ["Aarhus Gene Unit"]
    assert names(page(client, sort="unknowns", has_unknowns="y", page=9)) == ["Aarhus Gene Unit"]


def test_the_page_takes_the_same_number_of_statements_for_3_or_30_institutions(
    app, client, coordinator
):
    counts = []
    for number in (3, 30):
        with app.app_context():
            for n in range(len(counts) * 3, len(counts) * 3 + number):
                make_institution(f"Centre {n:03}", "FR", {"gmp_manufacturing": "none"})
            db.session.commit()
        with app.app_context(), statements() as sent:
            html = page(client)
        counts.append(len(sent))
        assert len(names(html)) == (3 if number == 3 else 33)
    assert counts[0] == counts[1]


@pytest.fixture
def whole_registry(app, monkeypatch):
    """Every institution on one page (Table 1's 55 come with the campaigns)."""
    monkeypatch.setitem(app.config, "READINESS_PAGE_SIZE", 500)


@pytest.fixture
def profile_campaign(table1, ctx):
    """An open campaign asking table1 version 2."""
    created = campaign_service.create_campaign(
        "Capacity profile 2027",
        (utcnow() + timedelta(days=30)).date(),
        actor="test",
        questionnaire="table1-v2",
    )
    db.session.commit()
    return created


def confirm_contact(institution_id: int, email: str) -> int:
    from surveyapp.registry.models import Institution

    contact, _ = campaign_service.upsert_contact(email, source="test", name="Dr. Test Person")
    campaign_service.link_contact(
        contact, db.session.get(Institution, institution_id), LinkStatus.CONFIRMED, actor="test"
    )
    db.session.commit()
    return contact.id


def reach(client, institution_id: int, **query):
    return client.post(
        f"{URL}institutions/{institution_id}/reach",
        query_string=query,
        data={"csrf_token": csrf_token(client, URL)},
    )


def test_unknown_leads_to_inviting_the_institution_into_the_open_v2_campaign(
    campaign, profile_campaign, client, coordinator, registry, mailbox, whole_registry
):
    contact_id = confirm_contact(registry["empty"], "lab@zagreb.example.org")
    html = page(client)
    assert "Capacity profile 2027" in html and "table1-v2" in html
    assert f"/staff/network/readiness/institutions/{registry['empty']}/reach" in html
    assert f"/staff/network/readiness/institutions/{registry['ready']}/reach" not in html

    response = reach(client, registry["empty"], country="HR", sort="unknowns")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{URL}?country=HR&sort=unknowns"
    invitation = db.session.scalars(
        select(Invitation).where(Invitation.contact_id == contact_id)
    ).one()
    # the campaign on table1-v2, not the other open one on v1
    assert invitation.campaign_id == profile_campaign.id
    assert invitation.institution_id == registry["empty"]
    followed = page(client, country="HR", sort="unknowns")
    assert "1 invitation to Capacity profile 2027 queued for Zagreb Tissue Lab." in followed

    from surveyapp.mail.service import send_pending

    send_pending()
    queued = db.session.query(OutboxMessage).count()
    reach(client, registry["empty"])
    assert db.session.query(OutboxMessage).count() == queued + 1
    assert "A reminder of Capacity profile 2027 was queued for Zagreb Tissue Lab." in page(client)


def test_an_institution_without_a_confirmed_contact_is_told_so(
    profile_campaign, client, coordinator, registry
):
    reach(client, registry["empty"])
    assert "Zagreb Tissue Lab has no confirmed contact yet" in page(client)
    assert db.session.query(Invitation).count() == 0


def test_without_an_open_v2_campaign_the_page_says_so_and_links_to_creating_one(
    campaign, client, coordinator, registry, whole_registry
):
    confirm_contact(registry["empty"], "lab@zagreb.example.org")
    html = page(client)
    assert "No open campaign asks the capacity profile" in html
    assert 'href="/campaigns/new"' in html
    assert "/reach" not in html
    reach(client, registry["empty"])
    assert "No open campaign asks the capacity profile" in page(client)
    assert db.session.query(Invitation).count() == 0


def test_only_coordinators_and_admins_see_readiness(client, make_user, auth, registry):
    assert client.get(URL).status_code == 302
    make_user("curator@example.org", Role.CURATOR)
    auth.login("curator@example.org")
    assert client.get(URL).status_code == 403
    assert reach(client, registry["empty"]).status_code == 403
    auth.logout()
    make_user("admin@example.org", Role.ADMIN)
    auth.login("admin@example.org")
    assert client.get(URL).status_code == 200


def test_the_deciding_answers_read_in_the_pages_language(client, coordinator, registry):
    html = page(client, lang="de", gmp="met")
    assert "Eigene GMP-Einrichtung" in html  # the data vocabulary's own translation
