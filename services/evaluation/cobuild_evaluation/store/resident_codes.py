"""Residents' one-time codes, kept as hashes only: issued for a commitment, used once."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def issue(
    conn: asyncpg.Connection,
    hashes: list[str],
    commitment_id: UUID,
    issued_by: str,
    issued_at: datetime,
    expires_at: datetime,
) -> None:
    await conn.executemany(
        """INSERT INTO resident_codes (code_hash, commitment_id, issued_by, issued_at, expires_at)
           VALUES ($1, $2, $3, $4, $5)""",
        [(h, commitment_id, issued_by, issued_at, expires_at) for h in hashes],
    )


async def lock(conn: asyncpg.Connection, code_hash: str) -> asyncpg.Record | None:
    """The code's commitment_id, expires_at and used_at, locked for its redemption."""
    return await conn.fetchrow(
        "SELECT commitment_id, expires_at, used_at FROM resident_codes WHERE code_hash = $1 FOR UPDATE",
        code_hash,
    )


async def use(conn: asyncpg.Connection, code_hash: str, at: datetime) -> None:
    await conn.execute("UPDATE resident_codes SET used_at = $2 WHERE code_hash = $1", code_hash, at)
