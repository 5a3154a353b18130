"""SQL of members and experts as their services' events tell them (ids and subjects only)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def upsert_member(
    conn: asyncpg.Connection,
    member_id: UUID,
    *,
    unit_id: UUID,
    community_id: UUID,
    subject: str | None,
    at: datetime,
) -> asyncpg.Record:
    """The member's place, active; the subject, when given, replaces the one known."""
    row = await conn.fetchrow(
        """INSERT INTO members (member_id, unit_id, community_id, subject, active, updated_at)
           VALUES ($1, $2, $3, $4, true, $5)
           ON CONFLICT (member_id) DO UPDATE SET
               unit_id = EXCLUDED.unit_id, community_id = EXCLUDED.community_id,
               subject = COALESCE(EXCLUDED.subject, members.subject), active = true,
               updated_at = EXCLUDED.updated_at
           RETURNING member_id, unit_id, community_id, subject, active""",
        member_id,
        unit_id,
        community_id,
        subject,
        at,
    )
    assert row is not None
    return row


async def member_registered(
    conn: asyncpg.Connection, member_id: UUID, *, unit_id: UUID, at: datetime
) -> None:
    """A member known from their registration: their unit only. A member already known (a
    report, or a redelivery) is left as it is."""
    await conn.execute(
        """INSERT INTO members (member_id, unit_id, community_id, subject, active, updated_at)
           VALUES ($1, $2, NULL, NULL, true, $3) ON CONFLICT (member_id) DO NOTHING""",
        member_id,
        unit_id,
        at,
    )


async def member(
    conn: asyncpg.Connection, member_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT member_id, unit_id, community_id, subject, active FROM members WHERE member_id = $1"
        + (" FOR UPDATE" if lock else ""),
        member_id,
    )


async def link_member(
    conn: asyncpg.Connection, member_id: UUID, subject: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE members SET subject = $2, updated_at = $3 WHERE member_id = $1",
        member_id,
        subject,
        at,
    )


async def move_member(
    conn: asyncpg.Connection, member_id: UUID, community_id: UUID, at: datetime
) -> bool:
    result = await conn.execute(
        "UPDATE members SET community_id = $2, updated_at = $3 WHERE member_id = $1",
        member_id,
        community_id,
        at,
    )
    return str(result) != "UPDATE 0"


async def member_left(conn: asyncpg.Connection, member_id: UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE members SET active = false, updated_at = $2 WHERE member_id = $1", member_id, at
    )


async def upsert_expert(
    conn: asyncpg.Connection, expert_id: UUID, *, subject: str | None, active: bool, at: datetime
) -> asyncpg.Record:
    """The expert, active; the subject, when given, replaces the one known."""
    row = await conn.fetchrow(
        """INSERT INTO experts (expert_id, subject, active, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (expert_id) DO UPDATE SET
               subject = COALESCE(EXCLUDED.subject, experts.subject), active = EXCLUDED.active,
               updated_at = EXCLUDED.updated_at
           RETURNING expert_id, subject, active""",
        expert_id,
        subject,
        active,
        at,
    )
    assert row is not None
    return row


async def expert(conn: asyncpg.Connection, expert_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT expert_id, subject, active FROM experts WHERE expert_id = $1", expert_id
    )


async def link_expert(
    conn: asyncpg.Connection, expert_id: UUID, subject: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE experts SET subject = $2, updated_at = $3 WHERE expert_id = $1",
        expert_id,
        subject,
        at,
    )
