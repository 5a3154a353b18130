"""Members: the only place names and phone numbers are stored."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_kit.errors import Conflict, NotFound

from cobuild_points.domain.roster import MemberDraft

_INSERT = """
INSERT INTO member (member_id, name, phone, unit_id, residence_community_id, grid_id,
                    show_full_name, registered_by, registered_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""


async def insert(
    conn: asyncpg.Connection, member_id: UUID, draft: MemberDraft, by: str, at: datetime
) -> None:
    try:
        await conn.execute(
            _INSERT,
            member_id,
            draft.name,
            draft.phone,
            draft.unit_id,
            draft.community_id,
            draft.grid_id,
            draft.show_full_name,
            by,
            at,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict("a member with this phone number is already registered") from None


async def existing_phones(conn: asyncpg.Connection, phones: list[str]) -> set[str]:
    rows = await conn.fetch("SELECT phone FROM member WHERE phone = ANY($1::text[])", phones)
    return {r["phone"] for r in rows}


async def get(conn: asyncpg.Connection, member_id: UUID, *, lock: bool = False) -> asyncpg.Record:
    sql = "SELECT * FROM member WHERE member_id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, member_id)
    if row is None:
        raise NotFound(f"member {member_id} not found")
    return row


async def find(conn: asyncpg.Connection, member_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM member WHERE member_id = $1", member_id)


async def placements(
    conn: asyncpg.Connection, member_ids: list[UUID]
) -> dict[UUID, tuple[UUID | None, UUID]]:
    """(community served, unit) of each registered member among `member_ids`."""
    rows = await conn.fetch(
        "SELECT member_id, community_id, unit_id FROM member WHERE member_id = ANY($1::uuid[])",
        member_ids,
    )
    return {r["member_id"]: (r["community_id"], r["unit_id"]) for r in rows}


async def request_report(conn: asyncpg.Connection, member_id: UUID, community_id: UUID) -> None:
    await conn.execute(
        "UPDATE member SET status = 'requested', requested_community_id = $2 WHERE member_id = $1",
        member_id,
        community_id,
    )


async def accept_report(conn: asyncpg.Connection, member_id: UUID, at: datetime) -> asyncpg.Record:
    row = await conn.fetchrow(
        """UPDATE member SET status = 'reported', community_id = requested_community_id,
               requested_community_id = NULL, reported_at = $2
           WHERE member_id = $1 RETURNING *""",
        member_id,
        at,
    )
    assert row is not None
    return row


async def decline_report(conn: asyncpg.Connection, member_id: UUID) -> None:
    await conn.execute(
        "UPDATE member SET status = 'registered', requested_community_id = NULL "
        "WHERE member_id = $1",
        member_id,
    )


async def transfer(
    conn: asyncpg.Connection,
    member_id: UUID,
    community_id: UUID,
    grid_id: UUID | None,
    at: datetime,
) -> None:
    await conn.execute(
        """UPDATE member SET community_id = $2, residence_community_id = $2, grid_id = $3,
               reported_at = $4 WHERE member_id = $1""",
        member_id,
        community_id,
        grid_id,
        at,
    )


async def leave(conn: asyncpg.Connection, member_id: UUID, reason: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE member SET status = 'left', left_at = $2, left_reason = $3, "
        "requested_community_id = NULL WHERE member_id = $1",
        member_id,
        at,
        reason,
    )


async def set_show_full_name(conn: asyncpg.Connection, member_id: UUID, value: bool) -> None:
    await conn.execute(
        "UPDATE member SET show_full_name = $2 WHERE member_id = $1", member_id, value
    )


async def of_community(conn: asyncpg.Connection, community_id: UUID) -> list[asyncpg.Record]:
    """Members serving the community, and those asking to report to it."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT * FROM member
           WHERE (community_id = $1 AND status = 'reported')
              OR (requested_community_id = $1 AND status = 'requested')
           ORDER BY registered_at, member_id""",
        community_id,
    )
    return rows
