"""The relay's claim marks the rows it publishes in one statement: the mark must stay invisible
until the publish succeeded, and a partition's events must still leave in outbox order."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from cobuild_kit.db import create_pool
from cobuild_kit.kafka import make_producer
from cobuild_kit.relay import OutboxRelay
from cobuild_stack.testing import PgServer, collect
from cobuild_stack.topics import create_topics

from tests.kit.kit_support import staged_outbox

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROWS = 40


class BrokerDown:
    """A producer whose sends fail, as they do while the broker is away."""

    async def send(self, *_: Any, **__: Any) -> Any:
        raise ConnectionError("broker unreachable")


async def _staged(dsn: str, topic: str) -> tuple[asyncpg.Connection, list[str]]:
    conn, ids = await staged_outbox(dsn, topic, ROWS)
    # Every other row moves to the heap's end, so heap order is not id order.
    await conn.execute("UPDATE outbox SET created_at = created_at WHERE id % 2 = 0")
    return conn, ids


async def test_a_failed_publish_leaves_every_claimed_row_unpublished(pg_server: PgServer) -> None:
    dsn = await pg_server.create_database("relayfail")
    conn, _ = await _staged(dsn, "relay.fail")
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        relay = OutboxRelay(service="relaytest", dsn=dsn, pool=pool, producer=BrokerDown())  # type: ignore[arg-type]
        with pytest.raises(ConnectionError):
            await relay.publish_batch(conn)
        marked = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
        assert marked == 0
    finally:
        await pool.close()
        await conn.close()


async def test_a_batch_leaves_in_outbox_order(pg_server: PgServer, kafka_bootstrap: str) -> None:
    dsn = await pg_server.create_database("relayorder")
    topic = f"relay.order.{uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, [topic], 1)  # one partition: its order is the order
    conn, staged = await _staged(dsn, topic)
    pool = await create_pool(dsn, min_size=1, max_size=1)
    producer = make_producer(kafka_bootstrap, idempotence=False, client_id="relay-order")
    await producer.start()
    try:
        relay = OutboxRelay(service="relaytest", dsn=dsn, pool=pool, producer=producer)
        assert await relay.publish_batch(conn) == ROWS
        sent = await collect(kafka_bootstrap, topic, ROWS)
        assert [m.headers["event_id"].decode() for m in sent] == staged
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    finally:
        await producer.stop()
        await pool.close()
        await conn.close()
