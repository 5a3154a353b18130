"""The members read model (table `members`): ids, unit, community served, and whether they left.

Kept from the points service's member.* events; only ids, never names or phones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

# (member_id, unit_id, community_id): a member reported to a community, in event order.
Report = tuple[UUID, UUID, UUID]


async def reported_many(conn: asyncpg.Connection, reports: Sequence[Report]) -> None:
    """A run of reports in one statement, as if one by one: the last report of a member wins,
    and a report after leaving makes the member current again."""
    last = {member: (member, unit, community) for member, unit, community in reports}
    if not last:
        return
    members, units, communities = (list(c) for c in zip(*last.values(), strict=True))
    await conn.execute(
        """INSERT INTO members (member_id, unit_id, community_id)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[])
           ON CONFLICT (member_id) DO UPDATE SET unit_id = excluded.unit_id,
               community_id = excluded.community_id, left_at = NULL""",
        members,
        units,
        communities,
    )


async def transferred(
    conn: asyncpg.Connection, member_id: UUID, unit_id: UUID, community_id: UUID
) -> None:
    """The member now serves in `community_id` (the event names the unit too, so a transfer
    seen first is enough to know the member)."""
    await conn.execute(
        """INSERT INTO members (member_id, unit_id, community_id) VALUES ($1, $2, $3)
           ON CONFLICT (member_id) DO UPDATE SET unit_id = $2, community_id = $3""",
        member_id,
        unit_id,
        community_id,
    )


async def left(conn: asyncpg.Connection, member_id: UUID, at: datetime) -> None:
    await conn.execute("UPDATE members SET left_at = $2 WHERE member_id = $1", member_id, at)


async def current_of(
    conn: asyncpg.Connection, member_ids: Sequence[UUID], party_id: UUID, *, unit: bool
) -> set[UUID]:
    """Those of `member_ids` currently registered with the party: a unit's own members, or the
    members serving in a community; not those who left."""
    rows = await conn.fetch(
        """SELECT member_id FROM members
           WHERE member_id = ANY($1::uuid[]) AND left_at IS NULL
             AND CASE WHEN $3 THEN unit_id = $2 ELSE community_id = $2 END""",
        list(member_ids),
        party_id,
        unit,
    )
    return {r["member_id"] for r in rows}
