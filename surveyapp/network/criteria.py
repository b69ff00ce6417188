"""The topic's criteria for a Centre of Excellence, judged one by one from the registry's
capacity profile, with the answer that decides each: no score, nothing hidden.

HORIZON-HLTH-2026-01-TOOL-07 asks for existing centres embedded in a biocluster, with
state-of-the-art GMP and clinical-trial facilities, the spectrum from discovery to clinical
trials, a stand-alone research programme, knowledge-transfer support, and training and
outreach. Each criterion reads the fields of ``forms/table1-v2.toml`` that answer it and is
*met*, *not met* or *unknown* (not answered, or answered "unknown"). The readiness page and
the network planner both use this one reading:

- biocluster: ``biocluster_companies`` and ``biocluster_institutes``; met when both are
  above zero, not met when either is zero, otherwise unknown;
- gmp: ``gmp_manufacturing``; met for an own facility or through a partner, not met for
  none or planned;
- trials: ``clinical_trial_unit``, ``trials_as_sponsor``, ``trials_as_site``; met with a
  unit, or with at least one ATMP trial in five years even without a unit (trials run
  through another body count); not met when there is no unit and no trial is counted;
- spectrum: ``stages_covered``; met when it includes discovery and a clinical phase
  (phase I or phase II/III);
- research_programme, knowledge_transfer: the yes/no/unknown answers
  ``research_programme`` and ``technology_transfer_office``;
- training_outreach: ``training_programmes`` and ``outreach``; met when either is yes,
  not met when both are no.
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
from surveyapp.vocabulary import EntryStatus

State = Literal["met", "not_met", "unknown"]
STATES: tuple[State, ...] = ("met", "not_met", "unknown")
STATE_LABELS = {"met": _l("met"), "not_met": _l("not met"), "unknown": _l("unknown")}
Judgement = tuple[State, str]


@dataclass(frozen=True)
class Criterion:
    """One of the topic's criteria: the fields that answer it and how they decide it."""

    key: str
    label: Any  # a lazy translated string
    fields: tuple[str, ...]
    decide: Callable[[Mapping[str, Any]], Judgement]
    rule: Any = ""  # how the fields decide it, in words (a lazy translated string)


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


def _shown(title: Any, value: Any, vocabulary: str = "yes_no_unknown") -> str:
    """``title: answer`` as a person reads it, "not answered" when there is none."""
    if value is None or value == "" or value == []:
        return _("%(question)s: not answered", question=title)
    return f"{title}: {_label(vocabulary, value)}"


def _yes_no(field: str, title: Any) -> Callable[[Mapping[str, Any]], Judgement]:
    """A criterion decided by one yes/no/unknown answer."""

    def decide(answers: Mapping[str, Any]) -> Judgement:
        value = answers.get(field)
        state: State = {"yes": "met", "no": "not_met"}.get(value, "unknown")  # type: ignore[assignment]
        return state, _shown(title, value)

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
    shown = _shown(_("GMP manufacturing"), value, "gmp_manufacturing-v1")
    if value is None:
        return "unknown", shown
    return ("met" if value in ("own_facility", "through_partner") else "not_met"), shown


def _trials(answers: Mapping[str, Any]) -> Judgement:
    unit = answers.get("clinical_trial_unit")
    sponsor, site = answers.get("trials_as_sponsor"), answers.get("trials_as_site")
    shown = _shown(_("Clinical-trial unit"), unit)
    if sponsor is not None or site is not None:
        shown += "; " + _(
            "ATMP trials in the last five years: %(sponsor)s as sponsor, %(site)s as site",
            sponsor="?" if sponsor is None else sponsor,
            site="?" if site is None else site,
        )
    if unit == "yes" or (sponsor or 0) + (site or 0) > 0:
        return "met", shown
    if unit == "no":
        return "not_met", shown
    return "unknown", shown


def _spectrum(answers: Mapping[str, Any]) -> Judgement:
    stages = answers.get("stages_covered")
    if not stages:
        return "unknown", _shown(_("Stages covered"), None)
    shown = _(
        "Stages covered: %(stages)s",
        stages=", ".join(_label("development_stages-v1", s) for s in stages),
    )
    clinical = {"phase_1", "phase_2_3"} & set(stages)
    return ("met" if "discovery" in stages and clinical else "not_met"), shown


def _training_outreach(answers: Mapping[str, Any]) -> Judgement:
    training, outreach = answers.get("training_programmes"), answers.get("outreach")
    shown = "; ".join((_shown(_("Training programmes"), training), _shown(_("Outreach"), outreach)))
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
        _l(
            "Met when the region has at least one pharmaceutical or biotech company and one"
            " research institute; not met when either count is zero."
        ),
    ),
    Criterion(
        "gmp",
        _l("GMP manufacturing"),
        ("gmp_manufacturing",),
        _gmp,
        _l(
            "Met with an own GMP facility or GMP manufacturing through a partner; not met"
            " with none or only planned."
        ),
    ),
    Criterion(
        "trials",
        _l("Clinical trials"),
        ("clinical_trial_unit", "trials_as_sponsor", "trials_as_site"),
        _trials,
        _l(
            "Met with a clinical-trial unit, or with at least one ATMP trial in the last five"
            " years as sponsor or site even without a unit; not met without a unit and"
            " without trials."
        ),
    ),
    Criterion(
        "spectrum",
        _l("From discovery to clinical trials"),
        ("stages_covered",),
        _spectrum,
        _l("Met when the stages covered include discovery and a clinical phase (I or II/III)."),
    ),
    Criterion(
        "research_programme",
        _l("Stand-alone research programme"),
        ("research_programme",),
        _yes_no("research_programme", _l("Stand-alone ATMP research programme")),
        _l(
            "Met when the institution runs a stand-alone ATMP research programme; not met"
            " when it does not."
        ),
    ),
    Criterion(
        "knowledge_transfer",
        _l("Knowledge transfer"),
        ("technology_transfer_office",),
        _yes_no("technology_transfer_office", _l("Technology-transfer office")),
        _l("Met with a knowledge-transfer or technology-transfer office; not met without one."),
    ),
    Criterion(
        "training_outreach",
        _l("Training and outreach"),
        ("training_programmes", "outreach"),
        _training_outreach,
        _l(
            "Met with training programmes or public or patient outreach on ATMPs; not met"
            " when both are no."
        ),
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
    confirmation of one of the institution's active entries if later. A criterion none of
    whose fields was ever answered has no date: a confirmation under a questionnaire that
    did not ask it confirms nothing. Two queries in all, whatever the number."""
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
            .where(Entry.institution_id.in_(ids), Entry.status == EntryStatus.ACTIVE)
            .group_by(Entry.institution_id)
        ).all()
    )
    verdicts: dict[int, dict[str, Verdict]] = {}
    for institution in institutions:
        answers = institution.answers or {}
        judged = judge(answers)
        verdicts[institution.id] = {}
        for criterion in CRITERIA:
            times = [changed.get((institution.id, f)) for f in criterion.fields]
            answered = any(answers.get(f) not in (None, "", []) for f in criterion.fields)
            if answered or any(times):
                times.append(confirmed.get(institution.id))
            known = [t for t in times if t is not None]
            state, evidence = judged[criterion.key]
            verdicts[institution.id][criterion.key] = Verdict(
                criterion.key, state, evidence, max(known) if known else None
            )
    return verdicts
