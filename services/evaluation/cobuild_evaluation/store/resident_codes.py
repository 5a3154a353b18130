"""Residents' one-time codes, kept as hashes only: issued for a commitment, used once. Each
issue and each redemption leaves a row in `resident_code_audit`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def issued_for(conn: asyncpg.Connection, commitment_id: UUID) -> int:
    """How many codes the commitment has had issued, counted under a transaction-scoped lock
    on the commitment's codes, so that two issues at once cannot both pass the bound."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('resident_codes:' || $1::uuid::text, 0))",
        commitment_id,
    )
    n: int = await conn.fetchval(
        "SELECT count(*) FROM resident_codes WHERE commitment_id = $1", commitment_id
    )
    return n


async def issue(
    conn: asyncpg.Connection,
    hashes: list[str],
    commitment_id: UUID,
    *,
    issued_by: str,
    issuer_party_id: UUID,
    issued_from: str,
    issued_at: datetime,
    expires_at: datetime,
) -> None:
    await conn.executemany(
        """INSERT INTO resident_codes (code_hash, commitment_id, issued_by, issued_at, expires_at,
               issuer_party_id, issued_from)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [
            (h, commitment_id, issued_by, issued_at, expires_at, issuer_party_id, issued_from)
            for h in hashes
        ],
    )
    await conn.executemany(
        """INSERT INTO resident_code_audit (code_hash, commitment_id, action, at, actor_subject,
               party_id, client_address)
           VALUES ($1, $2, 'issued', $3, $4, $5, $6)""",
        [(h, commitment_id, issued_at, issued_by, issuer_party_id, issued_from) for h in hashes],
    )


async def find(conn: asyncpg.Connection, code_hash: str) -> asyncpg.Record | None:
    """The code's commitment_id, expires_at and used_at (a look, nothing locked)."""
    return await conn.fetchrow(
        "SELECT commitment_id, expires_at, used_at FROM resident_codes WHERE code_hash = $1",
        code_hash,
    )


async def lock(conn: asyncpg.Connection, code_hash: str) -> asyncpg.Record | None:
    """The code's commitment_id, expires_at, used_at and issuer (issued_by, issuer_party_id,
    issued_from), locked for its redemption."""
    return await conn.fetchrow(
        """SELECT commitment_id, expires_at, used_at, issued_by, issuer_party_id, issued_from
           FROM resident_codes WHERE code_hash = $1 FOR UPDATE""",
        code_hash,
    )


async def use(
    conn: asyncpg.Connection,
    code_hash: str,
    commitment_id: UUID,
    *,
    at: datetime,
    address: str,
    subject: str | None,
    party_id: UUID | None,
    flag_reason: str | None,
    evaluation_id: UUID,
) -> None:
    """Spend the code, and record the redemption (flagged with its reason, if it was the
    issuing party's own)."""
    flagged = flag_reason is not None
    await conn.execute(
        "UPDATE resident_codes SET used_at = $2, flagged = $3 WHERE code_hash = $1",
        code_hash,
        at,
        flagged,
    )
    await conn.execute(
        """INSERT INTO resident_code_audit (code_hash, commitment_id, action, at, actor_subject,
               party_id, client_address, flagged, flag_reason, evaluation_id)
           VALUES ($1, $2, 'redeemed', $3, $4, $5, $6, $7, $8, $9)""",
        code_hash,
        commitment_id,
        at,
        subject,
        party_id,
        address,
        flagged,
        flag_reason,
        evaluation_id,
    )
