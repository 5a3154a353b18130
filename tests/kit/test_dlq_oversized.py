"""A dead letter the DLQ cannot take whole, and a DLQ that cannot be reached, lose nothing.

Driven through `BatchProcessor` against the real PostgreSQL and broker, with the records read
back from the topic (the poison one produced by a producer allowed more than the kit's 1 MiB).
Before the fix, `MessageSizeTooLargeError` escaped `process`: FastStream logged it, the next
batch committed past this one, and the valid event behind the poison one was never applied
nor dead-lettered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError
from cobuild_contracts import PartyRegistered, encode
from cobuild_contracts.topics import dlq
from cobuild_kit.clock import FixedClock
from cobuild_kit.consumer import DLQ_KEPT_BYTES, BatchProcessor, ConsumerSpec, EventContext
from cobuild_kit.db import connect, create_pool
from cobuild_kit.kafka import MAX_REQUEST_BYTES, make_producer
from cobuild_kit.outbox import Outbox
from cobuild_kit.testing import BatchDeps, FakeRecord, prepare_database

from tests.kit.kit_support import party

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
TOPIC = f"kit.dlqbig.{uuid4().hex[:8]}"
GROUP = "kittest.dlqbig"
POISON_BYTES = 1_200_000


def spec() -> ConsumerSpec:
    s = ConsumerSpec(purpose="dlqbig", topics=[TOPIC])

    @s.on(PartyRegistered)
    async def registered(ctx: EventContext, e: PartyRegistered) -> None:
        await ctx.conn.execute(
            "INSERT INTO dlqbig_effects (event_id, name) VALUES ($1, $2)",
            ctx.envelope.event_id,
            e.name,
        )

    return s


@dataclass
class Env:
    bootstrap: str
    pool: asyncpg.Pool
    producer: AIOKafkaProducer  # the kit's, limited to MAX_REQUEST_BYTES
    clock: FixedClock

    def processor(self, producer: Any = None) -> BatchProcessor:
        deps = BatchDeps(self.pool, Outbox("kittest", self.clock), self.clock)
        deps.producer = producer or self.producer
        return BatchProcessor(group=GROUP, spec=spec(), deps=deps)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def applied(self, name: str) -> int:
        rows = await self.fetch("SELECT count(*) AS n FROM dlqbig_effects WHERE name = $1", name)
        return int(rows[0]["n"])


async def create_topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(n, num_partitions=1, replication_factor=1) for n in names]
        )
    finally:
        await admin.close()


async def read(bootstrap: str, topic: str, start: int, count: int) -> list[Any]:
    """`count` records of partition 0 of `topic` from offset `start`, as a consumer gets them."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
        max_partition_fetch_bytes=4 * MAX_REQUEST_BYTES,
        fetch_max_bytes=8 * MAX_REQUEST_BYTES,
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, start)
        got: list[Any] = []
        for _ in range(100):
            batch = await consumer.getmany(tp, timeout_ms=200)
            got += batch.get(tp, [])
            if len(got) >= count:
                return got[:count]
        raise AssertionError(f"only {len(got)} of {count} records on {topic} from {start}")
    finally:
        await consumer.stop()


async def end_offset(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(pg_server: Any, kafka_bootstrap: str) -> AsyncIterator[Env]:
    dsn = await pg_server.create_database("kitdlqbig")
    await prepare_database(dsn)
    conn = await connect(dsn)
    try:
        await conn.execute("CREATE TABLE dlqbig_effects (event_id uuid, name text)")
    finally:
        await conn.close()
    await create_topics(kafka_bootstrap, TOPIC, dlq(TOPIC))
    pool = await create_pool(dsn)
    producer = make_producer(kafka_bootstrap, idempotence=False, client_id="kittest-dlqbig")
    await producer.start()
    try:
        yield Env(kafka_bootstrap, pool, producer, FixedClock(NOW))
    finally:
        await producer.stop()
        await pool.close()


async def test_an_oversized_poison_message_is_dead_lettered_truncated_and_the_batch_kept(
    env: Env,
) -> None:
    tag = uuid4().hex[:6]
    poison = b'{"event_id": "' + tag.encode() + b'", "payload": "' + b"x" * POISON_BYTES
    valid = Outbox("kittest", env.clock).envelope(party(f"after-{tag}"))
    start = await end_offset(env.bootstrap, TOPIC)
    dlq_start = await end_offset(env.bootstrap, dlq(TOPIC))
    big = AIOKafkaProducer(bootstrap_servers=env.bootstrap, max_request_size=4 * MAX_REQUEST_BYTES)
    await big.start()
    try:
        headers = [("event_type", b"party.registered"), ("x-test", tag.encode())]
        await big.send_and_wait(TOPIC, poison, key=b"k", headers=headers)
        await big.send_and_wait(TOPIC, encode(valid), key=b"k")
    finally:
        await big.stop()
    records = await read(env.bootstrap, TOPIC, start, 2)
    assert len(records[0].value) == len(poison)

    processor = env.processor()
    assert await processor.process(records) is True  # settled: nothing to retry, nothing lost
    assert await env.applied(f"after-{tag}") == 1
    # A redelivery (a crash before the offsets were committed) applies it no second time.
    assert await processor.process(records[1:]) is True
    assert await env.applied(f"after-{tag}") == 1

    [letter] = await read(env.bootstrap, dlq(TOPIC), dlq_start, 1)
    got = {k: bytes(v).decode() for k, v in letter.headers}
    assert got["dlq.truncated"] == "true"
    assert got["dlq.original_size"] == str(len(poison))
    assert got["dlq.original_topic"] == TOPIC
    assert got["dlq.original_partition"] == "0"
    assert got["dlq.original_offset"] == str(records[0].offset)
    assert got["dlq.error"].startswith("contract:")
    assert got["dlq.consumer_group"] == GROUP
    assert got["x-test"] == tag and got["event_type"] == "party.registered"
    assert letter.value == poison[:DLQ_KEPT_BYTES]
    assert letter.key == b"k"

    # The whole original stays on the source topic, and in the group's dead_letters table.
    [source] = await read(env.bootstrap, TOPIC, records[0].offset, 1)
    assert source.value == poison
    [row] = await env.fetch(
        """SELECT error, original_size, original_value FROM dead_letters
           WHERE consumer = $1 AND topic = $2 AND "offset" = $3""",
        GROUP,
        TOPIC,
        records[0].offset,
    )
    assert row["error"].startswith("contract:")
    assert row["original_size"] == len(poison)
    assert bytes(row["original_value"]) == poison


class AwayProducer:
    """The kit's producer, with the broker away for the first `away` sends."""

    def __init__(self, inner: AIOKafkaProducer, away: int) -> None:
        self.inner = inner
        self.away = away
        self.sends = 0

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        self.sends += 1
        if self.sends <= self.away:
            raise KafkaConnectionError("broker away")
        return await self.inner.send(*args, **kwargs)


async def test_a_dead_letter_that_cannot_be_sent_holds_the_batch_for_redelivery(
    env: Env,
) -> None:
    """A poison message whose DLQ send fails: the batch is not settled (not acked), so it is
    redelivered; the valid event behind it is applied once, the poison one dead-lettered once."""
    tag = uuid4().hex[:6]
    valid = Outbox("kittest", env.clock).envelope(party(f"held-{tag}"))
    records = [
        FakeRecord(TOPIC, 0, 10_000_001, b"k", b'{"not": "an envelope ' + tag.encode()),
        FakeRecord(TOPIC, 0, 10_000_002, b"k", encode(valid)),
    ]
    dlq_start = await end_offset(env.bootstrap, dlq(TOPIC))
    producer = AwayProducer(env.producer, away=2)
    processor = env.processor(producer)
    assert await processor.process(records) is False  # rewind, after a pause
    assert await processor.process(records) is False
    assert await env.applied(f"held-{tag}") == 0
    assert await processor.process(records) is True
    assert await processor.process(records) is True  # a redelivery of the settled batch
    assert await env.applied(f"held-{tag}") == 1
    dead = await env.fetch(
        """SELECT count(*) AS n FROM dead_letters WHERE consumer = $1 AND "offset" = $2""",
        GROUP,
        records[0].offset,
    )
    assert dead[0]["n"] == 2  # the third delivery and the redelivery: none for the failed sends
    letters = await read(env.bootstrap, dlq(TOPIC), dlq_start, 2)
    assert [bytes(r.value) for r in letters] == [records[0].value] * 2
