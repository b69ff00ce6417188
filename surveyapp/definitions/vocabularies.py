"""The vocabularies a definition can name: those defined in code, and those kept as data.

Table 1's vocabularies live in :mod:`surveyapp.vocabulary` (models store their values and
check them with constraints) and keep working under their names. A later questionnaire
names a data vocabulary instead: ``forms/vocabularies/<id>-v<version>.toml`` with codes,
labels, optional translations and optional extra columns, versioned like definitions and
named with its version (``technology_platforms-v1``), so an answer given under one version
keeps its labels when a new version adds terms.

A vocabulary that follows the world rather than the questionnaire (the EU-authorised ATMPs:
products are authorised and withdrawn between campaigns) is named without a version
(``authorised_atmps``) and means its latest version. Each version keeps every code of the
one before (codes are never deleted), so answers given under an earlier version keep their
labels.

The shipped version is a file; later ones are recorded in the database
(:class:`~surveyapp.definitions.models.VocabularyVersion`), so every app server sharing it
sees a new version without a restart. Which versions are recorded is looked up at most once
per request (``flask.g``); a version, once parsed, is kept for the life of the process (it
never changes). Outside an application context (``flask questionnaire check`` reading a
file) only the files count.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from flask import g, has_app_context
from sqlalchemy import select

from surveyapp.definitions.models import VocabularyVersion
from surveyapp.extensions import db
from surveyapp.paths import FORMS_DIR
from surveyapp.vocabulary import Answer, AtmpType, PatientsQualifier, Vocabulary, YesNoUnknown

# Vocabularies defined in code, by the name a definition uses.
CODE_VOCABULARIES: dict[str, type[Vocabulary] | None] = {
    "atmp_types": AtmpType,
    "patients_qualifiers": PatientsQualifier,
    "answers": Answer,
    "yes_no_unknown": YesNoUnknown,
    "countries": None,  # ISO 3166-1 through pycountry: surveyapp.vocabulary.countries()
}
VOCABULARIES_DIR = FORMS_DIR / "vocabularies"
# Folders of definitions, in order; each may hold a vocabularies/ folder (see
# surveyapp.definitions.loader.use_directories, which sets it).
DEFINITION_DIRS: list[Path] = [FORMS_DIR]
_NAME = re.compile(r"^(?P<id>[a-z][a-z0-9_]*)-v(?P<version>[1-9][0-9]*)$")
_LIVING_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class VocabularyError(ValueError):
    """A vocabulary file is not well formed, or a name refers to none."""


@dataclass(frozen=True)
class Term:
    """One value of a data vocabulary: its stored code, its label, and optional
    translations of the label and extra columns (e.g. an EMA product number)."""

    code: str
    label: str
    translations: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def label_in(self, language: str | None) -> str:
        """The label in ``language`` where the file translates it, else as written."""
        return self.translations.get(language or "", self.label)


@dataclass(frozen=True)
class DataVocabulary:
    """A vocabulary kept as data in ``forms/vocabularies/``."""

    id: str
    version: int
    title: str
    terms: tuple[Term, ...]
    # what the header holds besides id, version and title (e.g. cut_off, source)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.id}-v{self.version}"

    def choices(self, language: str | None = None) -> list[tuple[str, str]]:
        """(code, label) pairs in file order, labels in ``language`` where translated."""
        return [(term.code, term.label_in(language)) for term in self.terms]


def parse_vocabulary(text: str, source: str = "<string>") -> DataVocabulary:
    """Read a vocabulary file's TOML, naming every problem found."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise VocabularyError(f"{source}: {exc}") from exc
    return vocabulary_from_mapping(raw, source)


_HEADER = {"id", "version", "title", "terms"}


def vocabulary_from_mapping(raw: dict[str, Any], source: str = "<mapping>") -> DataVocabulary:
    """A vocabulary from what a file holds once read (header keys and a list of terms),
    whether it came from a file or from a recorded version; names every problem found."""
    problems = []
    terms = []
    for index, entry in enumerate(raw.get("terms", []), start=1):
        unknown = set(entry) - {"code", "label", "translations", "extra"}
        if unknown:
            problems.append(f"term {index}: unknown keys {sorted(unknown)}")
        if not entry.get("code") or not entry.get("label"):
            problems.append(f"term {index}: needs a code and a label")
            continue
        terms.append(
            Term(
                str(entry["code"]),
                str(entry["label"]),
                dict(entry.get("translations", {})),
                dict(entry.get("extra", {})),
            )
        )
    codes = [term.code for term in terms]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        problems.append(f"code {code!r} appears more than once")
    if not isinstance(raw.get("id"), str) or not isinstance(raw.get("version"), int):
        problems.append("needs id (text) and version (a whole number)")
    if not terms:
        problems.append("has no terms")
    if problems:
        raise VocabularyError(f"{source}: " + "; ".join(problems))
    details = {key: value for key, value in raw.items() if key not in _HEADER}
    return DataVocabulary(
        raw["id"], raw["version"], str(raw.get("title", raw["id"])), tuple(terms), details
    )


def term_record(term: Term) -> dict[str, Any]:
    """A term as a vocabulary file (and a recorded version) holds it."""
    record: dict[str, Any] = {"code": term.code, "label": term.label}
    if term.translations:
        record["translations"] = dict(term.translations)
    if term.extra:
        record["extra"] = dict(term.extra)
    return record


def latest_version(vocabulary_id: str, directory: Path | None = None) -> int | None:
    """The newest version of a data vocabulary found in the folders, or None."""
    versions = [
        int(match["version"])
        for folder in _folders(directory)
        for path in folder.glob(f"{vocabulary_id}-v*.toml")
        if (match := _NAME.match(path.stem)) and match["id"] == vocabulary_id
    ]
    return max(versions, default=None)


def _folders(directory: Path | None) -> list[Path]:
    return [directory] if directory else [d / "vocabularies" for d in DEFINITION_DIRS]


# A recorded version is known by its row's id and creation time as well as its number, so
# a version recorded, rolled back and recorded again differently is never mistaken.
_Stamp = tuple[int, datetime]
_recorded: dict[tuple[str, int, _Stamp], DataVocabulary] = {}


def recorded_versions(vocabulary_id: str) -> dict[int, _Stamp]:
    """The versions of a vocabulary recorded in the database (number -> row stamp), looked
    up at most once per request or command; none outside an application context."""
    if not has_app_context():
        return {}
    known: dict[str, dict[int, _Stamp]] = g.setdefault("recorded_vocabulary_versions", {})
    if vocabulary_id not in known:
        rows = db.session.execute(
            select(
                VocabularyVersion.version, VocabularyVersion.id, VocabularyVersion.created_at
            ).where(VocabularyVersion.vocabulary_id == vocabulary_id)
        )
        known[vocabulary_id] = {version: (row_id, created) for version, row_id, created in rows}
    return known[vocabulary_id]


def forget_recorded_versions() -> None:
    """Look the recorded versions up again at the next use (after recording one)."""
    if has_app_context():
        g.pop("recorded_vocabulary_versions", None)


def newest_version(vocabulary_id: str, directory: Path | None = None) -> int | None:
    """The version a name without one means: the newest of the shipped files and, unless a
    folder is given, of the versions recorded in the database; None when there is none."""
    versions = set(recorded_versions(vocabulary_id)) if directory is None else set()
    if (shipped := latest_version(vocabulary_id, directory)) is not None:
        versions.add(shipped)
    return max(versions, default=None)


def load_vocabulary(name: str, directory: Path | None = None) -> DataVocabulary:
    """The data vocabulary ``<id>-v<version>`` (or, named without a version, its newest)
    from ``directory``, else from the versions recorded in the database and the
    vocabularies/ folder of each definitions folder; VocabularyError when there is none.

    A recorded version wins over a file of the same number: it is what this registry's
    answers were given under.
    """
    if _LIVING_NAME.match(name) and (latest := newest_version(name, directory)) is not None:
        name = f"{name}-v{latest}"
    match = _NAME.match(name)
    if match is not None and directory is None:
        vocabulary_id, version = match["id"], int(match["version"])
        stamp = recorded_versions(vocabulary_id).get(version)
        if stamp is not None:
            return _recorded_vocabulary(vocabulary_id, version, stamp)
    return _file_vocabulary(name, directory)


def _recorded_vocabulary(vocabulary_id: str, version: int, stamp: _Stamp) -> DataVocabulary:
    key = (vocabulary_id, version, stamp)
    if key not in _recorded:
        row = db.session.get(VocabularyVersion, stamp[0])
        if row is None:
            raise VocabularyError(f"vocabulary {vocabulary_id}-v{version} is no longer recorded")
        raw = {
            **row.details,
            "id": row.vocabulary_id,
            "version": row.version,
            "title": row.title,
            "terms": row.terms,
        }
        _recorded[key] = vocabulary_from_mapping(raw, f"recorded {vocabulary_id}-v{version}")
    return _recorded[key]


@cache
def _file_vocabulary(name: str, directory: Path | None) -> DataVocabulary:
    folders = _folders(directory)
    match = _NAME.match(name)
    path = next((f / f"{name}.toml" for f in folders if (f / f"{name}.toml").exists()), None)
    if match is None or path is None:
        raise VocabularyError(f"no vocabulary {name!r} (neither in code nor in {folders})")
    vocabulary = parse_vocabulary(path.read_text(encoding="utf-8"), str(path))
    if vocabulary.name != name:
        raise VocabularyError(f"{path}: declares {vocabulary.name}, not {name}")
    return vocabulary


# surveyapp.definitions.loader.use_directories clears what was read from the folders.
load_vocabulary.cache_clear = _file_vocabulary.cache_clear  # type: ignore[attr-defined]


def vocabulary_exists(name: str, directory: Path | None = None) -> bool:
    """True when a definition may name ``name``."""
    if name in CODE_VOCABULARIES:
        return True
    try:
        load_vocabulary(name, directory)
    except VocabularyError:
        return False
    return True


def choices(name: str, language: str | None = None) -> list[tuple[str, str]]:
    """(value, label) pairs of a named vocabulary, code or data (not countries)."""
    code = CODE_VOCABULARIES.get(name)
    if code is not None:
        return code.choices()
    return load_vocabulary(name).choices(language)


def codes(name: str) -> set[str]:
    """The values a named vocabulary allows (not countries)."""
    return {value for value, _label in choices(name)}
