"""Loads questionnaire definitions from ``forms/``: one place that names Table 1's fields.

A definition is data (TOML), never code. The registry import, the exports, the API and the
questionnaire iterate over the same :class:`FieldDefinition` objects, so a field's column
name, label, level and vocabulary are written down once.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from surveyapp.paths import FORMS_DIR
from surveyapp.vocabulary import Answer, AtmpType, PatientsQualifier, Vocabulary

Level = Literal["institution", "entry"]
FIELD_TYPES = frozenset(
    {"text", "email", "url", "country", "atmp_types", "patient_count", "term_list", "answer"}
)
VOCABULARIES: dict[str, type[Vocabulary] | None] = {
    "atmp_types": AtmpType,
    "patients_qualifiers": PatientsQualifier,
    "answers": Answer,
    "countries": None,  # ISO 3166-1 through pycountry: surveyapp.vocabulary.countries()
}

TABLE1 = ("table1", 1)


class DefinitionError(ValueError):
    """A questionnaire definition file is not well formed."""


@dataclass(frozen=True)
class FieldDefinition:
    """One questionnaire field; ``key`` is also the column name in imports and exports."""

    key: str
    label: str
    level: Level
    type: str
    required: bool = False
    personal: bool = False
    in_table1: bool = True
    vocabulary: str | None = None
    max_length: int | None = None
    short_label: str | None = None
    help: str = ""

    @property
    def heading(self) -> str:
        """The label to use where space is short (table headers)."""
        return self.short_label or self.label


@dataclass(frozen=True)
class Section:
    """A group of fields asked together (the institution once, each entry per programme)."""

    key: str
    title: str
    level: Level
    fields: tuple[FieldDefinition, ...]
    help: str = ""


@dataclass(frozen=True)
class Definition:
    """A versioned questionnaire definition."""

    id: str
    version: int
    title: str
    sections: tuple[Section, ...] = field(default_factory=tuple)
    table1_columns: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[FieldDefinition, ...]:
        """Every field in order."""
        return tuple(f for s in self.sections for f in s.fields)

    def field(self, key: str) -> FieldDefinition:
        """The field named ``key``; KeyError when the definition has none."""
        for candidate in self.fields:
            if candidate.key == key:
                return candidate
        raise KeyError(key)

    def level_fields(self, level: Level) -> tuple[FieldDefinition, ...]:
        """Fields that belong to the institution, or to each entry."""
        return tuple(f for f in self.fields if f.level == level)


def _parse_field(raw: dict, level: Level, where: str) -> FieldDefinition:
    known = {f for f in FieldDefinition.__dataclass_fields__ if f != "level"}
    unknown = set(raw) - known
    if unknown:
        raise DefinitionError(f"{where}: unknown keys {sorted(unknown)}")
    if raw.get("type") not in FIELD_TYPES:
        raise DefinitionError(f"{where}: type must be one of {sorted(FIELD_TYPES)}")
    vocabulary = raw.get("vocabulary")
    if vocabulary is not None and vocabulary not in VOCABULARIES:
        raise DefinitionError(f"{where}: unknown vocabulary {vocabulary!r}")
    try:
        return FieldDefinition(level=level, **raw)
    except TypeError as exc:
        raise DefinitionError(f"{where}: {exc}") from exc


def parse_definition(text: str, source: str = "<string>") -> Definition:
    """Parse and check a definition's TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{source}: {exc}") from exc
    sections = []
    for s_index, section in enumerate(raw.get("sections", []), start=1):
        level = section.get("level")
        if level not in ("institution", "entry"):
            raise DefinitionError(f"{source}: section {s_index} needs level institution|entry")
        fields = tuple(
            _parse_field(f, level, f"{source}: section {s_index} field {f_index}")
            for f_index, f in enumerate(section.get("fields", []), start=1)
        )
        sections.append(
            Section(section["key"], section["title"], level, fields, section.get("help", ""))
        )
    definition = Definition(
        raw["id"],
        int(raw["version"]),
        raw["title"],
        tuple(sections),
        tuple(raw.get("table1_columns", ())),
    )
    keys = [f.key for f in definition.fields]
    if len(keys) != len(set(keys)):
        raise DefinitionError(f"{source}: field keys must be unique")
    in_table1 = {f.key for f in definition.fields if f.in_table1}
    if set(definition.table1_columns) != in_table1:
        raise DefinitionError(
            f"{source}: table1_columns must list exactly the fields with in_table1 = true"
        )
    return definition


@cache
def load_definition(
    definition_id: str = TABLE1[0], version: int = TABLE1[1], forms_dir: Path = FORMS_DIR
) -> Definition:
    """Read ``forms/<id>-v<version>.toml``; cached, since definitions never change once used."""
    path = forms_dir / f"{definition_id}-v{version}.toml"
    return parse_definition(path.read_text(encoding="utf-8"), str(path))


def table1() -> Definition:
    """The Table 1 definition the registry is built on."""
    return load_definition(*TABLE1)


def extract_labels(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor: a definition's titles, labels and help texts are interface text."""
    raw = tomllib.loads(fileobj.read().decode("utf-8"))
    texts = [raw.get("title", "")]
    for section in raw.get("sections", []):
        texts += [section.get("title", ""), section.get("help", "")]
        for entry in section.get("fields", []):
            texts += [entry.get(k, "") for k in ("label", "short_label", "help")]
    for text in dict.fromkeys(t for t in texts if t):
        yield 0, "gettext", text, ["questionnaire definition"]
