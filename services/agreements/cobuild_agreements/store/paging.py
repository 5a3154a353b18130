"""One page of an ordered query, with the total: the query's own `count(*) OVER ()` on a page
that has rows, one count query on a page past the end (rare: a client that overshot)."""

from __future__ import annotations

from typing import Any

import asyncpg

TOTAL = "count(*) OVER () AS total_count"  # the column every paged query selects


async def page(
    conn: asyncpg.Connection, sql: str, *args: Any, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """`sql` selects `TOTAL` with its rows, in their order; limit and offset are appended."""
    n = len(args)
    rows: list[asyncpg.Record] = await conn.fetch(
        f"{sql} LIMIT ${n + 1} OFFSET ${n + 2}", *args, limit, offset
    )
    if rows:
        return rows, int(rows[0]["total_count"])
    if offset == 0:
        return rows, 0
    total = await conn.fetchval(f"SELECT count(*) FROM ({sql}) AS q", *args)
    return rows, int(total)
