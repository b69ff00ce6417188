"""What changed between two releases, read from their files rather than from the history.

A changelog compares what was published: each release's ``registry.csv`` and
``institutions.csv``, row by permanent identifier, column by column. So it says exactly
what a reader of the two releases would see differ, whatever happened in between (an edit
made and undone between releases is no change), and it needs nothing but the two folders.

To stay small with 100,000 entries it reads each table twice: first a short digest per row
(a row whose digest is unchanged is unchanged), then only the rows that differ. A column
that one release has and the other lacks counts as empty there, so a field added by a new
questionnaire changes only the rows that have a value for it.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask_babel import force_locale

from surveyapp.i18n import lazy_gettext as _l
from surveyapp.tabular import unneutralise

ENTRIES = "registry.csv"
INSTITUTIONS = "institutions.csv"
JSON_NAME = "changelog.json"
MARKDOWN_NAME = "CHANGELOG.md"
KEY = "public_id"
# Columns that change without the facts changing: stamps, and the list of an institution's
# entries (each entry's own institution column tells where it moved).
IGNORED = frozenset({"last_changed", "last_confirmed", "entries"})
SECTIONS = {
    "institutions": ("added", "changed", "merged", "removed"),
    "entries": ("added", "changed", "retired", "removed"),
}


def write(
    previous: Path | None, current: Path, previous_version: str | None, version: str
) -> dict[str, int]:
    """Write ``changelog.json`` and ``CHANGELOG.md`` into ``current`` (the release being
    made), comparing it with the ``previous`` release's folder; returns the counts."""
    changes: dict[str, Any] = {"version": version, "previous": previous_version}
    for table, file_name in (("institutions", INSTITUTIONS), ("entries", ENTRIES)):
        if previous is None:
            changes[table] = {"added": _count_rows(current / file_name)}
        else:
            changes[table] = _compare(previous / file_name, current / file_name, table)
    counts = {
        f"{table}_{section}": _size(changes[table].get(section))
        for table, sections in SECTIONS.items()
        for section in sections
    }
    changes["counts"] = counts
    with (current / JSON_NAME).open("w", encoding="utf-8") as handle:
        json.dump(changes, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    (current / MARKDOWN_NAME).write_text(markdown(changes), encoding="utf-8")
    return counts


def read(folder: Path) -> dict[str, Any]:
    """A release's changelog as written by :func:`write`."""
    with (folder / JSON_NAME).open(encoding="utf-8") as handle:
        return json.load(handle)


def _size(section: Any) -> int:
    if section is None:
        return 0
    return section if isinstance(section, int) else len(section)


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def _count_rows(path: Path) -> int:
    return sum(1 for _ in _rows(path))


def _digest(row: dict[str, str]) -> bytes:
    """A short fingerprint of a row's compared, non-empty cells."""
    text = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(row.items()) if v and k not in IGNORED)
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _digests(path: Path) -> dict[str, bytes]:
    return {row[KEY]: _digest(row) for row in _rows(path)}


def _wanted(path: Path, keys: set[str]) -> dict[str, dict[str, str]]:
    return {row[KEY]: row for row in _rows(path) if row[KEY] in keys}


def _label(row: dict[str, str], table: str) -> str:
    """How a person recognises the row: the institution's name (and an entry's ATMP type)."""
    name = unneutralise(row.get("institution", ""))
    kind = unneutralise(row.get("atmp_type", ""))
    return f"{name} ({kind})" if table == "entries" and kind else name


def _field_changes(old: dict[str, str], new: dict[str, str]) -> list[dict[str, str]]:
    columns = [*new, *(c for c in old if c not in new)]
    return [
        {
            "field": column,
            "old": unneutralise(old.get(column, "")),
            "new": unneutralise(new.get(column, "")),
        }
        for column in columns
        if column not in IGNORED and old.get(column, "") != new.get(column, "")
    ]


def _compare(old_path: Path, new_path: Path, table: str) -> dict[str, list[dict[str, Any]]]:
    """Rows added, changed (field by field), retired or merged, and removed, by identifier."""
    before, after = _digests(old_path), _digests(new_path)
    added = [key for key in after if key not in before]
    removed = [key for key in before if key not in after]
    changed = [key for key in after if key in before and before[key] != after[key]]
    del before, after
    old_rows = _wanted(old_path, set(removed) | set(changed))
    new_rows = _wanted(new_path, set(added) | set(changed))
    result: dict[str, list[dict[str, Any]]] = {section: [] for section in SECTIONS[table]}
    result["added"] = [{KEY: key, "label": _label(new_rows[key], table)} for key in added]
    result["removed"] = [{KEY: key, "label": _label(old_rows[key], table)} for key in removed]
    for key in changed:
        old, new = old_rows[key], new_rows[key]
        item: dict[str, Any] = {KEY: key, "label": _label(new, table)}
        if table == "entries" and old.get("status") != "retired" == new.get("status"):
            item["reason"] = unneutralise(new.get("retired_reason", ""))
            result["retired"].append(item)
        elif table == "institutions" and not old.get("replaced_by") and new.get("replaced_by"):
            item["into"] = new.get("replaced_by_public_id", "")
            result["merged"].append(item)
        else:
            result["changed"].append(item)
        item["changes"] = _field_changes(old, new)  # a retirement or merge shows them too
    return result


HEADINGS = {
    ("institutions", "added"): _l("Institutions added"),
    ("institutions", "changed"): _l("Institutions changed"),
    ("institutions", "merged"): _l("Institutions merged into another"),
    ("institutions", "removed"): _l("Institutions removed"),
    ("entries", "added"): _l("Entries added"),
    ("entries", "changed"): _l("Entries changed"),
    ("entries", "retired"): _l("Entries retired"),
    ("entries", "removed"): _l("Entries removed"),
}


def markdown(changes: dict[str, Any]) -> str:
    """The changelog for people, in English whoever makes the release: one section per
    kind of change, each change on a line."""
    with force_locale("en"):
        return _markdown(changes)


def _markdown(changes: dict[str, Any]) -> str:
    lines = [f"# Changes in release {changes['version']}", ""]
    if changes["previous"] is None:
        lines += [
            "The first release: "
            f"{changes['institutions']['added']} institutions and "
            f"{changes['entries']['added']} entries.",
            "",
        ]
        return "\n".join(lines)
    lines += [f"Since release {changes['previous']}.", ""]
    for table, sections in SECTIONS.items():
        for section in sections:
            items = changes[table][section]
            if not items:
                continue
            lines += [f"## {HEADINGS[table, section]} ({len(items)})", ""]
            for item in items:
                lines.append(f"- {item[KEY]} {item['label']}" + _markdown_detail(item))
                for change in item.get("changes", []):
                    old, new = _quoted(change["old"]), _quoted(change["new"])
                    lines.append(f"  - {change['field']}: {old} → {new}")
            lines.append("")
    if len(lines) == 4:
        lines += ["No changes.", ""]
    return "\n".join(lines)


def _markdown_detail(item: dict[str, Any]) -> str:
    if "into" in item:
        return f": merged into {item['into']}"
    if item.get("reason"):
        return f": {item['reason']}"
    return ""


def _quoted(value: str) -> str:
    """A value on one line of the Markdown list, whatever line breaks it holds."""
    return '"' + " ".join(value.split()) + '"' if value else "(empty)"
