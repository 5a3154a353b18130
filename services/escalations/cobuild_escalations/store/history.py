"""Each whistle's journal, table `whistle_history`: every event it emitted, in order, with the
details that stay in this service (a hand-on's reason, who comes, a note)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import Envelope, Event

Emit = Callable[[Event], Awaitable[Envelope]]


async def record(
    conn: asyncpg.Connection, emit: Emit, event: Event, detail: dict[str, Any] | None = None
) -> Envelope:
    """Emit through the outbox and append to the whistle's history, in one transaction."""
    env = await emit(event)
    await conn.execute(
        """INSERT INTO whistle_history (whistle_id, event_id, event_type, occurred_at, payload,
               detail)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        UUID(env.key),
        env.event_id,
        env.event_type,
        env.occurred_at,
        env.payload,
        detail or {},
    )
    return env


async def history(
    conn: asyncpg.Connection, whistle_id: UUID, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    rows = await conn.fetch(
        """SELECT seq, event_id, event_type, occurred_at, payload, detail
           FROM whistle_history WHERE whistle_id = $1 ORDER BY seq LIMIT $2 OFFSET $3""",
        whistle_id,
        limit,
        offset,
    )
    total = await conn.fetchval(
        "SELECT count(*) FROM whistle_history WHERE whistle_id = $1", whistle_id
    )
    return [dict(r) for r in rows], int(total)
