"""Generic fields in the public registry: which are public, an entry's values, and the
directory's filters on them.

A generic field (see :mod:`surveyapp.definitions.answers`) is stored in
``Institution.answers`` or ``Entry.answers`` and read from ``registry_fields()``, so a field
a new questionnaire version adds reaches the institution page, the directory, the exports,
the API and the statistics with no code of its own. Fields marked ``personal`` never
appear in public output. Filters use SQLAlchemy's JSON operators, and a multi-choice is
matched on the JSON text of its array (``"code"`` with its quotes), which reads the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast

from surveyapp.definitions import FieldDefinition, registry_fields
from surveyapp.definitions.answers import is_generic
from surveyapp.definitions.vocabularies import choices
from surveyapp.pagination import Page
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.service import EntryFilters, filtered_entries, search_entries

# Types the directory offers a select for: their answers come from a vocabulary.
FILTER_TYPES = frozenset({"yes_no_unknown", "choice", "multi_choice"})
# Names the directory's own parameters use; a field with one of these keys gets no filter.
RESERVED = frozenset({"q", "disease", "atmp_type", "sort", "page", "needs_curation", "lang"})


def generic_fields(*, include_personal: bool = False) -> tuple[FieldDefinition, ...]:
    """Generic fields of the definitions in use, personal ones only when asked."""
    return tuple(
        f for f in registry_fields() if is_generic(f) and (include_personal or not f.personal)
    )


def filter_fields() -> tuple[FieldDefinition, ...]:
    """Public generic fields the directory and the API filter by (one select each)."""
    taken = RESERVED | set(EntryFilters.__annotations__)
    return tuple(f for f in generic_fields() if f.type in FILTER_TYPES and f.key not in taken)


def filter_choices(field: FieldDefinition, language: str | None = None) -> list[tuple[str, str]]:
    """(code, label) pairs a filter on ``field`` offers, labels in ``language`` where the
    vocabulary translates them."""
    return choices(field.vocabulary or "", language)


def value_of(entry: Entry, field: FieldDefinition) -> Any:
    """The stored answer to a generic field for an entry (its institution's, for an
    institution-level field), or None."""
    owner = entry.institution if field.level == "institution" else entry
    return (owner.answers or {}).get(field.key)


def answer_values(
    entry: Entry,
    *,
    include_personal: bool,
    fields: tuple[FieldDefinition, ...] | None = None,
) -> dict[str, Any]:
    """Every generic field's stored value for an entry, keyed by field key: None for no
    answer, and for personal fields unless the reader may see personal data.

    ``fields`` (``generic_fields(include_personal=True)``) saves finding the definitions
    again for each entry of a long export.
    """
    if fields is None:
        fields = generic_fields(include_personal=True)
    return {
        f.key: value_of(entry, f) if include_personal or not f.personal else None for f in fields
    }


def answer_column(field: FieldDefinition) -> Any:
    """The JSON element of a field's answer, on the entry or on its institution."""
    owner = Institution if field.level == "institution" else Entry
    return owner.answers[field.key]


def answer_is(field: FieldDefinition, code: str) -> ColumnElement[bool]:
    """Entries whose answer to a vocabulary field is (for a multi-choice: contains) ``code``."""
    element = answer_column(field)
    if field.type == "multi_choice":
        return list_holds(element, code)
    return element.as_string() == code


def list_holds(element: Any, code: str) -> ColumnElement[bool]:
    """A JSON list (an answer's element) holds ``code``: matched on the list's JSON text,
    which reads the same on SQLite and PostgreSQL."""
    escaped = code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(element, String).like(f'%"{escaped}"%', escape="\\")


def with_answers(query: Select[Any], answers: dict[str, str]) -> Select[Any]:
    """A SELECT of entries (joined to their institution) narrowed to the given answers,
    keyed by field key; keys of no filter field are ignored."""
    fields = {f.key: f for f in filter_fields()}
    for key, code in answers.items():
        if key in fields and code:
            query = query.where(answer_is(fields[key], code))
    return query


def filtered(filters: EntryFilters, answers: dict[str, str]) -> Select[tuple[Entry]]:
    """The SELECT for entries matching the registry's filters and the answers' filters."""
    return with_answers(filtered_entries(filters), answers)


def search(
    filters: EntryFilters, answers: dict[str, str], page: int = 1, per_page: int = 50
) -> Page[Entry]:
    """A page of entries as :func:`surveyapp.registry.service.search_entries` gives it,
    also narrowed by answers to generic fields."""
    return search_entries(filters, page, per_page, matching=filtered(filters, answers))
