"""What changed between two questionnaire definitions, field by field.

Coordinators choosing a version for a campaign, and curators comparing answers given under
different versions, need to know which fields a version adds, drops or asks differently.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from surveyapp.definitions.model import Definition, FieldDefinition

_COMPARED = [f.name for f in fields(FieldDefinition) if f.name != "key"]


@dataclass(frozen=True)
class FieldChange:
    """One field asked differently: which attributes changed, from what to what."""

    key: str
    changes: tuple[tuple[str, object, object], ...]


@dataclass(frozen=True)
class DefinitionDiff:
    """Fields added, removed and changed from ``old`` to ``new``."""

    old: Definition
    new: Definition
    added: tuple[FieldDefinition, ...]
    removed: tuple[FieldDefinition, ...]
    changed: tuple[FieldChange, ...]

    def lines(self) -> list[str]:
        """The difference as lines a person reads (the command line prints them)."""
        out = [f"{self.old.name} -> {self.new.name}"]
        out += [f"+ {f.key} ({f.type}, {f.level}): {f.label}" for f in self.added]
        out += [f"- {f.key} ({f.type}, {f.level}): {f.label}" for f in self.removed]
        for change in self.changed:
            details = "; ".join(f"{name}: {old!r} -> {new!r}" for name, old, new in change.changes)
            out.append(f"~ {change.key}: {details}")
        if len(out) == 1:
            out.append("no field differs")
        return out


def diff(old: Definition, new: Definition) -> DefinitionDiff:
    """Compare two definitions by field key."""
    before = {f.key: f for f in old.fields}
    after = {f.key: f for f in new.fields}
    changed = []
    for key in after.keys() & before.keys():
        differences = tuple(
            (name, getattr(before[key], name), getattr(after[key], name))
            for name in _COMPARED
            if getattr(before[key], name) != getattr(after[key], name)
        )
        if differences:
            changed.append(FieldChange(key, differences))
    order = [f.key for f in new.fields]
    return DefinitionDiff(
        old,
        new,
        tuple(f for f in new.fields if f.key not in before),
        tuple(f for f in old.fields if f.key not in after),
        tuple(sorted(changed, key=lambda c: order.index(c.key))),
    )
