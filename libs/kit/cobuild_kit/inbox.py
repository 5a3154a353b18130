"""The inbox: a consumer records each event it applied, in the same transaction as the effect."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def claim(
    conn: asyncpg.Connection,
    consumer: str,
    event_id: UUID,
    *,
    event_type: str,
    topic: str,
    partition: int,
    offset: int,
) -> bool:
    """True the first time; False for a redelivery, which must then change nothing."""
    row = await conn.fetchval(
        """INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset")
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (consumer, event_id) DO NOTHING RETURNING 1""",
        consumer,
        event_id,
        event_type,
        topic,
        partition,
        offset,
    )
    return row is not None
