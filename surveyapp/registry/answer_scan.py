"""Every answer of one level of the registry (entries, or institutions with an active
entry) read in one pass, for the statistics.

Counting each field's codes with a JSON lookup per code and a statement per field read
the whole registry some fifty times for table1-v2 (four seconds at 100,000 entries). Here
the answers are unnested instead, each owner's fields and each element of a multi-choice
as a row (SQLite's ``json_tree``; PostgreSQL's ``json_each`` and
``json_array_elements_text``), and grouped by field and value: the statistics of every
choice, multi-choice, yes/no and integer field of a level come from that one grouped
result (with, in the same statement, the owners holding a known code of each
multi-choice), plus one statement for the level's total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)

from surveyapp.definitions import FieldDefinition
from surveyapp.extensions import db
from surveyapp.registry.models import Entry, Institution
from surveyapp.vocabulary import EntryStatus


@dataclass
class LevelAnswers:
    """What one pass over a level's answers found.

    ``owners``: how many the level counts (active entries, or institutions with one).
    ``holding[(key, value)]``: owners whose answer to ``key`` is (for a multi-choice:
    contains) ``value``; ``institutions[(key, value)]`` the same counted by institution
    (entry level only, for centres administering a product). ``known[key]``: owners whose
    multi-choice answer holds at least one of the codes asked about.
    """

    owners: int = 0
    holding: dict[tuple[str, Any], int] = field(default_factory=dict)
    institutions: dict[tuple[str, Any], int] = field(default_factory=dict)
    known: dict[str, int] = field(default_factory=dict)


def counted_rows(level: str, *columns: Any) -> Select[Any]:
    """A SELECT of ``columns`` over what a level's figures count: active entries, or
    institutions with an active entry."""
    if level == "entry":
        return select(*columns).select_from(Entry).where(Entry.status == EntryStatus.ACTIVE)
    active = exists().where(
        Entry.institution_id == Institution.id, Entry.status == EntryStatus.ACTIVE
    )
    return select(*columns).select_from(Institution).where(active)


def _values(level: str, keys: list[str]) -> Any:
    """A materialised CTE of (owner, institution, key, value): one row per scalar answer and
    per element of a list answer to the fields ``keys``; no row for a missing or null
    answer. Owners with no answers at all (most of a registry started from Table 1) are
    passed over by comparing their JSON text, before any JSON is read."""
    owner = Entry if level == "entry" else Institution
    institution = Entry.institution_id if level == "entry" else Institution.id
    if db.session.get_bind().dialect.name == "postgresql":
        member = func.json_each(owner.answers).table_valued("key", "value")
        kind = func.json_typeof(member.c.value)
        element = (
            func.json_array_elements_text(case((kind == "array", member.c.value)))
            .table_valued("value")
            .render_derived()
        )
        text_of = member.c.value.op("#>>")(literal_column("'{}'"))
        scalar = case((kind.in_(["string", "number"]), text_of))
        rows = (
            counted_rows(
                level,
                owner.id.label("owner"),
                institution.label("institution"),
                member.c.key.label("key"),
                func.coalesce(element.c.value, scalar).label("value"),
            )
            .join(member, true())
            .outerjoin(element, true())
            .where(member.c.key.in_(keys))
        )
    else:
        node = func.json_tree(owner.answers).table_valued("key", "atom", "path")
        # An element's path names its field: $.key, or $."key" where SQLite quotes it.
        parent = func.trim(func.substr(node.c.path, 3), '"')
        key = case((node.c.path == "$", node.c.key), else_=parent)
        rows = (
            counted_rows(
                level,
                owner.id.label("owner"),
                institution.label("institution"),
                key.label("key"),
                node.c.atom.label("value"),
            )
            .join(node, true())
            .where(key.in_(keys))
        )
    rows = rows.where(cast(owner.answers, String) != "{}")
    return rows.cte("answer_values").prefix_with("MATERIALIZED")


def level_answers(
    level: str,
    fields: list[FieldDefinition],
    codes: dict[str, list[str]],
    *,
    count_owners: bool = True,
) -> LevelAnswers:
    """The answers of a level's ``fields`` grouped by field and value, in one pass; ``codes``
    names the known codes of each multi-choice (for :attr:`LevelAnswers.known`, in the same
    statement); ``count_owners`` False leaves :attr:`LevelAnswers.owners` at 0, a statement
    less for a caller that only needs the groups."""
    found = LevelAnswers()
    if count_owners:
        found.owners = int(db.session.scalar(counted_rows(level, func.count())) or 0)
    if not fields:
        return found
    values = _values(level, [f.key for f in fields])
    grouped = (
        select(
            literal("value").label("row"),
            values.c.key,
            values.c.value,
            func.count(func.distinct(values.c.owner)),
            func.count(func.distinct(values.c.institution)),
        )
        .where(values.c.value.is_not(None))
        .group_by(values.c.key, values.c.value)
    )
    asked = [
        and_(values.c.key == key, values.c.value.in_(known))
        for key, known in codes.items()
        if known
    ]
    if asked:
        with_known = (
            select(
                literal("known").label("row"),
                values.c.key,
                null(),
                func.count(func.distinct(values.c.owner)),
                literal(0),
            )
            .where(or_(*asked))
            .group_by(values.c.key)
        )
        grouped = union_all(grouped, with_known)
    for row, key, value, owners, institutions in db.session.execute(grouped):
        if row == "known":
            found.known[key] = int(owners)
        else:
            found.holding[(key, value)] = int(owners)
            found.institutions[(key, value)] = int(institutions)
    return found
