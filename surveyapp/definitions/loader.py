"""Reading and checking questionnaire definitions: ``forms/<id>-v<version>.toml``.

A definition is data (TOML), never code. The check names every problem at once, by section
and field key, so whoever writes a new version can fix them in one go; the application
runs it on each definition it loads, ``flask questionnaire check`` on any file, and the
test suite on every file in ``forms/``. A key keeps its type across the versions of one
definition: answers and registry values stored under it must stay readable.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from surveyapp.definitions.model import (
    FIELD_TYPES,
    NUMBER_TYPES,
    VOCABULARY_TYPES,
    Condition,
    Definition,
    FieldDefinition,
    Level,
    Section,
)
from surveyapp.definitions.vocabularies import (
    DEFINITION_DIRS,
    VOCABULARIES_DIR,
    load_vocabulary,
    vocabulary_exists,
)

TABLE1 = ("table1", 1)
_FILE_NAME = re.compile(r"^(?P<id>[a-z][a-z0-9_]*)-v(?P<version>[1-9][0-9]*)\.toml$")
_FIELD_KEYS = {
    "key",
    "label",
    "type",
    "required",
    "personal",
    "in_table1",
    "vocabulary",
    "max_length",
    "short_label",
    "help",
    "min",
    "max",
    "unit",
    "show_if",
    "expected_if",
}


class DefinitionError(ValueError):
    """A questionnaire definition is not well formed; ``problems`` names each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}:\n" + "\n".join(f"  {p}" for p in problems))
        self.source = source
        self.problems = problems


@dataclass
class _Reader:
    """Collects the problems of one file while building its definition."""

    source: str
    vocabularies_dir: Path
    problems: list[str]

    def field(self, raw: dict[str, Any], level: Level, where: str) -> FieldDefinition | None:
        where = f"{where}, field {raw.get('key', '?')!r}"
        unknown = set(raw) - _FIELD_KEYS
        if unknown:
            self.problems.append(f"{where}: unknown keys {sorted(unknown)}")
        if not raw.get("key") or not raw.get("label"):
            self.problems.append(f"{where}: needs a key and a label")
        kind = raw.get("type")
        if kind not in FIELD_TYPES:
            self.problems.append(f"{where}: type {kind!r} must be one of {sorted(FIELD_TYPES)}")
        vocabulary = raw.get("vocabulary")
        if vocabulary is not None and not vocabulary_exists(vocabulary, self.vocabularies_dir):
            self.problems.append(f"{where}: unknown vocabulary {vocabulary!r}")
        if kind in VOCABULARY_TYPES and vocabulary is None:
            self.problems.append(f"{where}: a {kind} field must name its vocabulary")
        for bound in ("min", "max", "unit"):
            if bound in raw and kind not in NUMBER_TYPES:
                self.problems.append(f"{where}: {bound} applies to integer and decimal fields")
        if raw.get("min") is not None and raw.get("max") is not None and raw["min"] > raw["max"]:
            self.problems.append(f"{where}: min is larger than max")
        condition = self.condition(raw.get("show_if"), where)
        expected = self.condition(raw.get("expected_if"), where, "expected_if")
        if unknown or not raw.get("key") or not raw.get("label") or kind not in FIELD_TYPES:
            return None
        try:
            return FieldDefinition(
                level=level, **{**raw, "show_if": condition, "expected_if": expected}
            )
        except TypeError as exc:
            self.problems.append(f"{where}: {exc}")
            return None

    def condition(self, raw: Any, where: str, name: str = "show_if") -> Condition | None:
        if raw is None:
            return None
        if not isinstance(raw, dict) or set(raw) - {"field", "in"} or not raw.get("field"):
            self.problems.append(f'{where}: {name} must be {{ field = "key", in = ["value"] }}')
            return None
        values = raw.get("in", ["yes"])
        return Condition(str(raw["field"]), tuple(str(v) for v in values))

    def definition(self, raw: dict[str, Any]) -> Definition:
        sections = []
        for s_index, section in enumerate(raw.get("sections", []), start=1):
            where = f"section {section.get('key', s_index)!r}"
            level = section.get("level")
            if level not in ("institution", "entry"):
                self.problems.append(f"{where}: needs level institution|entry")
                level = "entry"
            fields = [self.field(f, level, where) for f in section.get("fields", [])]
            sections.append(
                Section(
                    str(section.get("key", s_index)),
                    str(section.get("title", "")),
                    level,
                    tuple(f for f in fields if f is not None),
                    section.get("help", ""),
                )
            )
        if not isinstance(raw.get("id"), str) or not isinstance(raw.get("version"), int):
            self.problems.append("needs id (text) and version (a whole number)")
        return Definition(
            str(raw.get("id", "")),
            int(raw.get("version", 0)) if isinstance(raw.get("version"), int) else 0,
            str(raw.get("title", "")),
            tuple(sections),
            tuple(raw.get("table1_columns", ())),
        )

    def whole(self, definition: Definition) -> None:
        """Problems that span fields: duplicate keys, conditions, Table 1's columns."""
        keys = [f.key for f in definition.fields]
        for key in sorted({k for k in keys if keys.count(k) > 1}):
            self.problems.append(f"field {key!r}: key used more than once")
        by_key = {f.key: f for f in definition.fields}
        for section in definition.sections:
            for field in section.fields:
                for name in ("show_if", "expected_if"):
                    condition = getattr(field, name)
                    if condition is None:
                        continue
                    where = f"section {section.key!r}, field {field.key!r}"
                    target = by_key.get(condition.field)
                    if target is None:
                        self.problems.append(
                            f"{where}: {name} names {condition.field!r}, which is no field"
                        )
                    elif target.key == field.key:
                        self.problems.append(f"{where}: {name} names the field itself")
                    elif target.level != field.level:
                        self.problems.append(
                            f"{where}: {name} names {target.key!r}, which is asked once per "
                            f"{target.level}, not with this field"
                        )
        in_table1 = {f.key for f in definition.fields if f.in_table1}
        if set(definition.table1_columns) != in_table1:
            self.problems.append(
                "table1_columns must list exactly the fields with in_table1 = true"
            )


def _read(text: str, source: str, vocabularies_dir: Path) -> tuple[Definition | None, list[str]]:
    """The definition in a TOML text and every problem found in it."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [f"Invalid TOML: {exc}"]
    reader = _Reader(source, vocabularies_dir, [])
    definition = reader.definition(raw)
    reader.whole(definition)
    return definition, reader.problems


def parse_definition(
    text: str, source: str = "<string>", vocabularies_dir: Path = VOCABULARIES_DIR
) -> Definition:
    """Parse and check a definition's TOML text; DefinitionError names every problem."""
    definition, problems = _read(text, source, vocabularies_dir)
    if problems or definition is None:
        raise DefinitionError(source, problems)
    return definition


def type_changes(previous: Definition, current: Definition) -> list[str]:
    """Keys whose type differs between two versions of one definition, as problems."""
    before = {f.key: f for f in previous.fields}
    return [
        f"field {f.key!r}: type changed from {before[f.key].type} in {previous.name} to {f.type}"
        for f in current.fields
        if f.key in before and before[f.key].type != f.type
    ]


def check_file(path: Path) -> Definition:
    """Check one definition file, and its keys' types against the earlier versions of its
    id beside it; DefinitionError names every problem at once."""
    vocabularies = path.parent / "vocabularies"
    definition, problems = _read(path.read_text(encoding="utf-8"), str(path), vocabularies)
    if definition is None:
        raise DefinitionError(str(path), problems)
    match = _FILE_NAME.match(path.name)
    if match is None or (match["id"], int(match["version"])) != (
        definition.id,
        definition.version,
    ):
        problems.append(f"the file must be named {definition.name}.toml")
    for earlier in range(1, definition.version):
        previous_path = path.parent / f"{definition.id}-v{earlier}.toml"
        if previous_path.exists():
            previous, _ = _read(
                previous_path.read_text(encoding="utf-8"), str(previous_path), vocabularies
            )
            if previous is not None:
                problems += type_changes(previous, definition)
    if problems:
        raise DefinitionError(str(path), problems)
    return definition


_directories = DEFINITION_DIRS


def use_directories(directories: list[Path]) -> None:
    """Where definitions are found, in order (the app sets it from ``QUESTIONNAIRE_DIRS``;
    the tests add a folder of test-only definitions)."""
    _directories[:] = [Path(d) for d in directories]
    load_definition.cache_clear()
    load_vocabulary.cache_clear()


def available() -> list[tuple[str, int]]:
    """(id, version) of every definition file found, in name and version order."""
    found = set()
    for directory in _directories:
        for path in directory.glob("*.toml"):
            match = _FILE_NAME.match(path.name)
            if match:
                found.add((match["id"], int(match["version"])))
    return sorted(found)


def definition_path(definition_id: str, version: int) -> Path:
    """The file of a definition version; FileNotFoundError when no directory has it."""
    for directory in _directories:
        path = directory / f"{definition_id}-v{version}.toml"
        if path.exists():
            return path
    raise FileNotFoundError(f"no questionnaire {definition_id}-v{version} in {_directories}")


def split_name(name: str) -> tuple[str, int]:
    """``table1-v2`` -> (``table1``, 2); ValueError for anything else."""
    match = _FILE_NAME.match(f"{name}.toml")
    if match is None:
        raise ValueError(f"{name!r} is not a questionnaire name like table1-v2")
    return match["id"], int(match["version"])


@cache
def load_definition(definition_id: str = TABLE1[0], version: int = TABLE1[1]) -> Definition:
    """Read and check ``<id>-v<version>.toml``; cached, since definitions never change once
    a campaign has used them."""
    return check_file(definition_path(definition_id, version))


def registry_fields() -> tuple[FieldDefinition, ...]:
    """Every field a definition in use asks, once per key: the registry holds a value for
    each. The newest version of each definition names a key's label; a field dropped by
    a later version stays (its stored values and history are kept)."""
    fields: dict[str, FieldDefinition] = {}
    for definition_id, version in sorted(available(), key=lambda found: found[1]):
        for field in load_definition(definition_id, version).fields:
            fields[field.key] = field
    return tuple(fields.values())


def table1() -> Definition:
    """The Table 1 definition the registry is built on."""
    return load_definition(*TABLE1)


def extract_labels(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor: a definition's titles, labels, help texts and units are interface
    text."""
    raw = tomllib.loads(fileobj.read().decode("utf-8"))
    texts = [raw.get("title", "")]
    for section in raw.get("sections", []):
        texts += [section.get("title", ""), section.get("help", "")]
        for entry in section.get("fields", []):
            texts += [entry.get(k, "") for k in ("label", "short_label", "help", "unit")]
    for text in dict.fromkeys(t for t in texts if t):
        yield 0, "gettext", text, ["questionnaire definition"]
