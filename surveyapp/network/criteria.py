"""The topic's criteria for a Centre of Excellence, judged one by one from the registry's
capacity profile, with the answer that decides each: no score, nothing hidden.

HORIZON-HLTH-2026-01-TOOL-07 asks for existing centres embedded in a biocluster, with
state-of-the-art GMP and clinical-trial facilities, the spectrum from discovery to clinical
trials, a stand-alone research programme, knowledge-transfer support, and training and
outreach. Each criterion reads the fields of ``forms/table1-v2.toml`` that answer it and is
*met*, *not met* or *unknown* (not answered, or answered "unknown"). The readiness page and
the network planner both use this one reading.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from flask_babel import get_locale
from sqlalchemy import func, select

from surveyapp.definitions.vocabularies import CODE_VOCABULARIES, choices
from surveyapp.extensions import db
from surveyapp.history.models import FieldChange, Version
from surveyapp.i18n import gettext as _
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.registry.models import Entry, Institution

State = Literal["met", "not_met", "unknown"]
Judgement = tuple[State, str]


@dataclass(frozen=True)
class Criterion:
    """One of the topic's criteria: the fields that answer it and how they decide it."""

    key: str
    label: Any  # a lazy translated string
    fields: tuple[str, ...]
    decide: Callable[[Mapping[str, Any]], Judgement]


@dataclass(frozen=True)
class Verdict:
    """A criterion judged for one institution: the state, the answer that decided it, and
    when that answer was last set or confirmed (None when never)."""

    criterion: str
    state: State
    evidence: str
    confirmed_at: datetime | None


def _label(vocabulary: str, code: str) -> str:
    """A code's label in the page's language."""
    label = dict(choices(vocabulary, str(get_locale() or "en"))).get(code, code)
    return _(label) if vocabulary in CODE_VOCABULARIES else label


def _yes_no(field: str, title: Any) -> Callable[[Mapping[str, Any]], Judgement]:
    def decide(answers: Mapping[str, Any]) -> Judgement:
        value = answers.get(field)
        if value == "yes":
            return "met", f"{title}: {_label('yes_no_unknown', 'yes')}"
        if value == "no":
            return "not_met", f"{title}: {_label('yes_no_unknown', 'no')}"
        return "unknown", _("%(question)s: not answered", question=title)

    return decide


def _biocluster(answers: Mapping[str, Any]) -> Judgement:
    companies = answers.get("biocluster_companies")
    institutes = answers.get("biocluster_institutes")
    shown = _(
        "%(companies)s companies and %(institutes)s research institutes in the region",
        companies="?" if companies is None else companies,
        institutes="?" if institutes is None else institutes,
    )
    if companies == 0 or institutes == 0:
        return "not_met", shown
    if companies is None or institutes is None:
        return "unknown", shown
    return "met", shown


def _gmp(answers: Mapping[str, Any]) -> Judgement:
    value = answers.get("gmp_manufacturing")
    if value is None:
        return "unknown", _("GMP manufacturing: not answered")
    shown = _("GMP manufacturing: %(answer)s", answer=_label("gmp_manufacturing-v1", value))
    return ("met" if value in ("own_facility", "through_partner") else "not_met"), shown


def _trials(answers: Mapping[str, Any]) -> Judgement:
    unit = answers.get("clinical_trial_unit")
    trials = (answers.get("trials_as_sponsor") or 0) + (answers.get("trials_as_site") or 0)
    if unit == "yes":
        return "met", _("Clinical-trial unit: yes")
    if trials:
        return "met", _("%(count)s ATMP trials in the last five years", count=trials)
    if unit == "no":
        return "not_met", _("Clinical-trial unit: no")
    return "unknown", _("Clinical-trial unit: not answered")


def _spectrum(answers: Mapping[str, Any]) -> Judgement:
    stages = answers.get("stages_covered")
    if not stages:
        return "unknown", _("Stages covered: not answered")
    shown = _(
        "Stages covered: %(stages)s",
        stages=", ".join(_label("development_stages-v1", s) for s in stages),
    )
    clinical = {"phase_1", "phase_2_3"} & set(stages)
    return ("met" if "discovery" in stages and clinical else "not_met"), shown


def _training_outreach(answers: Mapping[str, Any]) -> Judgement:
    training, outreach = answers.get("training_programmes"), answers.get("outreach")
    shown = _(
        "Training programmes: %(training)s; outreach: %(outreach)s",
        training=_label("yes_no_unknown", training) if training else "?",
        outreach=_label("yes_no_unknown", outreach) if outreach else "?",
    )
    if "yes" in (training, outreach):
        return "met", shown
    if training == "no" and outreach == "no":
        return "not_met", shown
    return "unknown", shown


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "biocluster",
        _l("Embedded in a biocluster"),
        ("biocluster_companies", "biocluster_institutes"),
        _biocluster,
    ),
    Criterion("gmp", _l("GMP manufacturing"), ("gmp_manufacturing",), _gmp),
    Criterion(
        "trials",
        _l("Clinical trials"),
        ("clinical_trial_unit", "trials_as_sponsor", "trials_as_site"),
        _trials,
    ),
    Criterion("spectrum", _l("From discovery to clinical trials"), ("stages_covered",), _spectrum),
    Criterion(
        "research_programme",
        _l("Stand-alone research programme"),
        ("research_programme",),
        _yes_no("research_programme", _l("Stand-alone ATMP research programme")),
    ),
    Criterion(
        "knowledge_transfer",
        _l("Knowledge transfer"),
        ("technology_transfer_office",),
        _yes_no("technology_transfer_office", _l("Technology-transfer office")),
    ),
    Criterion(
        "training_outreach",
        _l("Training and outreach"),
        ("training_programmes", "outreach"),
        _training_outreach,
    ),
)
BY_KEY = {criterion.key: criterion for criterion in CRITERIA}


def judge(answers: Mapping[str, Any]) -> dict[str, Judgement]:
    """Each criterion's state and deciding answer from an institution's answers alone (no
    database: the planner and the tests call it on hand-built answers)."""
    return {criterion.key: criterion.decide(answers) for criterion in CRITERIA}


def assess(institutions: Iterable[Institution]) -> dict[int, dict[str, Verdict]]:
    """Every criterion for each institution, with when its answers were last set or
    confirmed: the latest change to one of the criterion's fields, or the latest
    confirmation of one of the institution's entries if later. Two queries in all."""
    institutions = list(institutions)
    ids = [institution.id for institution in institutions]
    fields = {field for criterion in CRITERIA for field in criterion.fields}
    changed: dict[tuple[int, str], datetime] = {
        (institution_id, field): at
        for institution_id, field, at in db.session.execute(
            select(Version.institution_id, FieldChange.field, func.max(Version.created_at))
            .join(FieldChange, FieldChange.version_id == Version.id)
            .where(Version.institution_id.in_(ids), FieldChange.field.in_(fields))
            .group_by(Version.institution_id, FieldChange.field)
        )
    }
    confirmed: dict[int, datetime] = dict(
        db.session.execute(
            select(Entry.institution_id, func.max(Entry.confirmed_at))
            .where(Entry.institution_id.in_(ids))
            .group_by(Entry.institution_id)
        ).all()
    )
    verdicts: dict[int, dict[str, Verdict]] = {}
    for institution in institutions:
        judged = judge(institution.answers or {})
        verdicts[institution.id] = {}
        for criterion in CRITERIA:
            times = [changed.get((institution.id, f)) for f in criterion.fields]
            times.append(confirmed.get(institution.id))
            known = [t for t in times if t is not None]
            state, evidence = judged[criterion.key]
            verdicts[institution.id][criterion.key] = Verdict(
                criterion.key, state, evidence, max(known) if known else None
            )
    return verdicts
