"""The parties directory (the kit's `party_directory` read model, fed by party.* events):
what a command naming a party checks it against."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def find(conn: asyncpg.Connection, party_id: UUID) -> asyncpg.Record | None:
    """The party's kind and whether it is active; None for a party the directory lacks."""
    return await conn.fetchrow(
        "SELECT kind, active FROM party_directory WHERE party_id = $1", party_id
    )
