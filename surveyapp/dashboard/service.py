"""Figures for coordinators and curators: campaign funnels, completeness and staleness.

Everything is aggregated in SQL (one grouped query per table), so a campaign of 100,000
invitations or a registry of 100,000 entries costs a few index scans, not a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Campaign, ContactLink, Invitation
from surveyapp.database import utcnow
from surveyapp.definitions import FieldDefinition, answers, registry_fields, table1
from surveyapp.extensions import db
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.registry.answer_scan import counted_rows
from surveyapp.registry.models import Entry, Institution
from surveyapp.vocabulary import EntryStatus, InvitationStatus, LinkStatus

STEPS = ("invited", "delivered", "opened", "started", "submitted", "approved")
STEP_LABELS = {
    "invited": _l("Invited"),
    "delivered": _l("Delivered"),
    "opened": _l("Opened"),
    "started": _l("Started"),
    "submitted": _l("Submitted"),
    "approved": _l("Approved"),
}


def _flag(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _step_columns() -> list[Any]:
    """One aggregate per funnel step, in STEPS order."""
    delivered = (
        Invitation.first_sent_at.is_not(None)
        & Invitation.bounced_at.is_(None)
        & (Invitation.status != InvitationStatus.FAILED)
    )
    return [
        func.count(Invitation.id),
        _flag(delivered),
        _flag(Invitation.opened_at.is_not(None)),
        _flag(Invitation.started_at.is_not(None)),
        _flag(Invitation.submitted_at.is_not(None)),
        _flag(Invitation.status == InvitationStatus.APPROVED),
    ]


@dataclass
class Funnel:
    """How many invitations reached each step, and the share of those invited."""

    counts: dict[str, int]

    @property
    def invited(self) -> int:
        """Invitations in all."""
        return self.counts["invited"]

    def rate(self, step: str) -> float:
        """The share of invitations that reached ``step`` (0 when nobody was invited)."""
        return self.counts[step] / self.invited if self.invited else 0.0

    @classmethod
    def from_row(cls, row: Any) -> Funnel:
        """A funnel from a row of the step aggregates."""
        return cls(dict(zip(STEPS, (int(v or 0) for v in row), strict=True)))


@dataclass
class CampaignFunnels:
    """A campaign's funnel overall, by country and by language (as invited)."""

    overall: Funnel
    by_country: list[tuple[str, Funnel]]
    by_language: list[tuple[str, Funnel]]


def _summed(funnels: list[Funnel]) -> Funnel:
    return Funnel({step: sum(f.counts[step] for f in funnels) for step in STEPS})


def _ranked(groups: dict[str, list[Funnel]]) -> list[tuple[str, Funnel]]:
    summed = [(key, _summed(funnels)) for key, funnels in groups.items()]
    return sorted(summed, key=lambda item: (-item[1].invited, item[0]))


def funnels(campaign: Campaign) -> CampaignFunnels:
    """The campaign's funnel: invited, delivered, opened, started, submitted, approved,
    overall and broken down by country and by language.

    One grouped scan of the campaign's invitations by (country, language), using the
    country and language recorded at invitation time; the few groups are added up here.
    """
    rows = db.session.execute(
        select(Invitation.country_code, Invitation.language, *_step_columns())
        .where(Invitation.campaign_id == campaign.id)
        .group_by(Invitation.country_code, Invitation.language)
    ).all()
    by_country: dict[str, list[Funnel]] = {}
    by_language: dict[str, list[Funnel]] = {}
    every = []
    for country, language, *steps in rows:
        group = Funnel.from_row(steps)
        every.append(group)
        by_country.setdefault(country or "", []).append(group)
        by_language.setdefault(language or "", []).append(group)
    return CampaignFunnels(_summed(every), _ranked(by_country), _ranked(by_language))


def funnel(campaign: Campaign) -> Funnel:
    """The campaign's overall funnel."""
    return funnels(campaign).overall


def responses_per_day(campaign: Campaign) -> list[tuple[date, int]]:
    """Submissions (first submit of each invitation) per day, oldest first."""
    day = func.date(Invitation.submitted_at)
    rows = db.session.execute(
        select(day, func.count(Invitation.id))
        .where(Invitation.campaign_id == campaign.id, Invitation.submitted_at.is_not(None))
        .group_by(day)
        .order_by(day)
    )
    return [(_as_date(d), int(n)) for d, n in rows]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def campaign_comparison() -> list[tuple[Campaign, Funnel]]:
    """Every campaign with its funnel, newest first: the table across campaigns."""
    rows = {
        campaign_id: Funnel.from_row(row)
        for campaign_id, *row in db.session.execute(
            select(Invitation.campaign_id, *_step_columns()).group_by(Invitation.campaign_id)
        )
    }
    found = db.session.scalars(select(Campaign).order_by(Campaign.opens_on.desc(), Campaign.id))
    empty = Funnel(dict.fromkeys(STEPS, 0))
    return [(c, rows.get(c.id, empty)) for c in found]


def undeliverable(campaign: Campaign, limit: int = 200) -> list[Invitation]:
    """Invitations whose email bounced or failed: addresses to fix, with the reason."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.campaign_id == campaign.id,
                Invitation.status.in_([InvitationStatus.BOUNCED, InvitationStatus.FAILED]),
            )
            .options(selectinload(Invitation.contact), selectinload(Invitation.institution))
            .order_by(Invitation.id)
            .limit(limit)
        )
    )


def non_responder_count(campaign: Campaign) -> int:
    """Invitations a reminder may go to now (sent, unanswered, reachable, open)."""
    query = campaigns.remindable(campaign).with_only_columns(func.count(Invitation.id))
    return int(db.session.scalar(query.order_by(None)) or 0)


# Completeness and staleness -------------------------------------------------------------


@dataclass
class Completeness:
    """Registry-wide completeness and confirmation figures over active entries."""

    entries: int
    columns: int
    average_filled: float
    by_filled: dict[int, int] = field(default_factory=dict)
    never_confirmed: int = 0
    confirmed_within_year: int = 0

    @property
    def average_share(self) -> float:
        """The average share of Table 1's columns an entry fills."""
        return self.average_filled / self.columns if self.columns else 0.0


def completeness(now: datetime | None = None) -> Completeness:
    """How full and how fresh the registry is, from the indexed per-entry counters."""
    now = now or utcnow()
    rows = db.session.execute(
        select(
            Entry.filled_fields,
            func.count(Entry.id),
            _flag(Entry.confirmed_at.is_(None)),
            _flag(Entry.confirmed_at >= now - timedelta(days=365)),
        )
        .where(Entry.status == EntryStatus.ACTIVE)
        .group_by(Entry.filled_fields)
    ).all()
    histogram = {int(filled): int(n) for filled, n, _, _ in rows}
    total = sum(histogram.values())
    average = sum(filled * n for filled, n in histogram.items()) / total if total else 0.0
    never = sum(int(n) for _, _, n, _ in rows)
    recent = sum(int(n) for _, _, _, n in rows)
    return Completeness(
        entries=int(total or 0),
        columns=len(table1().table1_columns),
        average_filled=float(average or 0),
        by_filled=histogram,
        never_confirmed=int(never or 0),
        confirmed_within_year=int(recent or 0),
    )


@dataclass(frozen=True)
class AnsweredField:
    """How many active entries (or institutions with one) hold an answer to a field that
    a later questionnaire asks beyond Table 1's columns."""

    field: FieldDefinition
    answered: int
    total: int

    @property
    def share(self) -> float:
        return self.answered / self.total if self.total else 0.0


def answered_fields() -> list[AnsweredField]:
    """Completeness of every generic field in use, from the registry's ``answers``; Table
    1's own completeness (``filled_fields``) keeps its meaning. One grouped scan per level."""
    found = []
    for level, model in (("institution", Institution), ("entry", Entry)):
        fields = [f for f in registry_fields() if f.level == level and answers.is_generic(f)]
        if not fields:
            continue
        counted = counted_rows(
            level,
            func.count(),
            *(func.count(case((model.answers[f.key].as_string().is_not(None), 1))) for f in fields),
        )
        total, *answered = db.session.execute(counted).one()
        found += [
            AnsweredField(f, int(n or 0), int(total or 0))
            for f, n in zip(fields, answered, strict=True)
        ]
    return found


def least_complete(limit: int = 20) -> list[Entry]:
    """Active entries filling the fewest Table 1 columns."""
    return list(
        db.session.scalars(
            select(Entry)
            .where(Entry.status == EntryStatus.ACTIVE)
            .order_by(Entry.filled_fields, Entry.id)
            .options(selectinload(Entry.institution))
            .limit(limit)
        )
    )


def most_stale(limit: int = 20) -> list[Entry]:
    """Active entries never confirmed by their institution first, then the oldest confirmed."""
    return list(
        db.session.scalars(
            select(Entry)
            .where(Entry.status == EntryStatus.ACTIVE)
            .order_by(Entry.confirmed_at.asc().nulls_first(), Entry.id)
            .options(selectinload(Entry.institution))
            .limit(limit)
        )
    )


class DashboardError(Exception):
    """An action from the dashboard cannot be done as asked; the message says why."""


@dataclass
class OutreachReport:
    """What inviting or reminding one institution did."""

    invitations: int = 0
    reminders: int = 0


def reach_institution(
    institution: Institution, campaign: Campaign, *, actor: str
) -> OutreachReport:
    """Invite the institution's confirmed contacts to a campaign, or remind those invited
    who have not answered yet."""
    contact_ids = list(
        db.session.scalars(
            select(ContactLink.contact_id).where(
                ContactLink.institution_id == institution.id,
                ContactLink.status == LinkStatus.CONFIRMED,
            )
        )
    )
    if not contact_ids:
        raise DashboardError(
            _l(
                "%(name)s has no confirmed contact yet. Add or confirm one under Contacts.",
                name=institution.name,
            )
        )
    report = OutreachReport()
    report.invitations = campaigns.invite(
        campaign, actor=actor, contact_ids=contact_ids
    ).invitations
    waiting = list(
        db.session.scalars(
            campaigns.remindable(campaign).where(
                Invitation.institution_id == institution.id,
                Invitation.contact_id.in_(contact_ids),
                Invitation.first_sent_at.is_not(None),
            )
        )
    )
    if waiting and not report.invitations:
        report.reminders = campaigns.remind(campaign, waiting, actor=actor)
    return report


def open_campaigns(today: date | None = None) -> list[Campaign]:
    """Campaigns that are open today, to invite into."""
    today = today or utcnow().date()
    return list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.opens_on <= today, Campaign.closes_on >= today)
            .order_by(Campaign.closes_on)
        )
    )
