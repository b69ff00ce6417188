"""What a questionnaire definition is: sections of typed fields, at institution or entry level.

These frozen dataclasses are the one shape every area reads (the questionnaire builds its
inputs from them, the registry import, exports, the API and the review iterate over them),
so a field's key, label, level, type and vocabulary are written down once, in ``forms/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

Level = Literal["institution", "entry"]

# Table 1's types, each with its own input and reading in the registry.
TABLE1_TYPES = frozenset(
    {"text", "email", "url", "country", "atmp_types", "patient_count", "term_list", "answer"}
)
# Types a later questionnaire can ask without code: each has its own input and validation.
GENERIC_TYPES = frozenset(
    {
        "integer",
        "decimal",
        "date",
        "yes_no_unknown",
        "choice",
        "multi_choice",
        "text_list",
        "long_text",
    }
)
FIELD_TYPES = TABLE1_TYPES | GENERIC_TYPES
# Types whose answers come from a named vocabulary, which the field must name.
VOCABULARY_TYPES = frozenset({"choice", "multi_choice"})
NUMBER_TYPES = frozenset({"integer", "decimal"})


@dataclass(frozen=True)
class Condition:
    """``show_if``: the field is asked only when another field's answer is one of ``values``
    (for a multi-choice field: contains one of them)."""

    field: str
    values: tuple[str, ...]


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
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    show_if: Condition | None = None
    # A soft prompt, never a refusal: when another answer makes this one expected (named a
    # routine application, but no product), the respondent is asked for it.
    expected_if: Condition | None = None

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
    def name(self) -> str:
        """``<id>-v<version>``: how campaigns, the command line and file names call it."""
        return f"{self.id}-v{self.version}"

    # A definition never changes once loaded, and pages ask it for its fields hundreds of
    # times a request, so what follows is worked out once per definition.
    @cached_property
    def fields(self) -> tuple[FieldDefinition, ...]:
        """Every field in order."""
        return tuple(f for s in self.sections for f in s.fields)

    @cached_property
    def keys(self) -> frozenset[str]:
        """The keys of every field."""
        return frozenset(f.key for f in self.fields)

    @cached_property
    def _by_key(self) -> dict[str, FieldDefinition]:
        by_key: dict[str, FieldDefinition] = {}
        for candidate in self.fields:
            by_key.setdefault(candidate.key, candidate)
        return by_key

    @cached_property
    def _by_level(self) -> dict[str, tuple[FieldDefinition, ...]]:
        return {
            level: tuple(f for f in self.fields if f.level == level)
            for level in {f.level for f in self.fields}
        }

    def field(self, key: str) -> FieldDefinition:
        """The field named ``key``; KeyError when the definition has none."""
        return self._by_key[key]

    def level_fields(self, level: Level) -> tuple[FieldDefinition, ...]:
        """Fields that belong to the institution, or to each entry."""
        return self._by_level.get(level, ())
