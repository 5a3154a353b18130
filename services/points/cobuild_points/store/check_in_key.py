"""The key that signs check-in tokens (one row, made by the migration)."""

from __future__ import annotations

import asyncpg


async def key(conn: asyncpg.Connection) -> bytes:
    secret: str | None = await conn.fetchval("SELECT secret FROM check_in_key")
    if secret is None:  # the migration makes it: its absence is a broken database
        raise RuntimeError("check_in_key has no row")
    return secret.encode()
