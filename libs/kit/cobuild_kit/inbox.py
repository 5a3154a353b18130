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


async def claim_many(
    conn: asyncpg.Connection, consumer: str, rows: list[tuple[UUID, str, str, int, int]]
) -> set[UUID]:
    """One statement for a batch of (event_id, event_type, topic, partition, offset): the ids
    seen for the first time."""
    if not rows:
        return set()
    cols = list(zip(*rows, strict=True))
    fresh = await conn.fetch(
        """INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset")
           SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::bigint[])
           ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id""",
        consumer,
        *(list(c) for c in cols),
    )
    return {r["event_id"] for r in fresh}
