"""Members: the only place names and phone numbers are stored."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_kit.errors import Conflict, NotFound

from cobuild_points.domain.roster import PHONE_ELSEWHERE, MemberDraft
from cobuild_points.store.paging import Slice, fetch_slice

_INSERT = """
INSERT INTO member (member_id, name, phone, unit_id, residence_community_id, grid_id,
                    show_full_name, registered_by, registered_at)
VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $8)
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
            by,
            at,
        )
    except asyncpg.UniqueViolationError:
        # Registered meanwhile, by whom is not known here: the answer that names nobody.
        raise Conflict(PHONE_ELSEWHERE, field="body.phone") from None


async def insert_many(
    conn: asyncpg.Connection, rows: list[tuple[UUID, MemberDraft]], by: str, at: datetime
) -> None:
    """One round trip for a roster; a phone registered meanwhile refuses them all."""
    try:
        await conn.executemany(
            _INSERT,
            [(m, d.name, d.phone, d.unit_id, d.community_id, d.grid_id, by, at) for m, d in rows],
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(PHONE_ELSEWHERE, field="body.phone") from None


async def with_phones(conn: asyncpg.Connection, phones: list[str]) -> list[asyncpg.Record]:
    """The members holding any of `phones`: whose unit and communities they are."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT phone, unit_id, residence_community_id, community_id, requested_community_id
           FROM member WHERE phone = ANY($1::text[])""",
        phones,
    )
    return rows


async def get(conn: asyncpg.Connection, member_id: UUID, *, lock: bool = False) -> asyncpg.Record:
    sql = "SELECT * FROM member WHERE member_id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, member_id)
    if row is None:
        raise NotFound(f"member {member_id} not found")
    return row


async def get_many(
    conn: asyncpg.Connection, member_ids: list[UUID], *, lock: bool = False
) -> dict[UUID, asyncpg.Record]:
    """The members found among `member_ids`; locked in id order, so two bulk commands over
    overlapping members cannot deadlock."""
    sql = "SELECT * FROM member WHERE member_id = ANY($1::uuid[]) ORDER BY member_id"
    rows = await conn.fetch(sql + (" FOR UPDATE" if lock else ""), member_ids)
    return {r["member_id"]: r for r in rows}


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


async def by_subject(conn: asyncpg.Connection, subject: str) -> asyncpg.Record | None:
    """The member a sign-in is linked to, if any."""
    return await conn.fetchrow("SELECT * FROM member WHERE subject = $1", subject)


async def link_subject(conn: asyncpg.Connection, member_id: UUID, subject: str) -> None:
    await conn.execute("UPDATE member SET subject = $2 WHERE member_id = $1", member_id, subject)


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


async def accept_reports(
    conn: asyncpg.Connection, member_ids: list[UUID], at: datetime
) -> dict[UUID, asyncpg.Record]:
    rows = await conn.fetch(
        """UPDATE member SET status = 'reported', community_id = requested_community_id,
               requested_community_id = NULL, reported_at = $2
           WHERE member_id = ANY($1::uuid[]) RETURNING *""",
        member_ids,
        at,
    )
    return {r["member_id"]: r for r in rows}


async def decline_reports(
    conn: asyncpg.Connection, member_ids: list[UUID]
) -> dict[UUID, asyncpg.Record]:
    rows = await conn.fetch(
        "UPDATE member SET status = 'registered', requested_community_id = NULL "
        "WHERE member_id = ANY($1::uuid[]) RETURNING *",
        member_ids,
    )
    return {r["member_id"]: r for r in rows}


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


async def of_unit(conn: asyncpg.Connection, unit_id: UUID, *, limit: int, offset: int) -> Slice:
    """The unit's members who have not left, by name (its admin picks from them)."""
    return await fetch_slice(
        conn,
        """SELECT member_id, name, unit_id, status, community_id, requested_community_id,
                  registered_at, reported_at, count(*) OVER () AS total_rows
           FROM member WHERE unit_id = $1 AND status <> 'left'
           ORDER BY name, registered_at, member_id""",
        unit_id,
        limit=limit,
        offset=offset,
    )


async def of_community(
    conn: asyncpg.Connection, community_id: UUID, *, limit: int, offset: int
) -> Slice:
    """Members serving the community, and those asking to report to it."""
    return await fetch_slice(
        conn,
        """SELECT *, count(*) OVER () AS total_rows FROM member
           WHERE (community_id = $1 AND status = 'reported')
              OR (requested_community_id = $1 AND status = 'requested')
           ORDER BY registered_at, member_id""",
        community_id,
        limit=limit,
        offset=offset,
    )
