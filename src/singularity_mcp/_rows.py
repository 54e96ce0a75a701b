"""The one row of a query that always yields one (an aggregate, an upsert's RETURNING)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from psycopg import AsyncCursor

_Row = TypeVar("_Row")


async def one_row(cursor: AsyncCursor[_Row]) -> _Row:
    """`cursor.fetchone()` for a statement that cannot come back empty; an empty result is a bug, said so."""
    row = await cursor.fetchone()
    if row is None:
        raise RuntimeError("the statement returned no row, though it always returns one")
    return row
