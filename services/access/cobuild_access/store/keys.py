"""SQL of the signing keys."""

from __future__ import annotations

from datetime import datetime

import asyncpg

# Rotation is decided by one replica at a time (pg_advisory_xact_lock: released at commit).
_ROTATION_LOCK = 0x636F_6B65_7973  # "cokeys"


async def lock_rotation(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _ROTATION_LOCK)


async def all_keys(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT kid, private_pem, public_raw, created_at, activates_at FROM signing_keys"
        " ORDER BY activates_at, kid"
    )
    return rows


async def insert(
    conn: asyncpg.Connection,
    *,
    kid: str,
    private_pem: bytes,
    public_raw: bytes,
    created_at: datetime,
    activates_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO signing_keys (kid, private_pem, public_raw, created_at, activates_at)
           VALUES ($1, $2, $3, $4, $5)""",
        kid,
        private_pem,
        public_raw,
        created_at,
        activates_at,
    )


async def delete(conn: asyncpg.Connection, kids: list[str]) -> None:
    await conn.execute("DELETE FROM signing_keys WHERE kid = ANY($1)", kids)
