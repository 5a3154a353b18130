"""A fact on a commitment the fulfilment ledger never saw opened (the hardening issue's "Forged
events"): it waits pending, not refused at once. Its open arriving later releases it into the
ledger once; a forged one (no open ever) goes to the DLQ after the grace period with the
reason, and the ledger never counts it. Driven through the evaluation service's commitments
group (`BatchProcessor`) against the real PostgreSQL and broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from cobuild_contracts import CommitmentFulfilled, CommitmentOpened, ItemKind, encode, topics
from cobuild_evaluation import consumers
from cobuild_kit.clock import FixedClock
from cobuild_kit.consumer import BatchProcessor
from cobuild_kit.db import create_pool
from cobuild_kit.outbox import Outbox
from cobuild_kit.pending import EXPIRED_REASON
from cobuild_kit.testing import BatchDeps, FakeRecord, prepare_database
from cobuild_stack.testing import create_topics

from tests.evaluation.evaluation_support import at

GROUP = "evaluation.commitments"


def opened(cid: UUID) -> CommitmentOpened:
    unit, community = uuid4(), uuid4()
    return CommitmentOpened(
        commitment_id=cid, agreement_id=uuid4(), community_id=community, unit_id=unit,
        obligor_party_id=unit, beneficiary_party_id=community, title="楼道清扫",
        kind=ItemKind.TASK, category="happy_compound", deadline=date(2026, 6, 30),
        funds_fen=10_000, opened_at=at(2026, 1, 10),
    )  # fmt: skip


def fulfilled(cid: UUID) -> CommitmentFulfilled:
    unit, community = uuid4(), uuid4()
    return CommitmentFulfilled(
        commitment_id=cid, agreement_id=uuid4(), community_id=community, unit_id=unit,
        obligor_party_id=unit, beneficiary_party_id=community, participants=[],
        committed_quantity=1, actual_quantity=1, partial=False, committed_fen=10_000,
        paid_fen=10_000, deadline=date(2026, 6, 30), done_at=at(2026, 3, 1),
        done_date=date(2026, 3, 1), confirmed_at=at(2026, 3, 1), on_time=True,
    )  # fmt: skip


@dataclass
class Env:
    deps: BatchDeps
    bootstrap: str
    offset: int = 0

    def records(self, *events: Any) -> list[FakeRecord]:
        out = []
        for event in events:
            env = self.deps.outbox.envelope(event)
            self.offset += 1
            key = str(event.commitment_id).encode()
            out.append(FakeRecord(topics.COMMITMENTS, 0, self.offset, key, encode(env)))
        return out

    def processor(self) -> BatchProcessor:
        return BatchProcessor(group=GROUP, spec=consumers.commitments, deps=self.deps)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.deps.pool.acquire() as conn:
            return await conn.fetchval(sql, *args)

    async def journal(self, cid: UUID) -> list[str]:
        async with self.deps.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT fact FROM ledger_journal WHERE commitment_id = $1 ORDER BY business_day",
                cid,
            )
        return [r["fact"] for r in rows]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(pg_server: Any, kafka_bootstrap: str) -> AsyncIterator[Env]:
    await create_topics(kafka_bootstrap, [topics.COMMITMENTS, topics.dlq(topics.COMMITMENTS)])
    dsn = await pg_server.create_database("evalforged")
    await prepare_database(dsn, "evaluation")
    pool: asyncpg.Pool = await create_pool(dsn)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        clock = FixedClock(at(2026, 3, 2))
        outbox = Outbox("commitments", clock)
        yield Env(BatchDeps(pool, outbox, clock, producer), kafka_bootstrap)
    finally:
        await producer.stop()
        await pool.close()


async def test_a_fulfilment_ahead_of_its_open_waits_then_counts_once(env: Env) -> None:
    cid = uuid4()
    processor = env.processor()
    early = env.records(fulfilled(cid))
    assert await processor.process(early) is True  # not refused, not dead-lettered
    assert await env.journal(cid) == []
    assert await env.fetchval("SELECT count(*) FROM pending_events WHERE key = $1", str(cid)) == 1
    assert await processor.process(env.records(opened(cid))) is True
    assert await env.journal(cid) == ["opened", "fulfilled"]
    assert await env.fetchval("SELECT count(*) FROM pending_events WHERE key = $1", str(cid)) == 0
    assert await processor.process(early) is True  # a redelivery: the inbox absorbs it
    assert await env.journal(cid) == ["opened", "fulfilled"]
    state = await env.fetchval(
        "SELECT fulfilled_on FROM ledger_commitments WHERE commitment_id = $1", cid
    )
    assert state == date(2026, 3, 1)


async def test_a_forged_fulfilment_goes_to_the_dlq_after_the_grace(env: Env) -> None:
    cid = uuid4()  # never opened
    processor = env.processor()
    [forged] = env.records(fulfilled(cid))
    assert await processor.process([forged]) is True
    assert await processor.expire_pending(grace_s=3600) == 0
    assert await processor.expire_pending(grace_s=0) == 1
    assert await env.journal(cid) == []
    assert (
        await env.fetchval("SELECT count(*) FROM ledger_commitments WHERE commitment_id = $1", cid)
        == 0
    )
    [headers] = await dead_letters(env.bootstrap, cid)
    assert headers["dlq.reason"] == EXPIRED_REASON
    assert f"awaiting commitment {cid}" in headers["dlq.error"]
    assert "fulfilled for unknown commitment" in headers["dlq.error"]
    assert headers["dlq.consumer_group"] == GROUP
    assert await processor.process([forged]) is True  # redelivered: settled, not kept again
    assert await env.fetchval("SELECT count(*) FROM pending_events WHERE key = $1", str(cid)) == 0


async def dead_letters(bootstrap: str, mark: UUID) -> list[dict[str, str]]:
    """The headers of the commitments DLQ's letters whose value names `mark`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=20
    )
    await consumer.start()
    try:
        name = topics.dlq(topics.COMMITMENTS)
        tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning()
        ends = await consumer.end_offsets(tps)
        found: list[dict[str, str]] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found += [
                    {k: bytes(v).decode() for k, v in r.headers}
                    for r in records
                    if r.value is not None and str(mark).encode() in r.value
                ]
        return found
    finally:
        await consumer.stop()
