"""The dashboards' statement budgets (issue 18): a campaign's response rates, the table
across campaigns, the coverage dashboard and the public statistics send a fixed number of
SQL statements, however many invitations, campaigns or registry entries they count.

Each page is counted with few and with many such rows. The budgets are today's counts: a
change that adds a statement per row fails the comparison, and one that adds any statement
at all fails the budget, which it then raises on purpose, saying why. Counts include the
SAVEPOINT and ROLLBACK TO the tests' transaction wraps around each request (production
sends neither); they are the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Campaign, Invitation
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.vocabulary import InvitationStatus, Role

# A campaign's page: the coordinator and roles; the campaign; the funnel by country and
# language in one grouped query; responses per day; the non-responders' count; the
# undeliverable invitations with, loaded together, their contacts and institutions; the
# returned messages waiting to be read; the new nominations' count (the menu); the
# savepoint and its rollback.
CAMPAIGN_PAGE_BUDGET = 13
# The table across campaigns: the coordinator and roles; every campaign's funnel in one
# grouped query; the campaigns; the new nominations' count, for the page and for the menu;
# the savepoint and its rollback.
CAMPAIGNS_TABLE_BUDGET = 8
# The coverage dashboard (a curator): the staff member and roles; completeness from the
# per-entry counters; the answered generic fields per level (two); the least complete and
# the most stale entries, each with their institutions loaded together; the open campaigns;
# the map's entries per country, the ATMP vocabulary's version, the entries' answers and
# their institutions (the points); the savepoint and its rollback.
COVERAGE_BUDGET = 16
# The public statistics: Table 1's figures (entries by country and answers; by ATMP type
# and by disease area, of all and of active entries); the capacity figures by country; the
# answers of later questionnaires read once per level (entries, institutions), each level
# its total and, in one statement, its answers grouped by field and value with its
# multi-choices' owners holding a known code; the vocabularies' versions; the savepoint
# and its rollback. Each counted field used to cost a statement or three of its own (49
# with table1-v2).
STATISTICS_BUDGET = 20

# Table 1 rows of different institutions, countries and languages.
ROWS = [4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 24]
# How far each invitation of a batch of six gets: every stage of the funnel, and a bounce.
STAGES = [
    InvitationStatus.SENT,
    InvitationStatus.OPENED,
    InvitationStatus.STARTED,
    InvitationStatus.SUBMITTED,
    InvitationStatus.APPROVED,
]


def invite_rows(campaign: Campaign, make_contact, rows: list[int]) -> None:
    """Invite a contact for each row (every other one German-speaking) and take the
    invitations, in turn, to each stage of the funnel, the sixth bouncing (committed)."""
    contact_ids = []
    for row in rows:
        contact = make_contact(f"row-{row}@example.org", row)
        contact.language = "de" if row % 2 else "en"
        contact_ids.append(contact.id)
    db.session.commit()
    campaigns.invite(campaign, actor="test", contact_ids=contact_ids)
    invitations = db.session.scalars(
        select(Invitation).where(Invitation.contact_id.in_(contact_ids)).order_by(Invitation.id)
    )
    yesterday = utcnow() - timedelta(days=1)
    for number, invitation in enumerate(invitations):
        campaigns.set_status(invitation, InvitationStatus.SENT, at=yesterday)
        reached = number % (len(STAGES) + 1)
        if reached == len(STAGES):
            campaigns.mark_bounced([invitation], "550 no such user", actor="test")
            continue
        for hours, stage in enumerate(STAGES[1 : reached + 1], start=1):
            campaigns.set_status(invitation, stage, at=yesterday + timedelta(hours=hours))
    db.session.commit()


def page_cost(client, statements, url: str) -> int:
    """The statements one showing of a page sends."""
    with statements() as sent:
        assert client.get(url).status_code == 200
    return len(sent)


def add_entries(make_entry, first: int, number: int) -> None:
    """Entries of new institutions across countries, ATMP types and diseases."""
    countries = ["DE", "AT", "FR", "IT"]
    types = ["Gene therapy", "Somatic cell therapy", "Tissue engineered product"]
    for n in range(first, first + number):
        make_entry(
            institution=f"Centre {n}",
            country=countries[n % len(countries)],
            atmp_type=types[n % len(types)],
            patients_treated=str(10 * n),
            diseases_targeted=f"Disease {n}",
            contract_research="Yes" if n % 2 else "No",
        )


def test_a_campaigns_page_costs_the_same_for_18_invitations_as_for_6(
    client, campaign, make_contact, make_user, auth, statements
):
    make_user("coordinator@example.org", Role.COORDINATOR)
    auth.login("coordinator@example.org")
    url = f"/staff/response-rates/{campaign.id}"
    invite_rows(campaign, make_contact, ROWS[:6])
    with_six = page_cost(client, statements, url)
    invite_rows(campaign, make_contact, ROWS[6:])
    with_eighteen = page_cost(client, statements, url)
    addresses_to_fix = client.get(url).get_data(as_text=True).partition("Addresses to fix")[2]
    assert addresses_to_fix.count("@example.org") == 3  # every bounce, with its contact
    assert with_eighteen == with_six
    assert with_six <= CAMPAIGN_PAGE_BUDGET


def test_the_table_across_campaigns_costs_the_same_for_3_campaigns_as_for_1(
    client, campaign, make_contact, make_user, auth, statements
):
    make_user("coordinator@example.org", Role.COORDINATOR)
    auth.login("coordinator@example.org")
    invite_rows(campaign, make_contact, ROWS[:6])
    with_one = page_cost(client, statements, "/staff/response-rates/")
    for number, rows in enumerate((ROWS[6:12], ROWS[12:]), start=1):
        later = campaigns.create_campaign(
            f"Registry update 2027 part {number}",
            (utcnow() + timedelta(days=30)).date(),
            actor="test",
        )
        db.session.commit()
        invite_rows(later, make_contact, rows)
    with_three = page_cost(client, statements, "/staff/response-rates/")
    assert with_three == with_one
    assert with_one <= CAMPAIGNS_TABLE_BUDGET


def test_the_coverage_dashboard_costs_the_same_for_12_entries_as_for_2(
    client, ctx, make_entry, staff, statements
):
    add_entries(make_entry, 0, 2)
    with_two = page_cost(client, statements, "/staff/dashboard/")
    add_entries(make_entry, 2, 10)
    with_twelve = page_cost(client, statements, "/staff/dashboard/")
    assert with_twelve == with_two
    assert with_two <= COVERAGE_BUDGET


def test_the_statistics_cost_the_same_for_12_entries_as_for_2(client, ctx, make_entry, statements):
    add_entries(make_entry, 0, 2)
    with_two = page_cost(client, statements, "/statistics")
    add_entries(make_entry, 2, 10)
    with_twelve = page_cost(client, statements, "/statistics")
    assert with_twelve == with_two
    assert with_two <= STATISTICS_BUDGET
