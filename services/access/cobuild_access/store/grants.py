"""SQL of grants and of their holders' display names."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_contracts import Role

_COLUMNS = """g.grant_id, g.subject, g.role, g.party_id, g.granted_by, g.granted_at, g.origin,
    g.invitation_id, g.revoked_by, g.revoked_at, g.revoke_reason,
    h.display_name, p.name AS party_name, p.kind AS party_kind"""
_FROM = """grants g
    LEFT JOIN holders h ON h.subject = g.subject
    LEFT JOIN party_directory p ON p.party_id = g.party_id"""


async def insert(
    conn: asyncpg.Connection,
    *,
    grant_id: UUID,
    subject: str,
    role: Role,
    party_id: UUID,
    granted_by: str,
    granted_at: datetime,
    origin: str,
    invitation_id: UUID | None = None,
) -> bool:
    """False if the subject already holds that live grant (nothing written)."""
    row = await conn.fetchrow(
        """INSERT INTO grants (grant_id, subject, role, party_id, granted_by, granted_at, origin,
                               invitation_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (subject, role, party_id) WHERE revoked_at IS NULL DO NOTHING
           RETURNING grant_id""",
        grant_id,
        subject,
        role.value,
        party_id,
        granted_by,
        granted_at,
        origin,
        invitation_id,
    )
    return row is not None


async def get(
    conn: asyncpg.Connection, grant_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    if lock:
        await conn.execute("SELECT 1 FROM grants WHERE grant_id = $1 FOR UPDATE", grant_id)
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM {_FROM} WHERE g.grant_id = $1", grant_id)


async def live(
    conn: asyncpg.Connection, subject: str, role: Role, party_id: UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT {_COLUMNS} FROM {_FROM}
            WHERE g.subject = $1 AND g.role = $2 AND g.party_id = $3 AND g.revoked_at IS NULL""",
        subject,
        role.value,
        party_id,
    )


async def live_for_party(
    conn: asyncpg.Connection, party_id: UUID, role: Role | None = None
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM {_FROM}
            WHERE g.party_id = $1 AND g.revoked_at IS NULL AND ($2::text IS NULL OR g.role = $2)
            ORDER BY g.granted_at, g.grant_id""",
        party_id,
        role.value if role else None,
    )
    return rows


async def of_subject(conn: asyncpg.Connection, subject: str) -> list[asyncpg.Record]:
    """The subject's live grants, for a role switch."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM {_FROM}
            WHERE g.subject = $1 AND g.revoked_at IS NULL
            ORDER BY g.granted_at, g.grant_id""",
        subject,
    )
    return rows


async def for_parties(
    conn: asyncpg.Connection,
    parties: list[UUID] | None,
    *,
    include_revoked: bool,
    role: Role | None,
    limit: int,
    offset: int,
) -> tuple[list[asyncpg.Record], int]:
    """Grants for any of `parties` (None: every party), newest first, and how many in all."""
    where = """($1::uuid[] IS NULL OR g.party_id = ANY($1))
        AND ($2 OR g.revoked_at IS NULL) AND ($3::text IS NULL OR g.role = $3)"""
    args = (parties, include_revoked, role.value if role else None)
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM {_FROM} WHERE {where}
            ORDER BY g.granted_at DESC, g.grant_id LIMIT $4 OFFSET $5""",
        *args,
        limit,
        offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM grants g WHERE {where}", *args)
    return rows, int(total)


async def revoke(
    conn: asyncpg.Connection, grant_id: UUID, *, by: str, at: datetime, reason: str
) -> None:
    await conn.execute(
        """UPDATE grants SET revoked_by = $2, revoked_at = $3, revoke_reason = $4
           WHERE grant_id = $1 AND revoked_at IS NULL""",
        grant_id,
        by,
        at,
        reason,
    )


async def remember_holder(
    conn: asyncpg.Connection, subject: str, display_name: str | None, at: datetime
) -> None:
    """The name the provider gave, kept to list who holds which role (a missing name does
    not erase a known one)."""
    await conn.execute(
        """INSERT INTO holders (subject, display_name, seen_at) VALUES ($1, $2, $3)
           ON CONFLICT (subject) DO UPDATE SET
               display_name = COALESCE(EXCLUDED.display_name, holders.display_name),
               seen_at = EXCLUDED.seen_at""",
        subject,
        display_name,
        at,
    )
