"""Residents' one-time rating codes, table `rating_codes` (hashes only), and the ratings they
were spent on, table `ratings`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def issued_for(conn: asyncpg.Connection, whistle_id: UUID) -> int:
    """How many codes the whistle has had, counted under a transaction-scoped lock on its
    codes, so that two issues at once cannot both pass the cap."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('rating_codes:' || $1::uuid::text, 0))",
        whistle_id,
    )
    n: int = await conn.fetchval(
        "SELECT count(*) FROM rating_codes WHERE whistle_id = $1", whistle_id
    )
    return n


async def issue(
    conn: asyncpg.Connection,
    hashes: list[str],
    whistle_id: UUID,
    *,
    issued_by: str,
    issuer_party_id: UUID,
    issued_from: str,
    issued_at: datetime,
    expires_at: datetime,
) -> None:
    await conn.executemany(
        """INSERT INTO rating_codes (code_hash, whistle_id, issued_by, issuer_party_id,
               issued_from, issued_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [
            (h, whistle_id, issued_by, issuer_party_id, issued_from, issued_at, expires_at)
            for h in hashes
        ],
    )


async def lock(conn: asyncpg.Connection, code_hash: str) -> asyncpg.Record | None:
    """The code's whistle, expiry, use and issuer, locked for its redemption."""
    return await conn.fetchrow(
        """SELECT whistle_id, expires_at, used_at, issued_by, issuer_party_id, issued_from
           FROM rating_codes WHERE code_hash = $1 FOR UPDATE""",
        code_hash,
    )


async def spend(
    conn: asyncpg.Connection,
    code_hash: str,
    *,
    rating_id: UUID,
    whistle_id: UUID,
    rating: int,
    satisfied: bool,
    comment: str,
    at: datetime,
    address: str,
    flag_reason: str | None,
) -> None:
    """Use the code once and keep the rating it was spent on (flagged with its reason, if it
    was the issuing party's own)."""
    await conn.execute("UPDATE rating_codes SET used_at = $2 WHERE code_hash = $1", code_hash, at)
    await conn.execute(
        """INSERT INTO ratings (rating_id, whistle_id, code_hash, rating, satisfied, comment,
               rated_at, client_address, flagged, flag_reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        rating_id,
        whistle_id,
        code_hash,
        rating,
        satisfied,
        comment,
        at,
        address,
        flag_reason is not None,
        flag_reason,
    )


async def summary(conn: asyncpg.Connection, whistle_id: UUID) -> asyncpg.Record:
    """Codes issued and used, ratings counted (not flagged) and satisfied ones."""
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM rating_codes WHERE whistle_id = $1) AS issued,
                  (SELECT count(*) FROM rating_codes WHERE whistle_id = $1
                     AND used_at IS NOT NULL) AS used,
                  count(*) FILTER (WHERE NOT flagged) AS rated,
                  count(*) FILTER (WHERE NOT flagged AND satisfied) AS satisfied
           FROM ratings WHERE whistle_id = $1""",
        whistle_id,
    )
    assert row is not None
    return row
