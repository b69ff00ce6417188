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
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

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
    return DataVocabulary(raw["id"], raw["version"], str(raw.get("title", raw["id"])), tuple(terms))


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


@cache
def load_vocabulary(name: str, directory: Path | None = None) -> DataVocabulary:
    """The data vocabulary ``<id>-v<version>`` (or, named without a version, its latest)
    from ``directory``, else from the vocabularies/ folder of each definitions folder;
    VocabularyError when there is none."""
    folders = _folders(directory)
    if _LIVING_NAME.match(name) and (latest := latest_version(name, directory)) is not None:
        return load_vocabulary(f"{name}-v{latest}", directory)
    match = _NAME.match(name)
    path = next((f / f"{name}.toml" for f in folders if (f / f"{name}.toml").exists()), None)
    if match is None or path is None:
        raise VocabularyError(f"no vocabulary {name!r} (neither in code nor in {folders})")
    vocabulary = parse_vocabulary(path.read_text(encoding="utf-8"), str(path))
    if vocabulary.name != name:
        raise VocabularyError(f"{path}: declares {vocabulary.name}, not {name}")
    return vocabulary


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
