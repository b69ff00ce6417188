"""Counting and paging queries: the one way every list of the application is paged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select

from surveyapp.extensions import db

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of rows and how many rows matched in all."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, even when nothing matched)."""
        return max(1, -(-self.total // self.per_page))


def count(query: Select[Any]) -> int:
    """How many rows a SELECT returns, counted in the database."""
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


# The highest page number asked of the database: any page past the last is empty anyway,
# and a number beyond 64 bits made the database driver raise (a 500 for ?page=9999...).
MAX_PAGE = 10**9


def paginate(query: Select[tuple[T]], page: int, per_page: int) -> Page[T]:
    """Page ``page`` (from 1; lower numbers mean 1, higher ones :data:`MAX_PAGE`) of an
    ordered SELECT."""
    page = min(max(1, page), MAX_PAGE)
    items = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, count(query.order_by(None)), page, per_page)


def page_number(raw: str | None) -> int:
    """A page number from a query string: anything that is not a positive number in ASCII
    digits means 1 (``"²".isdigit()`` is true, but int() refuses it), and no number is
    higher than :data:`MAX_PAGE`."""
    if not raw or not raw.isascii() or not raw.isdigit():
        return 1
    return min(max(1, int(raw)), MAX_PAGE)
