"""The commitments points has heard of: one row per `commitment.opened`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def learn(conn: asyncpg.Connection, opened: list[tuple[UUID, datetime]]) -> None:
    """(commitment id, opened at) of a run of opens; one heard of twice keeps its first."""
    ids, at = zip(*opened, strict=True)
    await conn.execute(
        """INSERT INTO known_commitment (commitment_id, opened_at)
           SELECT * FROM unnest($1::uuid[], $2::timestamptz[])
           ON CONFLICT (commitment_id) DO NOTHING""",
        list(ids),
        list(at),
    )


async def known(conn: asyncpg.Connection, commitment_ids: list[UUID]) -> set[UUID]:
    rows = await conn.fetch(
        "SELECT commitment_id FROM known_commitment WHERE commitment_id = ANY($1::uuid[])",
        commitment_ids,
    )
    return {r["commitment_id"] for r in rows}
