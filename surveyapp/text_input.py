"""Form text as people typed it: line endings normalised to LF before anything reads it.

Browsers send the text of a ``<textarea>`` with CRLF line endings (the HTML standard
requires it), while defaults, templates and stored values use LF. Comparing, counting or
storing the raw text would make a campaign stop recognising its own default email texts
and make a list the browser accepted exceed the server's length limit. The application's
request class therefore parses every form (and query string) into a multidict whose
values have CRLF and lone CR replaced by LF, so no view, form or service sees a CR.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict


def has_line_break(text: str | None) -> bool:
    """Whether ``text`` holds a line break. Text that ends up in an email header (a sender's
    name, a subject, a campaign's or a contact's name) cannot: every email carrying it would
    fail for good. A text input never sends one, but a crafted request or an imported cell
    can."""
    # every character str.splitlines() breaks at (\x0b, \x0c, \x1c-\x1e, \x85, \u2028,
    # \u2029 as well as \n and \r): Python's email headers refuse them all
    return bool(text) and text.splitlines() != [text]


def normalise_line_endings(text: str) -> str:
    """``text`` with CRLF and lone CR line endings replaced by LF."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _pairs(mapping: Any) -> Iterable[tuple[Any, Any]]:
    if mapping is None:
        return []
    if isinstance(mapping, MultiDict):
        return mapping.items(multi=True)
    if isinstance(mapping, Mapping):
        pairs: list[tuple[Any, Any]] = []
        for key, value in mapping.items():
            values = value if isinstance(value, list | tuple) else [value]
            pairs.extend((key, item) for item in values)
        return pairs
    return mapping


class TypedText(ImmutableMultiDict[str, str]):
    """Form fields and query arguments with their line endings normalised to LF."""

    def __init__(self, mapping: Any = None) -> None:
        super().__init__(
            [
                (key, normalise_line_endings(value) if isinstance(value, str) else value)
                for key, value in _pairs(mapping)
            ]
        )


class TextRequest(Request):
    """The application's request: every form and query value arrives with LF line endings."""

    parameter_storage_class = TypedText
