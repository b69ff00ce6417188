"""Answers to the generic field types: read from what a person typed, checked, rendered.

Table 1's eight types keep their own readings in :mod:`surveyapp.registry.values` (they
map printed text onto model columns). Every other type is handled here, once, for every
area: the questionnaire reads form input with :func:`read`, the registry import and the
curator's edit read cells the same way, and pages, exports, the API and statistics show
values with :func:`render`. Stored shapes are plain JSON: integers as ints, decimals as
normalised strings (no binary rounding), dates as ISO ``YYYY-MM-DD``, choices as codes,
multi-choices and text lists as lists of strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from surveyapp.definitions.model import GENERIC_TYPES, FieldDefinition
from surveyapp.definitions.vocabularies import choices

_LIST_SEPARATORS = re.compile(r"\s*(?:\n|;)\s*")


@dataclass(frozen=True)
class Reading:
    """A value read from text, or the problem that kept it from being read."""

    value: Any
    problem: str | None = None


def is_generic(field: FieldDefinition) -> bool:
    """True for a type handled here rather than by Table 1's own readings: the generic
    types, and a one-line ``text`` that is not one of Table 1's columns (a city, a
    programme's name), which is kept in ``answers`` like them."""
    return field.type in GENERIC_TYPES or (field.type == "text" and not field.in_table1)


def _bounded(field: FieldDefinition, number: Decimal, shown: str) -> Reading | None:
    if field.min is not None and number < Decimal(str(field.min)):
        return Reading(None, f"must be at least {_plain(field.min)}; {shown!r} is less")
    if field.max is not None and number > Decimal(str(field.max)):
        return Reading(None, f"must be at most {_plain(field.max)}; {shown!r} is more")
    return None


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _items(raw: str | list[str]) -> list[str]:
    values = raw if isinstance(raw, list) else _LIST_SEPARATORS.split(raw)
    return [v.strip() for v in values if v and v.strip()]


def _codes_of(field: FieldDefinition, raw: str | list[str]) -> tuple[list[str], list[str]]:
    """Codes for the items given (codes or labels, any case), and items that are neither."""
    allowed = choices(field.vocabulary or "")
    by_text = {code.casefold(): code for code, _ in allowed}
    by_text |= {str(label).casefold(): code for code, label in allowed}
    found, unknown = [], []
    for item in _items(raw):
        code = by_text.get(item.casefold())
        (found if code else unknown).append(code or item)
    return list(dict.fromkeys(found)), unknown


def read(field: FieldDefinition, raw: str | list[str] | None) -> Reading:
    """The stored value of a generic field from what was typed or ticked ('' or [] is no
    answer), or the problem with it, worded for the person who typed it."""
    if raw is None or raw == "" or raw == []:
        return Reading(None)
    text = raw.strip() if isinstance(raw, str) else raw
    match field.type:
        case "integer":
            if not isinstance(text, str) or not re.fullmatch(r"[+-]?\d+", text):
                return Reading(None, f"must be a whole number; {raw!r} is not")
            return _bounded(field, Decimal(text), text) or Reading(int(text))
        case "decimal":
            try:
                number = Decimal(str(text).replace(",", "."))
            except InvalidOperation:
                return Reading(None, f"must be a number; {raw!r} is not")
            if not number.is_finite():
                return Reading(None, f"must be a number; {raw!r} is not")
            return _bounded(field, number, str(text)) or Reading(str(number.normalize()))
        case "date":
            try:
                return Reading(date.fromisoformat(str(text)).isoformat())
            except ValueError:
                return Reading(None, f"must be a date as YYYY-MM-DD; {raw!r} is not")
        case "yes_no_unknown" | "choice":
            codes, unknown = _codes_of(field, [str(text)])
            if unknown or len(codes) != 1:
                allowed = ", ".join(code for code, _ in choices(field.vocabulary or ""))
                return Reading(None, f"must be one of {allowed}; {raw!r} is not")
            return Reading(codes[0])
        case "multi_choice":
            codes, unknown = _codes_of(field, text)
            if unknown:
                return Reading(None, f"{', '.join(map(repr, unknown))} is not a choice offered")
            return Reading(codes or None)
        case "text_list":
            items = list(dict.fromkeys(_items(text)))
            too_long = [i for i in items if field.max_length and len(i) > field.max_length]
            if too_long:
                return Reading(None, f"each item may have at most {field.max_length} characters")
            return Reading(items or None)
        case "text":
            if "\n" in str(text):
                return Reading(None, "must be one line")
            if field.max_length and len(str(text)) > field.max_length:
                return Reading(None, f"may have at most {field.max_length} characters")
            return Reading(str(text))
        case "long_text":
            if field.max_length and len(str(text)) > field.max_length:
                return Reading(None, f"may have at most {field.max_length} characters")
            return Reading(str(text))
    raise ValueError(f"{field.key}: {field.type} is not a generic type")


def render(field: FieldDefinition, value: Any, language: str | None = None) -> str:
    """The text a person reads for a stored value ('' for none): labels for codes, the
    unit after numbers, items joined with '; ' as Table 1's lists are."""
    if value is None or value == [] or value == "":
        return ""
    match field.type:
        case "integer" | "decimal":
            return f"{value} {field.unit}" if field.unit else str(value)
        case "yes_no_unknown" | "choice":
            return dict(choices(field.vocabulary or "", language)).get(value, str(value))
        case "multi_choice":
            labels = dict(choices(field.vocabulary or "", language))
            return "; ".join(str(labels.get(code, code)) for code in value)
        case "text_list":
            return "; ".join(value)
    return str(value)


def condition_met(field: FieldDefinition, answers: dict[str, Any]) -> bool:
    """Whether a field is asked, given the other answers of its level (always, without
    ``show_if``); the server ignores answers to a field whose condition is not met."""
    if field.show_if is None:
        return True
    given = answers.get(field.show_if.field)
    if isinstance(given, list):
        return any(str(item) in field.show_if.values for item in given)
    return given is not None and str(given) in field.show_if.values


def json_schema(field: FieldDefinition) -> dict[str, Any]:
    """The JSON Schema of a generic field's value, for the API's OpenAPI document."""
    match field.type:
        case "integer":
            schema: dict[str, Any] = {"type": ["integer", "null"]}
            if field.min is not None:
                schema["minimum"] = field.min
            if field.max is not None:
                schema["maximum"] = field.max
            return schema
        case "decimal":
            return {"type": ["string", "null"], "pattern": r"^-?\d+(\.\d+)?(E[+-]?\d+)?$"}
        case "date":
            return {"type": ["string", "null"], "format": "date"}
        case "yes_no_unknown" | "choice":
            codes = [code for code, _ in choices(field.vocabulary or "")]
            return {"type": ["string", "null"], "enum": [*codes, None]}
        case "multi_choice":
            codes = [code for code, _ in choices(field.vocabulary or "")]
            return {"type": ["array", "null"], "items": {"type": "string", "enum": codes}}
        case "text_list":
            return {"type": ["array", "null"], "items": {"type": "string"}}
    return {"type": ["string", "null"]}
