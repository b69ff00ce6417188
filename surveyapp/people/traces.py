"""Where an address or a name occurs anywhere in the database, and how to wipe it out.

Personal data hides in free text and JSON as much as in named columns: an SMTP error quoting
the address, a curator's comment naming the person, Table 1's printed text, a submission's
answers, an audit event's details. Rather than trust a list of columns that the next feature
outgrows, erasure and access both scan every text and JSON column of every table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Column, Enum, String, Table, Text, cast, func, or_, select, update

from surveyapp.database import utcnow
from surveyapp.extensions import db

ERASED = "[erased]"


@dataclass(frozen=True)
class Trace:
    """One row whose column names the person: the table, the row's key and the value."""

    table: str
    column: str
    key: dict[str, Any]
    value: Any


@dataclass
class Needles:
    """What identifies the person in stored text: the address and any names they went by."""

    email: str
    names: set[str] = field(default_factory=set)
    # institution names that hold one of the names: never rewritten where they occur
    protected: set[str] = field(default_factory=set)

    @property
    def all(self) -> list[str]:
        """What is looked for inside text: the address first, then names, only full names
        (two words or more, eight letters or more), since a lone "Anna" would also hit
        "St. Anna Kinderspital"."""
        full = [n.strip() for n in self.names if len(n.split()) >= 2 and len(n.strip()) >= 8]
        return [self.email, *sorted(full)]

    @property
    def whole(self) -> list[str]:
        """Names of any length, looked for only as a whole value (a contact person field, a
        changed value in the history, an answer): "Li Wei" is too short to look for inside
        text, but a field holding exactly it holds the person."""
        return sorted({n.strip() for n in self.names if n.strip()})

    def address_only(self) -> Needles:
        """The address without the names."""
        return Needles(self.email)


# An institution's name is never a person's, even when it holds one ("Fondazione Anna
# Rossi"): in these tables only the address is looked for.
ADDRESS_ONLY_TABLES = frozenset({"institution"})


def _text_columns(table: Table) -> list[Column[Any]]:
    return [
        column
        for column in table.columns
        if isinstance(column.type, String | Text | JSON) and not isinstance(column.type, Enum)
    ]


def _matches(column: Column[Any], needle: str) -> Any:
    text = cast(column, Text) if isinstance(column.type, JSON) else column
    return or_(
        func.lower(text).contains(needle.lower(), autoescape=True),
        text.contains(needle, autoescape=True),
    )


def _holds(column: Column[Any], name: str) -> Any:
    """SQL: the column is the name, or (JSON) holds it as a whole string value."""
    if isinstance(column.type, JSON):
        quoted = json.dumps(name, ensure_ascii=False)
        return func.lower(cast(column, Text)).contains(quoted.lower(), autoescape=True)
    return func.lower(func.trim(column)) == name.lower()


def needles_in(table: str, needles: Needles) -> Needles:
    """What is looked for in one table."""
    return needles.address_only() if table in ADDRESS_ONLY_TABLES else needles


def find(needles: Needles, *, skip: Iterable[str] = ()) -> list[Trace]:
    """Every (row, column) of every table whose text or JSON contains the address or a name."""
    skipped = set(skip)
    found: list[Trace] = []
    for table in db.metadata.sorted_tables:
        if table.name in skipped:
            continue
        keys = list(table.primary_key.columns)
        looked_for = needles_in(table.name, needles)
        for column in _text_columns(table):
            condition = or_(
                *(_matches(column, n) for n in looked_for.all),
                *(_holds(column, n) for n in looked_for.whole),
            )
            for row in db.session.execute(select(*keys, column).where(condition)):
                key = {k.name: row[i] for i, k in enumerate(keys)}
                found.append(Trace(table.name, column.name, key, row[len(keys)]))
    return found


def _lower_contains(text: str, needle: str) -> bool:
    return needle.lower() in text.lower() or needle in text


def _replace(text: str, needle: str) -> str:
    """The text with every occurrence of the needle (in any case) replaced."""
    lowered, target = text.lower(), needle.lower()
    out, start = [], 0
    while (at := lowered.find(target, start)) >= 0:
        out.append(text[start:at] + ERASED)
        start = at + len(target)
    return "".join(out) + text[start:] if out else text.replace(needle, ERASED)


def scrubbed(value: Any, needles: Needles) -> Any:
    """The value with the person taken out: a string that is only the address or a name
    becomes None (so no "[erased]" is taken for an address later), a longer one gets the
    occurrences replaced; lists and objects are walked, keys included."""
    if isinstance(value, str):
        for needle in (*needles.all, *needles.whole):
            if value.strip().lower() == needle.lower():
                return None
        kept = sorted(
            (name for name in needles.protected if _lower_contains(value, name)),
            key=len,
            reverse=True,
        )
        masks = {f"\x00{index}\x00": name for index, name in enumerate(kept)}
        for mask, name in masks.items():  # an institution's name stays whole
            value = value.replace(name, mask)
        for needle in needles.all:
            if _lower_contains(value, needle):
                value = _replace(value, needle)
        for mask, name in masks.items():
            value = value.replace(mask, name)
        return value
    if isinstance(value, list):
        return [scrubbed(item, needles) for item in value]
    if isinstance(value, dict):
        return {scrubbed(k, needles) or ERASED: scrubbed(v, needles) for k, v in value.items()}
    return value


def wipe(traces: list[Trace], needles: Needles) -> int:
    """Rewrite every traced value without the person, below the ORM: the audit log and
    Table 1's printed text refuse ORM updates by design, and erasure is the one change the
    law requires of them. Returns how many values changed."""
    tables = {t.name: t for t in db.metadata.sorted_tables}
    db.session.flush()
    changed = 0
    for trace in traces:
        table = tables[trace.table]
        column = table.columns[trace.column]
        new = scrubbed(trace.value, needles_in(trace.table, needles))
        if new is None and not column.nullable:
            new = ERASED
        if new == trace.value:
            continue
        condition = [table.columns[k] == v for k, v in trace.key.items()]
        values: dict[str, Any] = {column.name: new}
        if "updated_at" in table.columns:  # API clients fetch what changed since
            values["updated_at"] = utcnow()
        if "row_version" in table.columns:  # a form opened before cannot write it back
            values["row_version"] = table.columns["row_version"] + 1
        db.session.execute(update(table).where(*condition).values(values))
        changed += 1
    db.session.expire_all()
    return changed
