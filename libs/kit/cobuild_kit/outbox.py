"""The outbox: events are rows written in the same transaction as the state they describe."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

import asyncpg
from cobuild_contracts import Envelope, Event, wrap

from cobuild_kit.clock import Clock
from cobuild_kit.crash import crash_point

NOTIFY_CHANNEL = "cobuild_outbox"

# One round trip for the rows and the wake-up. The rows keep their given order (ids are
# assigned as the ordered rows arrive), and a data-modifying CTE runs whether or not it is read.
_INSERT = """
WITH staged AS (
    INSERT INTO outbox (event_id, topic, key, event_type, envelope)
    SELECT r.event_id, r.topic, r.key, r.event_type, r.envelope::jsonb
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
         WITH ORDINALITY AS r(event_id, topic, key, event_type, envelope, n)
    ORDER BY r.n
)
SELECT pg_notify($6, '')
"""


class OutboxRow(NamedTuple):
    """One staged event: its envelope as JSON text, and the columns the relay reads."""

    event_id: UUID | str
    topic: str
    key: str
    event_type: str
    envelope_json: str


class Outbox:
    """Stages events on a connection that is inside the caller's transaction."""

    def __init__(self, producer: str, clock: Clock) -> None:
        self.producer = producer
        self.clock = clock

    def envelope(
        self,
        event: Event,
        *,
        correlation_id: str | None = None,
        causation_id: UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        return wrap(
            event,
            producer=self.producer,
            correlation_id=correlation_id,
            causation_id=causation_id,
            occurred_at=occurred_at or self.clock.now(),
        )

    async def add(
        self,
        conn: asyncpg.Connection,
        event: Event,
        *,
        correlation_id: str | None = None,
        causation_id: UUID | None = None,
    ) -> Envelope:
        env = self.envelope(event, correlation_id=correlation_id, causation_id=causation_id)
        await self.add_envelopes(conn, [(event.TOPIC, env)])
        return env

    async def add_envelopes(
        self, conn: asyncpg.Connection, items: Sequence[tuple[str, Envelope]]
    ) -> None:
        # The envelope's JSON straight from pydantic's serializer: one encoding per row.
        await self.add_rows(
            conn,
            [
                OutboxRow(env.event_id, topic, env.key, env.event_type, env.model_dump_json())
                for topic, env in items
            ],
        )

    async def add_rows(self, conn: asyncpg.Connection, rows: Sequence[OutboxRow]) -> None:
        """Stage envelopes already encoded. For bulk producers that build the JSON of many
        alike envelopes from one validated envelope (see the assessment's member.scored)."""
        if not conn.is_in_transaction():
            raise RuntimeError("outbox writes must share the state change's transaction")
        if not rows:
            return
        # NOTIFY inside a transaction is delivered at commit, and duplicates fold into one.
        await conn.execute(
            _INSERT,
            [r.event_id for r in rows],
            [r.topic for r in rows],
            [r.key for r in rows],
            [r.event_type for r in rows],
            [r.envelope_json for r in rows],
            NOTIFY_CHANNEL,
        )
        crash_point("outbox.after_insert")


async def backlog(conn: asyncpg.Connection) -> int:
    value = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    return int(value)


async def mark_for_replay(
    conn: asyncpg.Connection, since: datetime, until: datetime, topic: str | None = None
) -> int:
    """Replay: unmark kept rows in a time range; the relay republishes them in id order."""
    status = await conn.execute(
        """UPDATE outbox SET published_at = NULL
           WHERE created_at >= $1 AND created_at < $2 AND published_at IS NOT NULL
             AND ($3::text IS NULL OR topic = $3)""",
        since,
        until,
        topic,
    )
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
    return int(status.split()[-1])
