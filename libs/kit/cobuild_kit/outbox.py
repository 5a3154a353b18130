"""The outbox: events are rows written in the same transaction as the state they describe."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
from cobuild_contracts import Envelope, Event, wrap

from cobuild_kit.clock import Clock
from cobuild_kit.crash import crash_point
from cobuild_kit.errors import TooLarge
from cobuild_kit.kafka import MAX_EVENT_BYTES

NOTIFY_CHANNEL = "cobuild_outbox"
# The relay and `cobuild outbox resend` take it for their moves of parked rows (relay.py).
PARK_LOCK = 0x0C0B_0003
# The relay sends PostgreSQL's text of the jsonb, which has a space after every ':' and ','
# that pydantic's compact JSON has not, so it is at most twice the compact JSON's bytes, and
# those at most 4 per character. An envelope of fewer characters than this needs no measure.
_SURELY_SMALL_CHARS = MAX_EVENT_BYTES // 8

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

    def __init__(self, producer: str, clock: Clock, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self.producer = producer
        self.clock = clock
        self.max_event_bytes = max_event_bytes

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
        await self._check_sizes(conn, rows)
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

    async def _check_sizes(self, conn: asyncpg.Connection, rows: Sequence[OutboxRow]) -> None:
        """Refuse (TooLarge, so the caller's transaction rolls back) an envelope longer than
        the bound as the relay will send it: a row over the producer's limit would never
        leave. Only an envelope that might be near the bound is measured, by PostgreSQL
        itself (one round trip), since its text of the jsonb is what the relay sends."""
        surely_small = min(_SURELY_SMALL_CHARS, self.max_event_bytes // 8)
        large = [r for r in rows if len(r.envelope_json) > surely_small]
        if not large:
            return
        sizes = await conn.fetch(
            "SELECT octet_length(e::jsonb::text) FROM unnest($1::text[]) AS e",
            [r.envelope_json for r in large],
        )
        for row, size in zip(large, (s[0] for s in sizes), strict=True):
            if size > self.max_event_bytes:
                field = largest_field(row.envelope_json)
                raise TooLarge(
                    f"the {row.event_type} event this would publish is {size:,} bytes encoded, "
                    f"over the limit of {self.max_event_bytes:,} bytes per event; most of it is "
                    f"{field}: make it smaller (fewer or shorter items) or split it",
                    field=field,
                )


def largest_field(envelope_json: str) -> str:
    """The path of the field that holds most of an envelope (e.g. `payload.items`): from the
    payload down, as long as one child holds more than half of its parent."""
    node: Any = json.loads(envelope_json).get("payload")
    path = "payload"
    while isinstance(node, dict | list) and node:
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        sizes = [(len(json.dumps(v, ensure_ascii=False).encode()), k, v) for k, v in children]
        size, name, child = max(sizes, key=lambda t: t[0])
        if size * 2 <= sum(t[0] for t in sizes):
            break
        path, node = f"{path}.{name}", child
    return path


async def backlog(conn: asyncpg.Connection) -> int:
    """Rows the relay is yet to publish (parked rows are not: see `parked`)."""
    value = await conn.fetchval(
        "SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL"
    )
    return int(value)


async def parked(conn: asyncpg.Connection) -> int:
    """Rows the relay parked: refused as unsendable, or held behind such a row of their key."""
    value = await conn.fetchval("SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL")
    return int(value)


async def parked_rows(conn: asyncpg.Connection, limit: int = 1000) -> list[asyncpg.Record]:
    """The parked rows in outbox order: id, event id, type, topic, key, size, when, why."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT id, event_id::text, event_type, topic, key, parked_at, park_reason,
                  octet_length(envelope::text) AS size
           FROM outbox WHERE parked_at IS NOT NULL ORDER BY id LIMIT $1""",
        limit,
    )
    return rows


async def resend_parked(conn: asyncpg.Connection, event_id: UUID | None = None) -> int:
    """Un-park rows so the relay sends them again, in id order: all of them, or those of the
    topic and key of one parked event (it and the rows held behind it). Do it after a fix
    (a raised producer and topic limit, or a correction): a row that still cannot be sent is
    parked again, with the rows of its key behind it. Returns how many rows were un-parked."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PARK_LOCK)
        status = await conn.execute(
            """UPDATE outbox o SET parked_at = NULL, park_reason = NULL
               WHERE o.parked_at IS NOT NULL
                 AND ($1::uuid IS NULL OR EXISTS (
                     SELECT 1 FROM outbox h WHERE h.event_id = $1 AND h.parked_at IS NOT NULL
                       AND h.topic = o.topic AND h.key = o.key))""",
            event_id,
        )
        await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
    return int(status.split()[-1])


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
