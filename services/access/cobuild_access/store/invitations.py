"""SQL of invitations."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_contracts import Role

_COLUMNS = """i.invitation_id, i.role, i.party_id, i.invited_by, i.inviter_role, i.inviter_party, i.inviter_grant,
    i.created_at, i.expires_at, i.email, i.mail_state, i.accepted_at, i.accepted_by,
    i.grant_id, i.withdrawn_at, i.withdrawn_by, p.name AS party_name"""
_FROM = "invitations i LEFT JOIN party_directory p ON p.party_id = i.party_id"


async def insert(
    conn: asyncpg.Connection,
    *,
    invitation_id: UUID,
    token_hash: bytes,
    role: Role,
    party_id: UUID,
    invited_by: str,
    inviter_role: Role,
    inviter_party: UUID,
    inviter_grant: UUID | None,
    created_at: datetime,
    expires_at: datetime,
    email: str | None,
) -> bool:
    """False when an invitation with that id already exists (nothing is written)."""
    result = await conn.execute(
        """INSERT INTO invitations (invitation_id, token_hash, role, party_id, invited_by,
               inviter_role, inviter_party, inviter_grant, created_at, expires_at, email)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (invitation_id) DO NOTHING""",
        invitation_id,
        token_hash,
        role.value,
        party_id,
        invited_by,
        inviter_role.value,
        inviter_party,
        inviter_grant,
        created_at,
        expires_at,
        email,
    )
    return str(result).split()[-1] != "0"


async def get(
    conn: asyncpg.Connection, invitation_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    if lock:
        await conn.execute(
            "SELECT 1 FROM invitations WHERE invitation_id = $1 FOR UPDATE", invitation_id
        )
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE i.invitation_id = $1", invitation_id
    )


async def by_token(
    conn: asyncpg.Connection, token_hash: bytes, *, lock: bool = False
) -> asyncpg.Record | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE i.token_hash = $1"
        + (" FOR UPDATE OF i" if lock else ""),
        token_hash,
    )
    return row


async def for_parties(
    conn: asyncpg.Connection, parties: list[UUID] | None, *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    where = "($1::uuid[] IS NULL OR i.party_id = ANY($1) OR i.inviter_party = ANY($1))"
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM {_FROM} WHERE {where}
            ORDER BY i.created_at DESC, i.invitation_id LIMIT $2 OFFSET $3""",
        parties,
        limit,
        offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM invitations i WHERE {where}", parties)
    return rows, int(total)


async def accept(
    conn: asyncpg.Connection, invitation_id: UUID, *, by: str, at: datetime, grant_id: UUID
) -> None:
    """Used: the address goes with it."""
    await conn.execute(
        """UPDATE invitations SET accepted_at = $2, accepted_by = $3, grant_id = $4,
               email = NULL, email_purged_at = CASE WHEN email IS NULL THEN email_purged_at ELSE $2 END
           WHERE invitation_id = $1""",
        invitation_id,
        at,
        by,
        grant_id,
    )


async def withdraw(conn: asyncpg.Connection, invitation_id: UUID, *, by: str, at: datetime) -> None:
    await conn.execute(
        """UPDATE invitations SET withdrawn_at = $2, withdrawn_by = $3,
               email = NULL, email_purged_at = CASE WHEN email IS NULL THEN email_purged_at ELSE $2 END
           WHERE invitation_id = $1""",
        invitation_id,
        at,
        by,
    )


async def renew(
    conn: asyncpg.Connection, invitation_id: UUID, *, token_hash: bytes, expires_at: datetime
) -> None:
    """A new token (the old link stops working) and a new expiry."""
    await conn.execute(
        "UPDATE invitations SET token_hash = $2, expires_at = $3 WHERE invitation_id = $1",
        invitation_id,
        token_hash,
        expires_at,
    )


async def set_mail_state(conn: asyncpg.Connection, invitation_id: UUID, state: str) -> None:
    await conn.execute(
        "UPDATE invitations SET mail_state = $2 WHERE invitation_id = $1", invitation_id, state
    )


async def purge_addresses(conn: asyncpg.Connection, now: datetime) -> int:
    """Addresses of invitations past their expiry are no longer needed: gone."""
    result = await conn.execute(
        """UPDATE invitations SET email = NULL, email_purged_at = $1
           WHERE email IS NOT NULL AND expires_at <= $1""",
        now,
    )
    return int(result.split()[-1])
