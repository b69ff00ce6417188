"""The network planner: at most N Centres of Excellence that together cover the most
technology platforms and ATMP types, then the most countries, each pick explained.

HORIZON-HLTH-2026-01-TOOL-07 funds a network of at most ten centres "across the EU" with
complementary expertise across ATMP technologies. Coordinators need a proposal they can
defend, so the planner is deterministic and says, for every pick, what it adds that the
picks before it do not, and what stays uncovered.

The method (also in the README, "How the planner chooses"):

* **Candidates** are the institutions with at least one active entry, in the chosen
  countries (the EU-27 by default), meeting every required criterion (state *met* in
  :func:`surveyapp.network.criteria.judge`), and not excluded.
* **What a centre covers**: its technology platforms (the institution's
  ``technology_platforms`` answer; "other" names no particular platform and counts for
  nothing) and the ATMP types of its active entries (gene therapy, somatic cell therapy,
  tissue-engineered, combined): these are the *capabilities*. Its country counts second.
* **The best proposal** covers the most capabilities; among those, the most countries;
  among those, the most criteria met in total; the remaining ties go to the candidates
  earliest in the candidate order (more criteria met, then name, then id).
* **Pins** are always in the proposal (even when they fail a requirement or lie outside
  the countries: the conflict is reported); excluded institutions never appear.
* **Search**: when the number of possible selections is at most :data:`EXACT_LIMIT`,
  every one is tried and the proposal is the best possible. Otherwise the planner picks
  greedily (each time the candidate adding the most capabilities, then a new country, then
  the most criteria met, then by name and id) and then exchanges a pick for a candidate
  left out while that makes the proposal better, until no single exchange does. Greedy
  picking adds to the pins at least 1 - 1/e (63 %) of the capabilities the best
  selection adds (the classic bound for maximum coverage); the exchange pass never
  lowers that.
* **The proposal is filled up to N** when there are enough candidates: a pick that adds
  nothing new is said to add nothing. With fewer candidates than N the proposal is
  shorter and says so.

Pure where possible: :func:`plan` works on :class:`Centre` values and reads no database;
:func:`centres_from_registry` is the one function reading the registry.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from math import comb

from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from surveyapp.definitions.vocabularies import choices
from surveyapp.extensions import db
from surveyapp.i18n import country_label
from surveyapp.i18n import gettext as _
from surveyapp.network.criteria import BY_KEY, CRITERIA, judge
from surveyapp.registry.models import Entry, Institution
from surveyapp.tabular import neutralise
from surveyapp.vocabulary import AtmpType, country_name, is_country_code

# The 27 member states of the European Union (ISO 3166-1 alpha-2; Greece is "GR").
EU_MEMBER_STATES: frozenset[str] = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    }
)
PLATFORM_VOCABULARY = "technology_platforms-v1"
# "Other" names no particular platform, so two centres answering it cover nothing jointly.
UNCOUNTED_PLATFORMS = frozenset({"other"})
# Up to this many possible selections the planner tries them all (about a quarter of a
# second on one core at the limit).
EXACT_LIMIT = 200_000
DEFAULT_SIZE = 10


class PlanError(ValueError):
    """The options cannot make a plan: an unknown criterion or country, a pin that does not
    exist or is also excluded, more pins than the network's size."""


@dataclass(frozen=True)
class Centre:
    """What the planner knows of one institution: what it covers and how it is judged."""

    id: int
    name: str
    country: str | None
    platforms: frozenset[str]
    atmp_types: frozenset[str]
    met: frozenset[str]  # keys of the criteria judged "met"
    active: bool = True

    @property
    def capabilities(self) -> frozenset[tuple[str, str]]:
        """Platforms and ATMP types as one set, kept apart by kind ("platform",
        "atmp_type"): the technology platform and the ATMP type called tissue-engineered
        are different things."""
        return frozenset(
            [("platform", p) for p in self.platforms if p not in UNCOUNTED_PLATFORMS]
            + [("atmp_type", t) for t in self.atmp_types]
        )


@dataclass(frozen=True)
class PlanRequest:
    """The planner's options, as the command and the page take them."""

    size: int = DEFAULT_SIZE
    required: tuple[str, ...] = ()
    pins: tuple[int, ...] = ()
    excluded: frozenset[int] = frozenset()
    countries: frozenset[str] | None = EU_MEMBER_STATES  # None: any country


@dataclass(frozen=True)
class Conflict:
    """Why a pin would not have been a candidate: a required criterion not met
    (``criterion``), a country outside the chosen ones (``country``), or no active entry
    (``inactive``)."""

    kind: str
    detail: str | None = None


@dataclass(frozen=True)
class Pick:
    """One centre of the proposal and what it adds that the picks before it do not."""

    centre: Centre
    pinned: bool
    adds_platforms: tuple[str, ...]
    adds_atmp_types: tuple[str, ...]
    adds_country: str | None
    conflicts: tuple[Conflict, ...] = ()

    @property
    def adds_nothing(self) -> bool:
        """True for a pick that covers nothing the picks before it do not."""
        return not (self.adds_platforms or self.adds_atmp_types or self.adds_country)


@dataclass(frozen=True)
class Plan:
    """The proposal: picks in the order they are explained, what stays uncovered, and how
    it was found."""

    request: PlanRequest
    picks: tuple[Pick, ...]
    candidates: int  # institutions eligible besides the pins
    method: str  # "exact" or "greedy"
    platforms: tuple[str, ...]  # covered, in vocabulary order
    atmp_types: tuple[str, ...]
    countries: tuple[str, ...]
    uncovered_platforms: tuple[str, ...]  # some candidate covers them, no pick does
    uncovered_atmp_types: tuple[str, ...]
    unreachable_platforms: tuple[str, ...]  # no candidate covers them at all
    unreachable_atmp_types: tuple[str, ...]
    countries_left_out: tuple[str, ...] = field(default=())

    @property
    def short(self) -> bool:
        """True when there were fewer centres to pick than the size asked for."""
        return len(self.picks) < self.request.size


def platform_codes() -> list[str]:
    """The counted technology platforms in vocabulary order."""
    return [c for c, _label in choices(PLATFORM_VOCABULARY) if c not in UNCOUNTED_PLATFORMS]


def parse_countries(text: str | None) -> frozenset[str] | None:
    """Countries from "EU", "all" or ISO codes separated by commas or spaces ("EU,CH" adds
    Switzerland to the member states); None means any country. PlanError names a code
    that is not one."""
    tokens = [t for t in re.split(r"[\s,;]+", (text or "EU").strip().upper()) if t]
    if not tokens or tokens == ["EU"]:
        return EU_MEMBER_STATES
    if "ALL" in tokens:
        return None
    chosen: set[str] = set()
    for code in tokens:
        if code == "EU":
            chosen |= EU_MEMBER_STATES
        elif len(code) == 2 and is_country_code(code):
            chosen.add(code)
        else:
            raise PlanError(_("%(code)s is not an ISO 3166-1 country code.", code=code))
    return frozenset(chosen)


def parse_required(values: Iterable[str]) -> tuple[str, ...]:
    """Criterion keys from values that may each hold several separated by commas, in the
    criteria's order; PlanError names a key that is none."""
    keys = {k for v in values for k in re.split(r"[\s,;]+", v.strip().lower()) if k}
    unknown = sorted(keys - set(BY_KEY))
    if unknown:
        raise PlanError(
            _(
                "Unknown criterion %(keys)s; the criteria are %(known)s.",
                keys=", ".join(unknown),
                known=", ".join(BY_KEY),
            )
        )
    return tuple(c.key for c in CRITERIA if c.key in keys)


def parse_ids(values: Iterable[str | int]) -> tuple[int, ...]:
    """Institution ids from values that may each hold several separated by commas or
    spaces, first occurrence kept; PlanError names what is not a number."""
    ids: list[int] = []
    for value in values:
        for token in re.split(r"[\s,;]+", str(value).strip()):
            if not token:
                continue
            if not (token.isascii() and token.isdigit()):
                raise PlanError(_("%(value)s is not an institution number.", value=token))
            if int(token) not in ids:
                ids.append(int(token))
    return tuple(ids)


def centres_from_registry() -> list[Centre]:
    """Every institution as the planner sees it: platforms from its answers, ATMP types
    from its active entries, criteria from :func:`judge`. One query."""
    institutions = db.session.scalars(
        select(Institution)
        .options(selectinload(Institution.entries).selectinload(Entry.atmp_type_links))
        .order_by(Institution.id)
    ).all()
    centres = []
    for institution in institutions:
        answers = institution.answers or {}
        active = [entry for entry in institution.entries if entry.is_active]
        judged = judge(answers)
        centres.append(
            Centre(
                id=institution.id,
                name=institution.name,
                country=institution.country_code,
                platforms=frozenset(answers.get("technology_platforms") or ()),
                atmp_types=frozenset(str(t) for entry in active for t in entry.atmp_types),
                met=frozenset(key for key, (state, _evidence) in judged.items() if state == "met"),
                active=bool(active),
            )
        )
    return centres


def _conflicts(centre: Centre, request: PlanRequest) -> tuple[Conflict, ...]:
    found = [Conflict("criterion", key) for key in request.required if key not in centre.met]
    if request.countries is not None and centre.country not in request.countries:
        found.append(Conflict("country", centre.country))
    if not centre.active:
        found.append(Conflict("inactive"))
    return tuple(found)


def _order(centre: Centre) -> tuple[int, str, int]:
    """The candidate order that breaks every remaining tie: more criteria met, then name
    (case-insensitive), then id."""
    return (-len(centre.met), centre.name.casefold(), centre.id)


Score = tuple[int, int, int]


def _score(chosen: Sequence[Centre]) -> Score:
    """What a selection is worth: capabilities covered, then countries, then criteria met."""
    capabilities: set[tuple[str, str]] = set()
    countries: set[str] = set()
    for centre in chosen:
        capabilities |= centre.capabilities
        if centre.country:
            countries.add(centre.country)
    return len(capabilities), len(countries), sum(len(c.met) for c in chosen)


def _exact(pinned: list[Centre], candidates: list[Centre], room: int) -> list[Centre]:
    """The best selection of ``room`` candidates beside the pins, trying every one; the
    first best found in candidate order wins ties. Capabilities and countries are bits of
    an integer, so a selection is scored by a few ORs (:func:`_score` in bits)."""
    everyone = [*pinned, *candidates]
    capability_bit = {
        item: 1 << n
        for n, item in enumerate(sorted(set().union(*(c.capabilities for c in everyone))))
    }
    country_bit = {
        code: 1 << n for n, code in enumerate(sorted({c.country for c in everyone if c.country}))
    }

    def bits(centre: Centre) -> tuple[int, int, int]:
        capabilities = sum(capability_bit[item] for item in centre.capabilities)
        return capabilities, country_bit.get(centre.country or "", 0), len(centre.met)

    start = [0, 0, 0]
    for centre in pinned:
        capabilities, country, met = bits(centre)
        start = [start[0] | capabilities, start[1] | country, start[2] + met]
    table = [bits(centre) for centre in candidates]
    best: tuple[int, ...] = tuple(range(room))
    best_score: Score | None = None
    for chosen in combinations(range(len(candidates)), room):
        capabilities, countries, met = start
        for n in chosen:
            capabilities |= table[n][0]
            countries |= table[n][1]
            met += table[n][2]
        score = (capabilities.bit_count(), countries.bit_count(), met)
        if best_score is None or score > best_score:
            best, best_score = chosen, score
    return [candidates[n] for n in best]


def _greedy(pinned: list[Centre], candidates: list[Centre], room: int) -> list[Centre]:
    """Greedy picking, then single exchanges while one makes the selection better."""
    chosen: list[Centre] = []
    for _step in range(room):
        left = [c for c in candidates if c not in chosen]
        chosen.append(min(left, key=lambda c: _preference(c, [*pinned, *chosen])))
    improved = True
    while improved:
        improved = False
        current = _score([*pinned, *chosen])
        for position in range(len(chosen)):
            for candidate in candidates:
                if candidate in chosen:
                    continue
                trial = [*chosen[:position], candidate, *chosen[position + 1 :]]
                if _score([*pinned, *trial]) > current:
                    chosen, improved = trial, True
                    break
            if improved:
                break
    return chosen


def _preference(centre: Centre, before: Sequence[Centre]) -> tuple[int, int, int, str, int]:
    """The smallest is picked next after ``before``: the most new capabilities, then a new
    country, then :func:`_order`."""
    covered: set[tuple[str, str]] = set()
    for other in before:
        covered |= other.capabilities
    new_country = bool(centre.country) and centre.country not in {c.country for c in before}
    return (-len(centre.capabilities - covered), -int(new_country), *_order(centre))


def _explained(pinned: list[Centre], chosen: list[Centre], request: PlanRequest) -> list[Pick]:
    """The picks in the order they are explained: pins as given, then each time the chosen
    centre adding the most (as greedy picking would), with what each adds."""
    platforms = platform_codes()
    types = [t.value for t in AtmpType]
    ordered = list(pinned)
    rest = list(chosen)
    while rest:
        following = min(rest, key=lambda c: _preference(c, ordered))
        ordered.append(following)
        rest.remove(following)
    picks = []
    seen_platforms: set[str] = set()
    seen_types: set[str] = set()
    seen_countries: set[str] = set()
    for centre in ordered:
        new_platforms = [p for p in platforms if p in centre.platforms - seen_platforms]
        new_types = [t for t in types if t in centre.atmp_types - seen_types]
        new_country = (
            centre.country if centre.country and centre.country not in seen_countries else None
        )
        is_pin = centre in pinned
        picks.append(
            Pick(
                centre,
                is_pin,
                tuple(new_platforms),
                tuple(new_types),
                new_country,
                _conflicts(centre, request) if is_pin else (),
            )
        )
        seen_platforms |= centre.platforms
        seen_types |= centre.atmp_types
        if centre.country:
            seen_countries.add(centre.country)
    return picks


def plan(centres: Iterable[Centre], request: PlanRequest) -> Plan:
    """Propose at most ``request.size`` centres (see the module's docstring for how).

    Raises PlanError for a pin that is no institution or is also excluded, more pins than
    the size, a size below one, or an unknown required criterion.
    """
    everyone = {centre.id: centre for centre in centres}
    if request.size < 1:
        raise PlanError(_("The network needs at least one centre."))
    unknown = [key for key in request.required if key not in BY_KEY]
    if unknown:
        raise PlanError(_("Unknown criterion %(keys)s.", keys=", ".join(unknown)))
    missing = [str(i) for i in request.pins if i not in everyone]
    if missing:
        raise PlanError(_("No institution has number %(ids)s.", ids=", ".join(missing)))
    both = [str(i) for i in request.pins if i in request.excluded]
    if both:
        raise PlanError(_("Institution %(ids)s is both pinned and excluded.", ids=", ".join(both)))
    if len(set(request.pins)) > request.size:
        raise PlanError(
            _(
                "%(pins)s pins do not fit in a network of %(size)s.",
                pins=len(set(request.pins)),
                size=request.size,
            )
        )
    pinned = [everyone[i] for i in dict.fromkeys(request.pins)]
    candidates = sorted(
        (
            c
            for c in everyone.values()
            if c.id not in request.excluded and c not in pinned and not _conflicts(c, request)
        ),
        key=_order,
    )
    room = min(request.size - len(pinned), len(candidates))
    if comb(len(candidates), room) <= EXACT_LIMIT:
        method, chosen = "exact", _exact(pinned, candidates, room)
    else:
        method, chosen = "greedy", _greedy(pinned, candidates, room)
    picks = _explained(pinned, chosen, request)
    proposal = [p.centre for p in picks]
    reachable = [*pinned, *candidates]

    def kind(group: Sequence[Centre], attribute: str) -> set[str]:
        return set().union(*(getattr(c, attribute) for c in group)) if group else set()

    platforms = platform_codes()
    types = [t.value for t in AtmpType]
    covered_platforms = kind(proposal, "platforms")
    covered_types = kind(proposal, "atmp_types")
    possible_platforms = kind(reachable, "platforms")
    possible_types = kind(reachable, "atmp_types")
    countries = sorted({c.country for c in proposal if c.country})
    return Plan(
        request=request,
        picks=tuple(picks),
        candidates=len(candidates),
        method=method,
        platforms=tuple(p for p in platforms if p in covered_platforms),
        atmp_types=tuple(t for t in types if t in covered_types),
        countries=tuple(countries),
        uncovered_platforms=tuple(
            p for p in platforms if p in possible_platforms - covered_platforms
        ),
        uncovered_atmp_types=tuple(t for t in types if t in possible_types - covered_types),
        unreachable_platforms=tuple(p for p in platforms if p not in possible_platforms),
        unreachable_atmp_types=tuple(t for t in types if t not in possible_types),
        countries_left_out=tuple(
            sorted({c.country for c in candidates if c.country} - set(countries))
        ),
    )


def plan_registry(request: PlanRequest) -> Plan:
    """:func:`plan` over the registry as it stands."""
    return plan(centres_from_registry(), request)


# How a plan reads, on the page, in the command's output and in the CSV file.


def platform_label(code: str) -> str:
    """A technology platform's label in the current language (English on the command line)."""
    language = str(get_locale() or "en")
    return dict(choices(PLATFORM_VOCABULARY, language)).get(code, code)


def atmp_type_label(code: str) -> str:
    """An ATMP type's label, translated."""
    return _(AtmpType(code).label)


def country_text(code: str | None) -> str:
    """A country's name, translated, or "unknown"."""
    return str(country_label(code, country_name(code))) if code else _("unknown country")


def conflict_text(conflict: Conflict) -> str:
    """Why a pin would not have been a candidate, in words."""
    if conflict.kind == "criterion" and conflict.detail:
        return _("does not meet “%(criterion)s”", criterion=BY_KEY[conflict.detail].label)
    if conflict.kind == "country":
        return _(
            "lies outside the chosen countries (%(country)s)", country=country_text(conflict.detail)
        )
    return _("has no active entry")


def adds_text(pick: Pick) -> str:
    """What a pick adds that the picks before it do not, in words."""
    if pick.adds_nothing:
        return _("nothing new")
    parts = []
    if pick.adds_platforms:
        parts.append(
            _(
                "platforms: %(platforms)s",
                platforms=", ".join(platform_label(p) for p in pick.adds_platforms),
            )
        )
    if pick.adds_atmp_types:
        parts.append(
            _(
                "ATMP types: %(types)s",
                types=", ".join(atmp_type_label(t) for t in pick.adds_atmp_types),
            )
        )
    if pick.adds_country:
        parts.append(_("country: %(country)s", country=country_text(pick.adds_country)))
    return "; ".join(parts)


def proposal_csv(proposal: Plan) -> str:
    """The proposal as CSV: one row per pick in order, with what it covers and adds and
    any conflict (formula-like cells neutralised)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            _("Order"),
            _("Institution number"),
            _("Institution"),
            _("Country"),
            _("Pinned"),
            _("Criteria met"),
            _("Technology platforms"),
            _("ATMP types"),
            _("Adds"),
            _("Conflicts"),
        ]
    )
    for order, pick in enumerate(proposal.picks, start=1):
        centre = pick.centre
        writer.writerow(
            [
                neutralise(str(cell))
                for cell in (
                    order,
                    centre.id,
                    centre.name,
                    centre.country or "",
                    _("yes") if pick.pinned else _("no"),
                    "; ".join(c.key for c in CRITERIA if c.key in centre.met),
                    "; ".join(p for p in platform_codes() if p in centre.platforms),
                    "; ".join(t.value for t in AtmpType if t.value in centre.atmp_types),
                    adds_text(pick),
                    "; ".join(conflict_text(c) for c in pick.conflicts),
                )
            ]
        )
    return buffer.getvalue()
