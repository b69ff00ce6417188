"""Numeric ids in URLs and query strings stay within what the database's id columns hold.

Integer primary keys are 32-bit on PostgreSQL (and SQLite's driver refuses more than 64
bits); a larger number would make the database raise instead of simply finding nothing.
With the converter such a URL does not match any route and answers 404 like any other
unknown id; :func:`id_from` reads an id from a query string or a form the same way.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` limited to the range of database ids."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def id_from(raw: str | None) -> int | None:
    """A database id from a query string or form value, or None for anything that is not
    a positive number in ASCII digits within the range of ids (nothing has such an id)."""
    if not raw or not raw.isascii() or not raw.isdigit():
        return None
    number = int(raw)
    return number if 0 < number <= MAX_ID else None
