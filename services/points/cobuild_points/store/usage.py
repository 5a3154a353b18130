"""`points_usage`: the points of the kept awards by the parts the caps count (day, source,
category), moved by a trigger on every journal insert (points migration 0003)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import asyncpg

from cobuild_points.domain.rules import PartKey

# Sent as one row per award and spread to its three parts here: asyncpg checks the type of
# every array element in Python, so five elements an award cost less than twelve.
_USAGE = """
SELECT u.member_id, u.year, u.part, u.key, u.points
FROM unnest($1::uuid[], $2::int[], $3::date[], $4::uuid[], $5::text[]) AS k(m, y, d, s, c)
CROSS JOIN LATERAL (VALUES
    ('day', to_char(k.d, 'YYYY-MM-DD')), ('source', k.s::text), ('category', k.c)
) p(part, key)
JOIN points_usage u ON u.member_id = k.m AND u.year = k.y AND u.part = p.part AND u.key = p.key
"""


async def of_awards(
    conn: asyncpg.Connection, awards: list[tuple[UUID, date, UUID, str]]
) -> dict[PartKey, Decimal]:
    """The used points of each part of (member, business date, source, category), as
    `domain.rules.part_keys` names them; parts with nothing used are absent."""
    wanted = list(set(awards))
    rows = await conn.fetch(
        _USAGE,
        [a[0] for a in wanted],
        [a[1].year for a in wanted],
        [a[1] for a in wanted],
        [a[2] for a in wanted],
        [a[3] for a in wanted],
    )
    return {(r["member_id"], r["year"], r["part"], r["key"]): r["points"] for r in rows}
