"""Pending events (`cobuild_kit.pending`): an event naming a party its consumer does not know
waits, not applied and out of the inbox, until the fact arrives (then it is applied once, in
its key's order) or its grace period passes (then the DLQ, with the reason). Driven through
`BatchProcessor` against the real PostgreSQL and broker; the last test runs a whole service
for the sweep and `/ops/lag`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from cobuild_contracts import Envelope, PartyKind, PartyRegistered, PartyUpdated, Role, encode
from cobuild_contracts.topics import dlq
from cobuild_kit import metrics
from cobuild_kit.clock import FixedClock
from cobuild_kit.consumer import BatchContext, BatchProcessor, ConsumerSpec, EventContext
from cobuild_kit.db import connect, create_pool
from cobuild_kit.outbox import Outbox
from cobuild_kit.pending import EXPIRED_REASON, Awaiting
from cobuild_kit.service import ServiceDefinition
from cobuild_kit.settings import ServiceSettings, service_config
from cobuild_kit.testing import (
    BatchDeps,
    FakeRecord,
    TestIssuer,
    eventually,
    prepare_database,
    running_service,
)
from cobuild_stack.testing import collect, produce

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
TOPIC = f"kit.pending.{uuid4().hex[:8]}"
GROUP = "kittest.pending"
TABLES = """
CREATE TABLE IF NOT EXISTS known_parties (party_id uuid PRIMARY KEY);
CREATE TABLE IF NOT EXISTS pending_effects (id bigserial, event_id uuid, party_id uuid, name text);
"""


def spec(topic: str = TOPIC) -> ConsumerSpec:
    """A registration is the fact; an update named `needs:…` applies only to a known party,
    one named `free:…` applies to any (so holding it behind its key is the kit's doing)."""
    s = ConsumerSpec(purpose="pending", topics=[topic])

    @s.on_many(PartyRegistered)
    async def registered(ctx: BatchContext, items: list[tuple[Envelope, PartyRegistered]]) -> None:
        for _, e in items:
            await ctx.conn.execute(
                "INSERT INTO known_parties VALUES ($1) ON CONFLICT DO NOTHING", e.party_id
            )
            await ctx.known("party", e.party_id)

    @s.on(PartyUpdated)
    async def updated(ctx: EventContext, e: PartyUpdated) -> None:
        if e.name.startswith("needs:"):
            known = await ctx.conn.fetchval(
                "SELECT 1 FROM known_parties WHERE party_id = $1", e.party_id
            )
            if known is None:
                raise Awaiting("party", e.party_id, f"party {e.party_id} not registered here")
        await ctx.conn.execute(
            "INSERT INTO pending_effects (event_id, party_id, name) VALUES ($1, $2, $3)",
            ctx.envelope.event_id,
            e.party_id,
            e.name,
        )

    return s


def registered(party_id: UUID) -> PartyRegistered:
    return PartyRegistered(
        party_id=party_id, kind=PartyKind.COMMUNITY, name="社区", parent_id=None, unit_type=None,
        code=None, version=1,
    )  # fmt: skip


def updated(party_id: UUID, name: str) -> PartyUpdated:
    return PartyUpdated(
        party_id=party_id, kind=PartyKind.COMMUNITY, name=name, parent_id=None, unit_type=None,
        code=None, version=2,
    )  # fmt: skip


@dataclass
class Env:
    deps: BatchDeps
    bootstrap: str
    offset: int = 0

    def records(self, events: list[Any]) -> list[FakeRecord]:
        out = []
        for event in events:
            env = self.deps.outbox.envelope(event, correlation_id=f"corr-{uuid4().hex[:6]}")
            self.offset += 1
            key = str(event.party_id).encode()
            out.append(FakeRecord(TOPIC, 0, self.offset, key, encode(env)))
        return out

    def processor(self) -> BatchProcessor:
        return BatchProcessor(group=GROUP, spec=spec(), deps=self.deps)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.deps.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def effects(self, party_id: UUID) -> list[str]:
        rows = await self.fetch(
            "SELECT name FROM pending_effects WHERE party_id = $1 ORDER BY id", party_id
        )
        return [r["name"] for r in rows]

    async def pending(self, party_id: UUID) -> list[asyncpg.Record]:
        return await self.fetch(
            'SELECT * FROM pending_events WHERE key = $1 ORDER BY "offset"', str(party_id)
        )

    async def in_inbox(self, record: FakeRecord) -> bool:
        event_id = Envelope.model_validate_json(record.value).event_id
        rows = await self.fetch(
            "SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2", GROUP, event_id
        )
        return bool(rows)


async def create_topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(n, num_partitions=1, replication_factor=1) for n in names]
        )
    finally:
        await admin.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(pg_server: Any, kafka_bootstrap: str) -> AsyncIterator[Env]:
    dsn = await pg_server.create_database("kitpending")
    await prepare_database(dsn)
    conn = await connect(dsn)
    try:
        await conn.execute(TABLES)
    finally:
        await conn.close()
    await create_topics(kafka_bootstrap, TOPIC, dlq(TOPIC))
    pool = await create_pool(dsn)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        clock = FixedClock(NOW)
        yield Env(BatchDeps(pool, Outbox("kittest", clock), clock, producer), kafka_bootstrap)
    finally:
        await producer.stop()
        await pool.close()


async def test_an_event_naming_an_unknown_party_waits_then_applies_once_when_it_arrives(
    env: Env,
) -> None:
    p = uuid4()
    processor = env.processor()
    [claim] = env.records([updated(p, "needs:claim")])
    assert await processor.process([claim]) is True  # settled: the offset moves on
    assert await env.effects(p) == []
    [row] = await env.pending(p)
    assert (row["awaiting_kind"], row["awaiting_id"]) == ("party", str(p))
    assert not await env.in_inbox(claim)  # so that it can be applied later
    assert await processor.process([claim]) is True  # a redelivery while it waits
    assert len(await env.pending(p)) == 1

    assert await processor.process(env.records([registered(p)])) is True  # the fact
    assert await env.effects(p) == ["needs:claim"]
    assert await env.pending(p) == []
    assert await env.in_inbox(claim)
    assert await processor.process([claim]) is True  # redelivered again: the inbox absorbs it
    assert await env.effects(p) == ["needs:claim"]


async def test_later_events_of_the_key_wait_behind_it_and_apply_in_order(env: Env) -> None:
    p, q = uuid4(), uuid4()
    processor = env.processor()
    # In one batch: p's first event waits; p's next one could apply but waits behind it;
    # q's is not held up.
    batch = env.records([updated(p, "needs:1"), updated(p, "free:2"), updated(q, "free:3")])
    assert await processor.process(batch) is True
    assert await env.effects(q) == ["free:3"]
    # In a later batch, p's events still wait behind the first one.
    assert await processor.process(env.records([updated(p, "free:4")])) is True
    assert await env.effects(p) == []
    pending = await env.pending(p)
    assert [r["awaiting_id"] for r in pending] == [str(p)] * 3
    assert "held behind" in pending[1]["reason"]

    # The fact arrives in a batch with another event of p behind it: that one is held too
    # (its key still has events pending when it is read), then the release applies all four.
    assert await processor.process(env.records([registered(p), updated(p, "free:5")])) is True
    assert await env.effects(p) == ["needs:1", "free:2", "free:4", "free:5"]
    assert await env.pending(p) == []


async def test_the_fact_recorded_in_another_group_releases_the_event(env: Env) -> None:
    p = uuid4()
    waiting = env.processor()
    facts = BatchProcessor(group=f"{GROUP}.facts", spec=spec(), deps=env.deps)
    facts.pending = waiting.pending  # one service's groups share their pending events
    waiting.pending.add(facts)
    assert await waiting.process(env.records([updated(p, "needs:x")])) is True
    assert await facts.process(env.records([registered(p)])) is True
    assert await env.effects(p) == ["needs:x"]


async def test_the_sweep_retries_what_a_lost_release_left_pending(env: Env) -> None:
    p = uuid4()
    processor = env.processor()
    assert await processor.process(env.records([updated(p, "needs:y")])) is True
    async with env.deps.pool.acquire() as conn:  # the fact, committed with no release after it
        await conn.execute("INSERT INTO known_parties VALUES ($1)", p)
        await conn.execute("UPDATE pending_events SET retry_at = now() WHERE key = $1", str(p))
    applied, expired = await processor.pending.sweep(grace_s=3600)
    assert (applied, expired) == (1, 0)
    assert await env.effects(p) == ["needs:y"]


async def test_after_the_grace_period_it_goes_to_the_dlq_with_the_reason(env: Env) -> None:
    p = uuid4()
    processor = env.processor()
    [claim] = env.records([updated(p, "needs:forged")])
    assert await processor.process([claim]) is True
    assert await processor.expire_pending(grace_s=3600) == 0  # not yet
    before = metrics.PENDING_EXPIRED.labels(GROUP, TOPIC)._value.get()
    assert await processor.expire_pending(grace_s=0) == 1
    assert metrics.PENDING_EXPIRED.labels(GROUP, TOPIC)._value.get() == before + 1
    assert await env.pending(p) == []
    assert await env.effects(p) == []
    letters = [
        m for m in await collect(env.bootstrap, dlq(TOPIC), 1, timeout=10) if m.value == claim.value
    ]
    assert len(letters) == 1
    headers = {k: v.decode() for k, v in letters[0].headers.items()}
    assert headers["dlq.reason"] == EXPIRED_REASON
    assert f"awaiting party {p}" in headers["dlq.error"]
    assert headers["dlq.consumer_group"] == GROUP
    assert headers["dlq.original_offset"] == str(claim.offset)
    dead = await env.fetch("SELECT error FROM dead_letters WHERE consumer = $1", GROUP)
    assert any(f"awaiting party {p}" in r["error"] for r in dead)
    assert await processor.process([claim]) is True  # a redelivery is not kept again
    assert await env.pending(p) == []


class PendingSettings(ServiceSettings):
    model_config = service_config("kitpending")


@pytest.mark.timeout(120)
async def test_a_service_shows_its_pending_events_and_its_sweep_expires_them(
    pg_server: Any, kafka_bootstrap: str, tmp_path: Path
) -> None:
    dsn = await pg_server.create_database("kitpendingsvc")
    conn = await connect(dsn)
    try:
        await conn.execute(TABLES)
    finally:
        await conn.close()
    topic = f"kit.pendingsvc.{uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, topic, dlq(topic))
    issuer = TestIssuer()
    settings = PendingSettings(
        database_url=dsn,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path,
        pending_grace_s=4.0,
        pending_sweep_interval_s=0.2,
    )
    definition = ServiceDefinition(
        name="kitpending",
        settings=settings,
        migrations_package=None,
        consumers=[spec(topic)],
        clock=FixedClock(NOW),
        verifier=issuer.verifier,
    )
    operator = issuer.headers(Role.OPERATOR, uuid4())
    async with running_service(definition) as (rt, client):
        assert (await client.get("/ops/lag", headers=operator)).json()["pending_events"] == 0
        p = uuid4()
        env = rt.outbox.envelope(updated(p, "needs:never"))
        header = {"event_type": env.event_type.encode()}
        await produce(kafka_bootstrap, topic, [(str(p).encode(), encode(env), header)])

        async def shown(n: int) -> bool:
            lag = (await client.get("/ops/lag", headers=operator)).json()
            return bool(lag["pending_events"] == n)

        await eventually(lambda: shown(1), timeout=30)
        await eventually(lambda: shown(0), timeout=30)
        [letter] = await collect(kafka_bootstrap, dlq(topic), 1, timeout=10)
        assert letter.headers["dlq.reason"] == EXPIRED_REASON.encode()
