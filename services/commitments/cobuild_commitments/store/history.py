"""Each commitment's journal, table `commitment_history`: every event it emitted, in order,
plus the steps that publish none (marking done)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import Envelope, Event
from cobuild_kit.db import dumps

Emit = Callable[[Event], Awaitable[Envelope]]


async def record(conn: asyncpg.Connection, emit: Emit, event: Event) -> Envelope:
    """Emit through the outbox and append to the commitment's history, in one transaction."""
    env = await emit(event)
    await conn.execute(
        """INSERT INTO commitment_history (commitment_id, event_id, event_type, occurred_at, payload)
           VALUES ($1, $2, $3, $4, $5)""",
        UUID(env.key),
        env.event_id,
        env.event_type,
        env.occurred_at,
        env.payload,
    )
    return env


async def record_many(conn: asyncpg.Connection, envelopes: Sequence[Envelope]) -> None:
    """`record`'s history rows for events already emitted, in order, in one statement."""
    await conn.execute(
        """INSERT INTO commitment_history (commitment_id, event_id, event_type, occurred_at, payload)
           SELECT c, e, t, o, p::jsonb
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[])
                WITH ORDINALITY AS r(c, e, t, o, p, n)
           ORDER BY n""",
        [UUID(env.key) for env in envelopes],
        [env.event_id for env in envelopes],
        [env.event_type for env in envelopes],
        [env.occurred_at for env in envelopes],
        [dumps(env.payload) for env in envelopes],
    )


async def history(
    conn: asyncpg.Connection, commitment_id: UUID, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the commitment's journal in order, and how many entries it has in all (a
    count over the (commitment_id, seq) index: a commitment has tens of entries, not more)."""
    rows = await conn.fetch(
        """SELECT seq, event_id, event_type, occurred_at, payload, published
           FROM commitment_history
           WHERE commitment_id = $1 ORDER BY seq LIMIT $2 OFFSET $3""",
        commitment_id,
        limit,
        offset,
    )
    total = await conn.fetchval(
        "SELECT count(*) FROM commitment_history WHERE commitment_id = $1", commitment_id
    )
    return [dict(r) for r in rows], int(total)
