"""One page of a query: its rows and, counted in the same statement, how many there are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass(frozen=True)
class Slice:
    rows: list[asyncpg.Record]
    total: int | None  # None for a page past the end (no row carried the count)


async def fetch_slice(
    conn: asyncpg.Connection, sql: str, *args: Any, limit: int, offset: int
) -> Slice:
    """`sql` selects `count(*) OVER () AS total_rows` (computed before LIMIT, so it counts
    every matching row) and ends with its ORDER BY; the page's bounds are appended."""
    n = len(args)
    rows: list[asyncpg.Record] = await conn.fetch(
        f"{sql} LIMIT ${n + 1} OFFSET ${n + 2}", *args, limit, offset
    )
    if rows:
        return Slice(rows, int(rows[0]["total_rows"]))
    return Slice(rows, 0 if offset == 0 else None)
