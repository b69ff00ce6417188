"""The EU-authorised ATMPs as a vocabulary that follows the world.

Products are authorised, withdrawn, expire or are not renewed between campaigns, and
respondents name the ones their programme administers. The shipped list
(``data/eu_authorised_atmps.csv``, version 1 in ``forms/vocabularies/``) is updated from a
new CSV with the same columns: the file is checked whole and refused with every problem
by row and column, then compared with the newest version; only a real change records a
new version, audited. Products are never deleted: one missing from a new file is kept,
and a withdrawn product stays answerable, marked by its status.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from surveyapp.definitions.models import VocabularyVersion
from surveyapp.definitions.vocabularies import (
    DataVocabulary,
    Term,
    forget_recorded_versions,
    load_vocabulary,
    newest_version,
    term_record,
)
from surveyapp.extensions import db
from surveyapp.history.service import audit

VOCABULARY_ID = "authorised_atmps"
SHIPPED_CSV = Path(__file__).parent / "data" / "eu_authorised_atmps.csv"
COLUMNS = (
    "product",
    "active_substance",
    "atmp_class",
    "first_authorised",
    "status",
    "status_changed",
    "therapeutic_area",
    "marketing_authorisation_holder",
    "sources",
    "confidence",
)
ATMP_CLASSES = ("gene therapy", "somatic cell therapy", "tissue engineered", "combined")
STATUSES = ("authorised", "withdrawn", "expired", "not renewed")
CONFIDENCES = ("high", "medium", "low")
# A date as precise as the evidence: a year, a month, or a day.
DATE_PATTERN = r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"
# The term's extra columns, in the order the shipped file writes them (the CSV's
# marketing_authorisation_holder is the term's holder).
EXTRA_KEYS = (
    "active_substance",
    "atmp_class",
    "first_authorised",
    "status",
    "status_changed",
    "therapeutic_area",
    "holder",
    "confidence",
    "sources",
)
_CHOICES = {"atmp_class": ATMP_CLASSES, "status": STATUSES, "confidence": CONFIDENCES}


class AtmpFileError(ValueError):
    """A products file cannot be imported; ``problems`` names each by row and column."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source} was not imported:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


class VersionRecordedMeanwhile(RuntimeError):
    """Another import recorded the same version number first."""


def product_code(name: str) -> str:
    """A product's stored code, derived from its name as the shipped version's were:
    lower case, every run of other characters than letters and digits one "_"."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _date_problem(value: str) -> str | None:
    if not re.match(DATE_PATTERN, value):
        return f"{value!r} is not a date written YYYY, YYYY-MM or YYYY-MM-DD"
    parts = [int(part) for part in value.split("-")]
    try:
        date(parts[0], *(parts[1:] + [1] * (3 - len(parts))))
    except ValueError:
        return f"{value!r} is not a date of the calendar"
    return None


def read_products(text: str, source: str = "<file>") -> list[Term]:
    """The products of a CSV with the shipped file's columns, as vocabulary terms in file
    order; AtmpFileError naming every problem (spreadsheet rows: the header is row 1)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise AtmpFileError(source, [f"row 1, column {name}: missing" for name in missing])
    reader.fieldnames = header
    problems: list[str] = []
    terms: list[Term] = []
    first_row: dict[str, int] = {}
    for row_number, row in enumerate(reader, start=2):
        cells = {name: (row.get(name) or "").strip() for name in COLUMNS}
        row_problems = _row_problems(cells, row_number)
        code = product_code(cells["product"])
        if cells["product"] and not code:
            row_problems.append(f"row {row_number}, column product: has no letter or digit")
        elif code in first_row:
            row_problems.append(
                f"row {row_number}, column product: {cells['product']!r} "
                f"is already in row {first_row[code]}"
            )
        elif code:
            first_row[code] = row_number
        problems += row_problems
        if not row_problems:
            terms.append(_term(code, cells))
    if not problems and not terms:
        problems.append("row 2: the file lists no product")
    if problems:
        raise AtmpFileError(source, problems)
    return terms


def _row_problems(cells: dict[str, str], row_number: int) -> list[str]:
    where = f"row {row_number}, column"
    problems = []
    for name in ("product", "atmp_class", "first_authorised", "status", "confidence"):
        if not cells[name]:
            problems.append(f"{where} {name}: empty")
    for name, allowed in _CHOICES.items():
        if cells[name] and cells[name] not in allowed:
            problems.append(f"{where} {name}: {cells[name]!r} is not one of {', '.join(allowed)}")
    for name in ("first_authorised", "status_changed"):
        if cells[name] and (problem := _date_problem(cells[name])):
            problems.append(f"{where} {name}: {problem}")
    return problems


def _term(code: str, cells: dict[str, str]) -> Term:
    extra: dict[str, Any] = {key: cells.get(key, "") for key in EXTRA_KEYS}
    extra["holder"] = cells["marketing_authorisation_holder"]
    extra["sources"] = [url.strip() for url in cells["sources"].split(";") if url.strip()]
    return Term(code, cells["product"], {}, extra)


@dataclass
class AtmpImport:
    """What an import found against the newest version, and the version it recorded."""

    previous_version: int
    added: list[str] = field(default_factory=list)
    # product name -> [(column, old, new)]
    changed: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    # in the newest version but not in the file: kept, never deleted
    kept: list[str] = field(default_factory=list)
    cut_off: tuple[Any, Any] | None = None
    version: int | None = None

    @property
    def recorded(self) -> bool:
        return self.version is not None

    def summary(self) -> list[str]:
        """The lines the command prints."""
        if not self.recorded:
            return [
                f"Nothing changed: the file matches {VOCABULARY_ID} version "
                f"{self.previous_version} ({len(self.unchanged)} products, "
                f"{len(self.kept)} kept that the file does not list)."
            ]
        lines = [
            f"Recorded {VOCABULARY_ID} version {self.version}: {len(self.added)} added, "
            f"{len(self.changed)} changed, {len(self.unchanged)} unchanged, "
            f"{len(self.kept)} kept (not in the file, never deleted)."
        ]
        lines += [f"  + {name}" for name in self.added]
        for name, changes in self.changed.items():
            lines += [f"  ~ {name}: {column} {old!r} -> {new!r}" for column, old, new in changes]
        lines += [f"  = {name} kept" for name in self.kept]
        if self.cut_off:
            lines.append(f"  cut-off {self.cut_off[0]!r} -> {self.cut_off[1]!r}")
        return lines


def _changes(old: Term, new: Term) -> list[tuple[str, Any, Any]]:
    changes: list[tuple[str, Any, Any]] = []
    if old.label != new.label:
        changes.append(("product", old.label, new.label))
    for key in EXTRA_KEYS:
        if old.extra.get(key) != new.extra.get(key):
            changes.append((key, old.extra.get(key), new.extra.get(key)))
    return changes


def import_products(
    text: str,
    actor: str,
    *,
    source: str = "<file>",
    note: str | None = None,
    cut_off: str | None = None,
) -> AtmpImport:
    """Compare a products CSV with the newest version and, when anything differs, record
    the next version (existing products updated in place, new ones appended, absent ones
    kept) with an audit event. Flushes, never commits; AtmpFileError on a malformed file,
    before anything is written."""
    if cut_off is not None and (problem := _date_problem(cut_off)):
        raise AtmpFileError(source, [f"--cut-off: {problem}"])
    products = read_products(text, source)
    forget_recorded_versions()
    current = load_vocabulary(VOCABULARY_ID)
    result = AtmpImport(previous_version=current.version)
    by_code = {term.code: term for term in products}
    terms: list[Term] = []
    for old in current.terms:
        new = by_code.pop(old.code, None)
        if new is None:
            result.kept.append(old.label)
            terms.append(old)
        elif changes := _changes(old, new):
            result.changed[new.label] = changes
            terms.append(Term(new.code, new.label, old.translations, new.extra))
        else:
            result.unchanged.append(old.label)
            terms.append(old)
    terms += by_code.values()
    result.added = [term.label for term in by_code.values()]
    details = dict(current.details)
    if cut_off is not None and details.get("cut_off") != cut_off:
        result.cut_off = (details.get("cut_off"), cut_off)
        details["cut_off"] = cut_off
    if not (result.added or result.changed or result.cut_off):
        return result
    row = _record(current, terms, details, actor, note)
    result.version = row.version
    audit(
        "vocabulary.import",
        actor,
        target_type="vocabulary_version",
        target_id=row.id,
        vocabulary=VOCABULARY_ID,
        version=result.version,
        previous_version=result.previous_version,
        added=len(result.added),
        changed=len(result.changed),
        unchanged=len(result.unchanged),
        kept=len(result.kept),
        source=source,
        note=note,
    )
    return result


def _record(
    current: DataVocabulary,
    terms: list[Term],
    details: dict[str, Any],
    actor: str,
    note: str | None,
) -> VocabularyVersion:
    version = max(current.version, newest_version(VOCABULARY_ID) or 0) + 1
    row = VocabularyVersion(
        vocabulary_id=VOCABULARY_ID,
        version=version,
        title=current.title,
        terms=[term_record(term) for term in terms],
        details=details,
        note=note,
        created_by=actor,
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise VersionRecordedMeanwhile(
            f"{VOCABULARY_ID} version {version} was recorded meanwhile; run the import again"
        ) from exc
    forget_recorded_versions()
    return row


def product_records(vocabulary: DataVocabulary) -> list[dict[str, Any]]:
    """Every product of a version as the API lists it (a date not known is null)."""
    return [
        {
            "code": term.code,
            "name": term.label,
            "active_substance": term.extra.get("active_substance", ""),
            "atmp_class": term.extra.get("atmp_class"),
            "status": term.extra.get("status"),
            "status_changed": term.extra.get("status_changed") or None,
            "first_authorised": term.extra.get("first_authorised") or None,
            "therapeutic_area": term.extra.get("therapeutic_area", ""),
            "holder": term.extra.get("holder", ""),
            "sources": list(term.extra.get("sources", [])),
            "confidence": term.extra.get("confidence"),
        }
        for term in vocabulary.terms
    ]


def authorised_atmps() -> DataVocabulary:
    """The newest version of the EU-authorised ATMPs."""
    return load_vocabulary(VOCABULARY_ID)
