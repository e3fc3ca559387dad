"""Keyset pagination: a page of rows after a position in a stable order.

A position is the values of the ordering columns of the last row served; the next page starts
strictly after it, so rows added or removed meanwhile never cause duplicates or gaps among the
rows that stay. The last ordering column must be unique (an id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

T = TypeVar("T")

Position = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_position: Position | None


@dataclass(frozen=True, slots=True)
class Order:
    columns: Sequence[InstrumentedAttribute[Any]]
    descending: bool = False

    def parse(self, raw: Sequence[Any]) -> Position:
        """A position from its JSON form; ValueError when it does not fit these columns."""
        if not isinstance(raw, list) or len(raw) != len(self.columns):
            raise ValueError("wrong length")
        values = []
        for column, value in zip(self.columns, raw, strict=True):
            kind = column.type.python_type
            if not isinstance(value, str):
                raise ValueError("not a string")
            if kind is datetime:
                parsed: Any = datetime.fromisoformat(str(value))
                if parsed.tzinfo is None:
                    raise ValueError("naive datetime")
            else:
                parsed = kind(value)
            values.append(parsed)
        return tuple(values)

    @staticmethod
    def dump(position: Position) -> list[Any]:
        return [v.isoformat() if isinstance(v, datetime) else str(v) for v in position]

    def after(self, position: Position) -> Any:
        """(a, b, c) > (x, y, z), spelled out so every backend reads it the same way."""
        clauses = []
        for i, column in enumerate(self.columns):
            equal = [c == v for c, v in zip(self.columns[:i], position[:i], strict=True)]
            step = column < position[i] if self.descending else column > position[i]
            clauses.append(and_(*equal, step))
        return or_(*clauses)

    def by(self) -> list[Any]:
        return [c.desc() if self.descending else c.asc() for c in self.columns]


async def keyset_page(
    s: AsyncSession,
    stmt: Select[*tuple[Any, ...]],
    order: Order,
    *,
    after: Position | None,
    limit: int,
    scalars: bool = True,
) -> Page[Any]:
    """One page of ``stmt``'s rows in ``order``; the position of the last row if more follow."""
    if after is not None:
        stmt = stmt.where(order.after(after))
    # Select the ordering values alongside, to build the next position without guessing at
    # attribute names on joined rows.
    stmt = stmt.add_columns(*order.columns).order_by(*order.by()).limit(limit + 1)
    rows = list((await s.execute(stmt)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    width = len(order.columns)
    items = [row[0] if scalars else tuple(row[:-width]) for row in rows]
    last = tuple(rows[-1][-width:]) if more and rows else None
    return Page(items=items, next_position=last)
