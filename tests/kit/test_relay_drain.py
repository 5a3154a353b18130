"""The relay draining a backlog larger than one batch, against real PostgreSQL and the broker."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from cobuild_kit.db import create_pool
from cobuild_kit.kafka import make_producer
from cobuild_kit.relay import OutboxRelay
from cobuild_stack.testing import PgServer, collect
from cobuild_stack.topics import create_topics
from prometheus_client import REGISTRY

from tests.kit.kit_support import staged_outbox

pytestmark = pytest.mark.asyncio(loop_scope="session")

BATCH = 3
ROWS = 3 * BATCH + 1  # three full batches and one short one


async def test_a_drain_counts_the_backlog_once_not_after_every_full_batch(
    pg_server: PgServer, kafka_bootstrap: str
) -> None:
    """Counting the unpublished rows after each full batch made a large drain quadratic."""
    dsn = await pg_server.create_database("relay")
    topic = f"relay.drain.{uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, [topic], 2)
    conn, _ = await staged_outbox(dsn, topic, ROWS)
    counts: list[str] = []

    def log(query: Any) -> None:
        if "count(*)" in query.query:
            counts.append(query.query)

    conn.add_query_logger(log)
    pool = await create_pool(dsn, min_size=1, max_size=1)
    producer = make_producer(kafka_bootstrap, idempotence=False, client_id="relay-drain")
    await producer.start()
    try:
        relay = OutboxRelay(
            service="relaytest", dsn=dsn, pool=pool, producer=producer, batch_size=BATCH
        )
        published = [await relay.publish_batch(conn) for _ in range(5)]
        assert published == [BATCH, BATCH, BATCH, 1, 0]
        assert len(counts) == 1  # after the first full batch only, then not for a while
        assert REGISTRY.get_sample_value("cobuild_outbox_backlog") == 0  # the short batch
        unpublished = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        assert unpublished == 0
        assert len(await collect(kafka_bootstrap, topic, ROWS)) == ROWS
    finally:
        await producer.stop()
        await pool.close()
        await conn.close()
