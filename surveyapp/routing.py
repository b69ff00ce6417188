"""URL converters: numeric ids in URLs stay within what the database's id columns hold.

Integer primary keys are 32-bit on PostgreSQL; a larger number in a URL would make the
database raise instead of simply finding nothing. With this converter such a URL does not
match any route and answers 404 like any other unknown id.
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
