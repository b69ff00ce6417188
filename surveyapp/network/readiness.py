"""Which active institutions could become Centres of Excellence: the criteria judged for
each, filtered, sorted and paged for the coordinators' readiness page, and the open
campaign that asks the capacity profile, where "unknown" can be completed.

The criteria are read from each institution's answers (a JSON dict), which SQL cannot
filter or sort portably, so the registry's active institutions are read in one query and
judged in Python (the registry holds hundreds of institutions, not millions); only the
page shown asks when each answer was confirmed (two more queries). The number of SQL
statements is the same whatever the number of institutions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import exists, select

from surveyapp.campaigns.models import Campaign
from surveyapp.dashboard import service as dashboard
from surveyapp.extensions import db
from surveyapp.network.criteria import State, Verdict, assess, judge
from surveyapp.pagination import Page
from surveyapp.registry.models import Entry, Institution
from surveyapp.vocabulary import EntryStatus, country_name

# The questionnaire, and its first version, that asks the capacity profile.
PROFILE_QUESTIONNAIRE = "table1"
PROFILE_VERSION = 2
SORTS = ("name", "country", "met", "unknowns")
# Most met first and most unknowns first unless asked otherwise; names A to Z.
DESCENDING_BY_DEFAULT = {"met", "unknowns"}


@dataclass(frozen=True)
class ReadinessFilters:
    """What the coordinator asked to see: a country, criteria in a given state (all must
    hold), only institutions with an unknown, and the order."""

    country: str | None = None
    states: Mapping[str, State] = field(default_factory=dict)
    has_unknowns: bool = False
    sort: str = "name"
    descending: bool | None = None


@dataclass
class ReadinessRow:
    """One institution with each criterion's state; ``verdicts`` (evidence and dates)
    are filled for the rows of the page shown."""

    institution: Institution
    states: dict[str, State]
    verdicts: dict[str, Verdict] = field(default_factory=dict)

    @property
    def met(self) -> int:
        """How many criteria are met."""
        return sum(state == "met" for state in self.states.values())

    @property
    def unknowns(self) -> int:
        """How many criteria cannot be judged yet."""
        return sum(state == "unknown" for state in self.states.values())


@dataclass
class Readiness:
    """A page of rows, and the countries of every active institution (for the filter)."""

    page: Page[ReadinessRow]
    countries: list[str]


def active_institutions() -> list[Institution]:
    """Institutions with at least one active entry, in one query."""
    active = exists().where(
        Entry.institution_id == Institution.id, Entry.status == EntryStatus.ACTIVE
    )
    return list(db.session.scalars(select(Institution).where(active).order_by(Institution.id)))


def _matches(row: ReadinessRow, filters: ReadinessFilters) -> bool:
    if filters.country and row.institution.country_code != filters.country:
        return False
    if filters.has_unknowns and not row.unknowns:
        return False
    return all(row.states.get(key) == state for key, state in filters.states.items())


def _ordered(rows: list[ReadinessRow], sort: str, descending: bool | None) -> list[ReadinessRow]:
    """Rows in the asked order; ties stay in name order (then id), whatever the direction."""
    sort = sort if sort in SORTS else "name"
    if descending is None:
        descending = sort in DESCENDING_BY_DEFAULT
    by_name = sorted(rows, key=lambda r: (r.institution.name.casefold(), r.institution.id))
    if sort == "name":
        return list(reversed(by_name)) if descending else by_name
    keys = {
        "country": lambda r: country_name(r.institution.country_code).casefold() or "\uffff",
        "met": lambda r: r.met,
        "unknowns": lambda r: r.unknowns,
    }
    return sorted(by_name, key=keys[sort], reverse=descending)


def readiness(filters: ReadinessFilters, page: int = 1, per_page: int = 50) -> Readiness:
    """The active institutions matching ``filters``, judged and ordered, one page of them
    with the evidence and dates of every criterion. A page past the last shows the last."""
    institutions = active_institutions()
    rows = [
        ReadinessRow(i, {key: state for key, (state, _) in judge(i.answers or {}).items()})
        for i in institutions
    ]
    countries = sorted({i.country_code for i in institutions if i.country_code}, key=country_name)
    matching = _ordered([r for r in rows if _matches(r, filters)], filters.sort, filters.descending)
    pages = max(1, -(-len(matching) // per_page))
    page = min(max(1, page), pages)
    shown = matching[(page - 1) * per_page : page * per_page]
    verdicts = assess(row.institution for row in shown)
    for row in shown:
        row.verdicts = verdicts[row.institution.id]
    return Readiness(Page(shown, len(matching), page, per_page), countries)


def profile_campaign() -> Campaign | None:
    """The open campaign asking the capacity profile (``table1`` version 2 or later) in
    which to invite or remind an institution: the latest version, then the one closing
    last (the most time left to answer); None when no such campaign is open."""
    asking = [
        campaign
        for campaign in dashboard.open_campaigns()
        if campaign.questionnaire_id == PROFILE_QUESTIONNAIRE
        and campaign.questionnaire_version >= PROFILE_VERSION
    ]
    return max(
        asking,
        key=lambda c: (c.questionnaire_version, c.closes_on, c.id),
        default=None,
    )
