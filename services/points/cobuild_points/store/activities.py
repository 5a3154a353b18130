"""Activities, sign-ups, check-ins and confirmed attendance."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_kit.errors import NotFound

from cobuild_points.store.paging import Slice, fetch_slice


async def insert(conn: asyncpg.Connection, **a: Any) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO activity (activity_id, community_id, title, category, starts_at, ends_at,
               place, capacity, rule_code, check_in_code, published_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *""",
        a["activity_id"],
        a["community_id"],
        a["title"],
        a["category"],
        a["starts_at"],
        a["ends_at"],
        a["place"],
        a["capacity"],
        a["rule_code"],
        a["check_in_code"],
        a["published_at"],
    )
    assert row is not None
    return row


async def get(conn: asyncpg.Connection, activity_id: UUID, *, lock: bool = False) -> asyncpg.Record:
    sql = "SELECT * FROM activity WHERE activity_id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, activity_id)
    if row is None:
        raise NotFound(f"activity {activity_id} not found")
    return row


async def find(conn: asyncpg.Connection, activity_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM activity WHERE activity_id = $1", activity_id)


async def of_community(
    conn: asyncpg.Connection, community_id: UUID, *, limit: int, offset: int
) -> Slice:
    return await fetch_slice(
        conn,
        """SELECT a.*, (SELECT count(*) FROM signup s WHERE s.activity_id = a.activity_id) AS taken,
                  count(*) OVER () AS total_rows
           FROM activity a WHERE community_id = $1 ORDER BY starts_at, activity_id""",
        community_id,
        limit=limit,
        offset=offset,
    )


async def taken(conn: asyncpg.Connection, activity_id: UUID) -> int:
    return int(
        await conn.fetchval("SELECT count(*) FROM signup WHERE activity_id = $1", activity_id)
    )


async def signup(
    conn: asyncpg.Connection, activity_id: UUID, member_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    sql = "SELECT * FROM signup WHERE activity_id = $1 AND member_id = $2"
    return await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), activity_id, member_id)


async def signups(
    conn: asyncpg.Connection, activity_id: UUID, member_ids: list[UUID], *, lock: bool = False
) -> dict[UUID, asyncpg.Record]:
    """The sign-ups of `member_ids` to the activity; locked in member order (no deadlock)."""
    sql = """SELECT * FROM signup WHERE activity_id = $1 AND member_id = ANY($2::uuid[])
             ORDER BY member_id"""
    rows = await conn.fetch(sql + (" FOR UPDATE" if lock else ""), activity_id, member_ids)
    return {r["member_id"]: r for r in rows}


async def sign_up(
    conn: asyncpg.Connection, activity_id: UUID, member_id: UUID, at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO signup (activity_id, member_id, signed_up_at) VALUES ($1, $2, $3)",
        activity_id,
        member_id,
        at,
    )


async def cancel_sign_up(conn: asyncpg.Connection, activity_id: UUID, member_id: UUID) -> None:
    await conn.execute(
        "DELETE FROM signup WHERE activity_id = $1 AND member_id = $2", activity_id, member_id
    )


async def check_in(
    conn: asyncpg.Connection, activity_id: UUID, member_id: UUID, at: datetime
) -> None:
    await conn.execute(
        "UPDATE signup SET checked_in_at = $3 WHERE activity_id = $1 AND member_id = $2",
        activity_id,
        member_id,
        at,
    )


async def overlapping_attendance(
    conn: asyncpg.Connection, member_id: UUID, activity: asyncpg.Record
) -> UUID | None:
    """Another confirmed attendance of the member whose activity window overlaps this one."""
    found: UUID | None = await conn.fetchval(
        """SELECT a.activity_id FROM signup s JOIN activity a USING (activity_id)
           WHERE s.member_id = $1 AND s.confirmed_at IS NOT NULL AND a.activity_id <> $2
             AND tstzrange(a.starts_at, a.ends_at) && tstzrange($3, $4)
           LIMIT 1""",
        member_id,
        activity["activity_id"],
        activity["starts_at"],
        activity["ends_at"],
    )
    return found


async def overlapping_attendances(
    conn: asyncpg.Connection, member_ids: list[UUID], activity: asyncpg.Record
) -> dict[UUID, UUID]:
    """Per member among `member_ids`, another confirmed attendance overlapping this one's window."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (s.member_id) s.member_id, a.activity_id
           FROM signup s JOIN activity a USING (activity_id)
           WHERE s.member_id = ANY($1::uuid[]) AND s.confirmed_at IS NOT NULL
             AND a.activity_id <> $2 AND tstzrange(a.starts_at, a.ends_at) && tstzrange($3, $4)
           ORDER BY s.member_id, a.activity_id""",
        member_ids,
        activity["activity_id"],
        activity["starts_at"],
        activity["ends_at"],
    )
    return {r["member_id"]: r["activity_id"] for r in rows}


async def confirm_many(
    conn: asyncpg.Connection,
    activity_id: UUID,
    hours: list[tuple[UUID, Decimal]],
    by: str,
    at: datetime,
) -> None:
    await conn.execute(
        """UPDATE signup s SET hours = h.hours, confirmed_by = $4, confirmed_at = $5
           FROM unnest($2::uuid[], $3::numeric[]) AS h(member_id, hours)
           WHERE s.activity_id = $1 AND s.member_id = h.member_id""",
        activity_id,
        [m for m, _ in hours],
        [h for _, h in hours],
        by,
        at,
    )


async def confirm(
    conn: asyncpg.Connection,
    activity_id: UUID,
    member_id: UUID,
    hours: Decimal,
    by: str,
    at: datetime,
) -> None:
    await conn.execute(
        """UPDATE signup SET hours = $3, confirmed_by = $4, confirmed_at = $5
           WHERE activity_id = $1 AND member_id = $2""",
        activity_id,
        member_id,
        hours,
        by,
        at,
    )


async def of_member(conn: asyncpg.Connection, member_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT s.*, a.title, a.community_id, a.starts_at, a.ends_at FROM signup s
           JOIN activity a USING (activity_id) WHERE s.member_id = $1 ORDER BY a.starts_at""",
        member_id,
    )
    return rows


async def roster(conn: asyncpg.Connection, activity_id: UUID, *, limit: int, offset: int) -> Slice:
    return await fetch_slice(
        conn,
        """SELECT s.*, m.name, count(*) OVER () AS total_rows FROM signup s
           JOIN member m USING (member_id)
           WHERE s.activity_id = $1 ORDER BY s.signed_up_at, s.member_id""",
        activity_id,
        limit=limit,
        offset=offset,
    )
