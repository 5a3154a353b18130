"""Members (ids only, never names) and their per-year points totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import asyncpg


async def reported(
    conn: asyncpg.Connection, member_id: UUID, unit_id: UUID, community_id: UUID, day: date
) -> None:
    await conn.execute(
        """INSERT INTO members (member_id, unit_id, community_id, reported_on) VALUES ($1, $2, $3, $4)
           ON CONFLICT (member_id) DO UPDATE SET unit_id = $2, community_id = $3,
               reported_on = $4, left_on = NULL""",
        member_id,
        unit_id,
        community_id,
        day,
    )


async def transferred(
    conn: asyncpg.Connection, member_id: UUID, unit_id: UUID, community_id: UUID
) -> None:
    await conn.execute(
        "UPDATE members SET unit_id = $2, community_id = $3 WHERE member_id = $1",
        member_id,
        unit_id,
        community_id,
    )


async def left(conn: asyncpg.Connection, member_id: UUID, day: date) -> None:
    await conn.execute("UPDATE members SET left_on = $2 WHERE member_id = $1", member_id, day)


async def add_points(
    conn: asyncpg.Connection,
    *,
    entry_id: UUID,
    member_id: UUID,
    year: int,
    points: Decimal,
    community_id: UUID,
    unit_id: UUID,
    day: date,
) -> None:
    """Append one entry (unique on its id) and move the member-year total with it."""
    fresh = await conn.fetchval(
        """INSERT INTO points_entries (entry_id, member_id, year, points, community_id, unit_id, business_day)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING 1""",
        entry_id,
        member_id,
        year,
        points,
        community_id,
        unit_id,
        day,
    )
    if fresh is None:
        return
    # The community/unit of the latest award is where the year's points were earned.
    await conn.execute(
        """INSERT INTO member_points (member_id, year, total, community_id, unit_id)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (member_id, year) DO UPDATE SET total = member_points.total + $3,
               community_id = CASE WHEN $3 > 0 THEN $4 ELSE member_points.community_id END,
               unit_id = CASE WHEN $3 > 0 THEN $5 ELSE member_points.unit_id END""",
        member_id,
        year,
        points,
        community_id,
        unit_id,
    )
