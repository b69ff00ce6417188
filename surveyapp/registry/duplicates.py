"""Spotting likely duplicates: the same facility under another name, row or contact.

Candidates are flagged for a curator and never merged automatically. Table 1 has real
cases: rows 16/17 (one centre, two spellings), 49/52 (one company, one contact, one
website) and 24/30/31 (three departments on one website domain).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process, utils
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from surveyapp.extensions import db
from surveyapp.registry.models import Entry
from surveyapp.vocabulary import EntryStatus

TITLES = frozenset(
    {"prof", "professor", "dr", "pd", "dott", "pr", "mr", "mrs", "ms", "ceo", "phd", "md"}
)
DOMAIN_SCORE = 90.0
CONTACT_SCORE = 85.0


def person_keys(contact: str | None) -> set[str]:
    """Normalised names of the people in a contact field ('Prof Tim O'Brien, Andrew X')."""
    if not contact:
        return set()
    keys = set()
    for part in re.split(r",|;|\band\b|&", contact):
        ascii_part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
        words = [w for w in re.sub(r"[^a-z ]", "", ascii_part.lower()).split() if w not in TITLES]
        if len(words) >= 2:
            keys.add(" ".join(words))
    return keys


@dataclass
class Candidate:
    """An existing entry that may describe the same facility, with a score and the reasons."""

    entry_id: int
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class _Known:
    entry_id: int
    institution_id: int


class DuplicateIndex:
    """Entries indexed by website domain, contact and country name; built once per import."""

    def __init__(self, name_threshold: float) -> None:
        self.name_threshold = name_threshold
        self.by_domain: dict[str, list[_Known]] = defaultdict(list)
        self.by_person: dict[str, list[_Known]] = defaultdict(list)
        self.by_email: dict[str, list[_Known]] = defaultdict(list)
        self.names_by_country: dict[str, dict[int, str]] = defaultdict(dict)
        self.first_entry: dict[int, int] = {}

    @classmethod
    def from_registry(cls, name_threshold: float) -> DuplicateIndex:
        """Index every active entry in the registry."""
        index = cls(name_threshold)
        entries = db.session.scalars(
            select(Entry)
            .where(Entry.status == EntryStatus.ACTIVE)
            .options(selectinload(Entry.institution))
            .order_by(Entry.id)
        )
        for entry in entries:
            index.add(entry)
        return index

    def add(self, entry: Entry) -> None:
        """Make an entry findable by later candidates."""
        institution = entry.institution
        known = _Known(entry.id, institution.id)
        self.first_entry.setdefault(institution.id, entry.id)
        if institution.website_domain:
            self.by_domain[institution.website_domain].append(known)
        for key in person_keys(entry.contact_person):
            self.by_person[key].append(known)
        if entry.contact_email:
            self.by_email[entry.contact_email.lower()].append(known)
        self.names_by_country[institution.country_code or ""][institution.id] = institution.name

    def candidates(self, entry: Entry) -> list[Candidate]:
        """Entries of other institutions that may be the same facility, best first."""
        institution = entry.institution
        found: dict[int, Candidate] = {}

        def note(entry_id: int, score: float, reason: str) -> None:
            candidate = found.setdefault(entry_id, Candidate(entry_id, 0.0))
            candidate.score = max(candidate.score, score)
            if reason not in candidate.reasons:
                candidate.reasons.append(reason)

        def others(known: list[_Known]) -> list[_Known]:
            return [k for k in known if k.institution_id != institution.id]

        if institution.website_domain:
            for known in others(self.by_domain.get(institution.website_domain, [])):
                note(
                    known.entry_id,
                    DOMAIN_SCORE,
                    f"same website domain {institution.website_domain}",
                )
        for key in person_keys(entry.contact_person):
            for known in others(self.by_person.get(key, [])):
                note(known.entry_id, CONTACT_SCORE, "same contact person")
        if entry.contact_email:
            for known in others(self.by_email.get(entry.contact_email.lower(), [])):
                note(known.entry_id, CONTACT_SCORE, "same contact email")
        country = institution.country_code or ""
        names = {
            i: n for i, n in self.names_by_country.get(country, {}).items() if i != institution.id
        }
        if country and names:
            matches = process.extract(
                institution.name,
                names,
                scorer=fuzz.token_set_ratio,
                processor=utils.default_process,
                score_cutoff=self.name_threshold,
                limit=10,
            )
            for _name, score, other_institution_id in matches:
                note(
                    self.first_entry[other_institution_id],
                    float(score),
                    f"similar name ({score:.0f}/100) in the same country",
                )
        for candidate in found.values():
            candidate.score = min(100.0, candidate.score + 5 * (len(candidate.reasons) - 1))
        return sorted(found.values(), key=lambda c: (-c.score, c.entry_id))


@dataclass
class Description:
    """A facility as a submission describes it, to look for in the registry."""

    name: str
    country_code: str | None = None
    website_domain: str | None = None
    contact_emails: set[str] = field(default_factory=set)
    contact_persons: set[str] = field(default_factory=set)


@dataclass
class InstitutionCandidate:
    """A registry institution that may be the facility a submission describes."""

    institution_id: int
    score: float
    reasons: list[str] = field(default_factory=list)


def institution_candidates(
    described: Description, *, name_threshold: float, limit: int = 10
) -> list[InstitutionCandidate]:
    """Registry institutions that may be the described facility, best first.

    Each reason is looked up with its own indexed query (website domain, contact email,
    names in the same country), so the cost does not grow with the whole registry.
    """
    from surveyapp.registry.models import Institution

    found: dict[int, InstitutionCandidate] = {}

    def note(institution_id: int, score: float, reason: str) -> None:
        candidate = found.setdefault(institution_id, InstitutionCandidate(institution_id, 0.0))
        candidate.score = max(candidate.score, score)
        if reason not in candidate.reasons:
            candidate.reasons.append(reason)

    if described.website_domain:
        for institution_id in db.session.scalars(
            select(Institution.id).where(Institution.website_domain == described.website_domain)
        ):
            note(institution_id, DOMAIN_SCORE, f"same website domain {described.website_domain}")
    emails = {e.lower() for e in described.contact_emails if e}
    if emails:
        for institution_id in db.session.scalars(
            select(Entry.institution_id).where(Entry.contact_email.in_(emails)).distinct()
        ):
            note(institution_id, CONTACT_SCORE, "same contact email")
    if described.country_code:
        rows = db.session.execute(
            select(Institution.id, Institution.name).where(
                Institution.country_code == described.country_code
            )
        )
        names = {institution_id: name for institution_id, name in rows}
        for _name, score, institution_id in process.extract(
            described.name,
            names,
            scorer=fuzz.token_set_ratio,
            processor=utils.default_process,
            score_cutoff=name_threshold,
            limit=limit,
        ):
            note(
                institution_id, float(score), f"similar name ({score:.0f}/100) in the same country"
            )
        persons = set().union(*(person_keys(p) for p in described.contact_persons))
        if persons:
            rows = db.session.execute(
                select(Entry.institution_id, Entry.contact_person)
                .join(Entry.institution)
                .where(Institution.country_code == described.country_code)
            )
            for institution_id, contact in rows:
                if person_keys(contact) & persons:
                    note(institution_id, CONTACT_SCORE, "same contact person")
        for candidate in found.values():
            if candidate.institution_id in names:
                candidate.reasons.append("same country")
    for candidate in found.values():
        evidence = [r for r in candidate.reasons if r != "same country"]
        candidate.score = min(100.0, candidate.score + 5 * (len(evidence) - 1))
    ranked = sorted(found.values(), key=lambda c: (-c.score, c.institution_id))
    return ranked[:limit]
