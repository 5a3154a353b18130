"""Members (ids only, never names) and their per-year points totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
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


# (entry_id, member_id, year, points, community_id, unit_id, business_day), in event order.
PointsRow = tuple[UUID, UUID, int, Decimal, UUID, UUID, date]

_ENTRIES = """
INSERT INTO points_entries (entry_id, member_id, year, points, community_id, unit_id, business_day)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::numeric[], $5::uuid[], $6::uuid[],
                     $7::date[])
ON CONFLICT DO NOTHING RETURNING entry_id
"""
# Existing member-years move by the run's sum (community/unit: those of the run's latest
# positive entry, if any); new ones start from it. As if entry by entry: the community/unit of
# the latest award is where the year's points were earned.
_TOTALS = """
WITH run AS (
    SELECT * FROM unnest($1::uuid[], $2::int[], $3::numeric[], $4::uuid[], $5::uuid[],
                         $6::boolean[]) AS r(member_id, year, total, community_id, unit_id, moves)
), moved AS (
    UPDATE member_points p SET total = p.total + run.total,
        community_id = CASE WHEN run.moves THEN run.community_id ELSE p.community_id END,
        unit_id = CASE WHEN run.moves THEN run.unit_id ELSE p.unit_id END
    FROM run WHERE p.member_id = run.member_id AND p.year = run.year
    RETURNING p.member_id, p.year
)
INSERT INTO member_points (member_id, year, total, community_id, unit_id)
SELECT member_id, year, total, community_id, unit_id FROM run
WHERE NOT EXISTS (SELECT 1 FROM moved m WHERE m.member_id = run.member_id AND m.year = run.year)
"""


async def add_points_many(conn: asyncpg.Connection, rows: list[PointsRow]) -> None:
    """Append each entry once (unique on its id) and move its member-year total with it, in
    order: one statement for the entries, one for the totals."""
    if not rows:
        return
    fresh = {
        r["entry_id"]
        for r in await conn.fetch(_ENTRIES, *(list(c) for c in zip(*rows, strict=True)))
    }
    # (member, year) → [total, community, unit, moved by a positive entry]
    runs: dict[tuple[UUID, int], list[Any]] = {}
    for entry_id, member_id, year, points, community_id, unit_id, _ in rows:
        if entry_id not in fresh:
            continue
        fresh.discard(entry_id)
        run = runs.setdefault((member_id, year), [Decimal(0), community_id, unit_id, False])
        run[0] += points
        if points > 0:
            run[1:] = [community_id, unit_id, True]
    if not runs:
        return
    keys = sorted(runs)
    await conn.execute(
        _TOTALS,
        [k[0] for k in keys],
        [k[1] for k in keys],
        *([runs[k][i] for k in keys] for i in range(4)),
    )


async def serves_in(
    conn: asyncpg.Connection, member_id: UUID, community_id: UUID, year: int
) -> bool:
    """Reported to the community, or earned points there in the year."""
    return bool(
        await conn.fetchval(
            """SELECT 1 FROM members WHERE member_id = $1 AND community_id = $2
               UNION SELECT 1 FROM member_points WHERE member_id = $1 AND year = $3 AND community_id = $2""",
            member_id,
            community_id,
            year,
        )
    )


async def community_of(conn: asyncpg.Connection, member_id: UUID) -> UUID | None:
    """The community a member serves in (as the points service last reported), or None."""
    found: UUID | None = await conn.fetchval(
        "SELECT community_id FROM members WHERE member_id = $1", member_id
    )
    return found
