"""Micro-wishes (微心愿)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_kit.errors import NotFound

from cobuild_points.store.paging import Slice, fetch_slice


async def insert(
    conn: asyncpg.Connection,
    wish_id: UUID,
    community_id: UUID,
    title: str,
    description: str,
    at: datetime,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO wish (wish_id, community_id, title, description, published_at)
           VALUES ($1, $2, $3, $4, $5) RETURNING *""",
        wish_id,
        community_id,
        title,
        description,
        at,
    )
    assert row is not None
    return row


async def get(conn: asyncpg.Connection, wish_id: UUID, *, lock: bool = False) -> asyncpg.Record:
    sql = "SELECT * FROM wish WHERE wish_id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, wish_id)
    if row is None:
        raise NotFound(f"wish {wish_id} not found")
    return row


async def move(
    conn: asyncpg.Connection,
    wish_id: UUID,
    status: str,
    at: datetime,
    member_id: UUID | None = None,
) -> asyncpg.Record:
    column = {"claimed": "claimed_at", "done": "done_at", "fulfilled": "fulfilled_at"}[status]
    row = await conn.fetchrow(
        f"""UPDATE wish SET status = $2, {column} = $3, member_id = coalesce($4, member_id)
            WHERE wish_id = $1 RETURNING *""",
        wish_id,
        status,
        at,
        member_id,
    )
    assert row is not None
    return row


async def of_community(
    conn: asyncpg.Connection,
    community_id: UUID,
    status: str | None,
    stale_before: datetime | None,
    stale: bool | None,
    *,
    limit: int,
    offset: int,
) -> Slice:
    """The community's wishes; `stale` keeps only the open ones published before
    `stale_before` (true), or only the others (false)."""
    return await fetch_slice(
        conn,
        """SELECT *, count(*) OVER () AS total_rows FROM wish
           WHERE community_id = $1 AND ($2::text IS NULL OR status = $2)
             AND ($4::boolean IS NULL
                  OR (status = 'open' AND published_at < $3) = $4)
           ORDER BY published_at, wish_id""",
        community_id,
        status,
        stale_before,
        stale,
        limit=limit,
        offset=offset,
    )


async def of_member(conn: asyncpg.Connection, member_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM wish WHERE member_id = $1 ORDER BY claimed_at", member_id
    )
    return rows
