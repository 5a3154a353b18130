"""The kit's many-handlers (`ConsumerSpec.on_many`), driven through `BatchProcessor` directly
against the real PostgreSQL and broker: runs of one event type in one call, in order; a
failure isolated event by event; redelivery absorbed by the inbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from cobuild_contracts import Envelope, PartyKind, PartyRegistered, PartyUpdated, encode
from cobuild_contracts.topics import dlq
from cobuild_kit.clock import FixedClock
from cobuild_kit.consumer import BatchContext, BatchProcessor, ConsumerSpec, EventContext
from cobuild_kit.db import connect, create_pool
from cobuild_kit.outbox import Outbox
from cobuild_kit.testing import BatchDeps, FakeRecord, prepare_database

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
TOPIC = f"kit.batch.{uuid4().hex[:8]}"


@dataclass
class Calls:
    """What the handlers were called with, in call order."""

    many: list[list[str]] = field(default_factory=list)
    single: list[str] = field(default_factory=list)


def spec(calls: Calls) -> ConsumerSpec:
    s = ConsumerSpec(purpose="batch", topics=[TOPIC])

    @s.on_many(PartyRegistered)
    async def registered(ctx: BatchContext, items: list[tuple[Envelope, PartyRegistered]]) -> None:
        calls.many.append([e.name for _, e in items])
        bad = [e.name for _, e in items if e.name.startswith("boom")]
        await ctx.conn.executemany(
            "INSERT INTO batch_effects (event_id, name) VALUES ($1, $2)",
            [(env.event_id, e.name) for env, e in items],
        )
        for env, e in items:
            await ctx.emit(_party(f"follow-up of {e.name}"), cause=env)
        if bad:
            raise RuntimeError(f"handler failed on {bad[0]}")

    @s.on(PartyUpdated)
    async def renamed(ctx: EventContext, e: PartyUpdated) -> None:
        calls.single.append(e.name)
        await ctx.conn.execute(
            "INSERT INTO batch_effects (event_id, name) VALUES ($1, $2)",
            ctx.envelope.event_id,
            e.name,
        )

    return s


async def create_topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(n, num_partitions=1, replication_factor=1) for n in names]
        )
    finally:
        await admin.close()


def _party(name: str) -> PartyRegistered:
    return PartyRegistered(
        party_id=uuid4(), kind=PartyKind.COMMUNITY, name=name, parent_id=None, unit_type=None,
        code=None, version=1,
    )  # fmt: skip


def _renamed(name: str) -> PartyUpdated:
    return PartyUpdated(
        party_id=uuid4(), kind=PartyKind.COMMUNITY, name=name, parent_id=None, unit_type=None,
        code=None, version=2,
    )  # fmt: skip


@dataclass
class Env:
    deps: BatchDeps
    offset: int = 0

    def records(self, events: list[Any]) -> tuple[list[FakeRecord], list[Envelope]]:
        out, envs = [], []
        for event in events:
            env = self.deps.outbox.envelope(event, correlation_id=f"corr-{uuid4().hex[:6]}")
            self.offset += 1
            out.append(FakeRecord(TOPIC, 0, self.offset, b"same-key", encode(env)))
            envs.append(env)
        return out, envs

    def processor(self, calls: Calls) -> BatchProcessor:
        return BatchProcessor(group="kittest.batch", spec=spec(calls), deps=self.deps)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.deps.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(pg_server: Any, kafka_bootstrap: str) -> AsyncIterator[Env]:
    dsn = await pg_server.create_database("kitbatch")
    await prepare_database(dsn)
    conn = await connect(dsn)
    try:
        await conn.execute("CREATE TABLE batch_effects (event_id uuid, name text)")
    finally:
        await conn.close()
    await create_topics(kafka_bootstrap, TOPIC, dlq(TOPIC))
    pool = await create_pool(dsn)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        clock = FixedClock(NOW)
        yield Env(BatchDeps(pool, Outbox("kittest", clock), clock, producer))
    finally:
        await producer.stop()
        await pool.close()


async def _names(env: Env, names: list[str]) -> list[str]:
    rows = await env.fetch("SELECT name FROM batch_effects WHERE name = ANY($1)", names)
    return [r["name"] for r in rows]


async def test_a_run_of_50_events_is_one_call_in_order_with_follow_ups(env: Env) -> None:
    tag = uuid4().hex[:6]
    names = [f"{tag}-{i}" for i in range(50)]
    records, envs = env.records([_party(n) for n in names])
    calls = Calls()
    assert await env.processor(calls).process(records) is True
    assert calls.many == [names]
    assert sorted(await _names(env, names)) == sorted(names)
    follow = await env.fetch(
        "SELECT envelope FROM outbox WHERE envelope->'payload'->>'name' LIKE $1 ORDER BY id",
        f"follow-up of {tag}-%",
    )
    got = [(f["envelope"]["payload"]["name"], f["envelope"]["causation_id"]) for f in follow]
    assert got == [(f"follow-up of {n}", str(e.event_id)) for n, e in zip(names, envs, strict=True)]
    assert [f["envelope"]["correlation_id"] for f in follow] == [e.correlation_id for e in envs]


async def test_runs_break_at_a_type_change_and_keep_the_order(env: Env) -> None:
    tag = uuid4().hex[:6]
    events: list[Any] = [_party(f"{tag}-a{i}") for i in range(3)]
    events += [_renamed(f"{tag}-r0")]
    events += [_party(f"{tag}-b{i}") for i in range(2)]
    records, _ = env.records(events)
    calls = Calls()
    assert await env.processor(calls).process(records) is True
    assert calls.many == [[f"{tag}-a0", f"{tag}-a1", f"{tag}-a2"], [f"{tag}-b0", f"{tag}-b1"]]
    assert calls.single == [f"{tag}-r0"]
    rows = await env.fetch(
        "SELECT name FROM batch_effects WHERE name LIKE $1 ORDER BY ctid", f"{tag}-%"
    )
    assert [r["name"] for r in rows] == [e.name for e in events]


async def test_a_failing_event_in_a_run_is_isolated_retried_then_dead_lettered(
    env: Env,
) -> None:
    tag = uuid4().hex[:6]
    names = [f"{tag}-{i}" for i in range(10)]
    names[4] = f"boom-{tag}"
    records, envs = env.records([_party(n) for n in names])
    calls = Calls()
    processor = env.processor(calls)
    outcomes = []
    for _ in range(5):  # redelivered (FastStream nacks) until settled
        outcomes.append(await processor.process(records))
        if outcomes[-1]:
            break
    assert outcomes == [False, False, True]  # attempts 1 and 2 retry, the 3rd dead-letters
    # The events before the bad one were applied once; those after it once the bad one settled.
    assert sorted(await _names(env, names)) == sorted(n for n in names if n != names[4])
    # Each delivery tries the run in one call first, then one item at a time from the failure.
    one = [[n] for n in names]
    assert calls.many == [names, *one[:5], names[4:], one[4], names[4:], *one[4:]]
    dead = await env.fetch(
        "SELECT event_id, error FROM dead_letters WHERE consumer = 'kittest.batch' AND event_id = $1",
        envs[4].event_id,
    )
    assert len(dead) == 1
    assert "boom" in dead[0]["error"]
    failures = await env.fetch(
        "SELECT attempts FROM consumer_failures WHERE consumer = 'kittest.batch' AND \"offset\" = $1",
        records[4].offset,
    )
    assert [f["attempts"] for f in failures] == [3]
    follow = await env.fetch(
        "SELECT count(*) AS n FROM outbox WHERE envelope->'payload'->>'name' = $1",
        f"follow-up of boom-{tag}",
    )
    assert follow[0]["n"] == 0  # nothing of the bad event was kept


async def test_a_redelivered_batch_has_one_effect(env: Env) -> None:
    tag = uuid4().hex[:6]
    names = [f"{tag}-{i}" for i in range(20)]
    records, envs = env.records([_party(n) for n in names])
    calls = Calls()
    processor = env.processor(calls)
    assert await processor.process(records[:12]) is True
    # Redelivered from the start, with the rest, and one event twice within the batch.
    assert await processor.process([*records, records[15]]) is True
    assert sorted(await _names(env, names)) == sorted(names)
    assert calls.many == [names[:12], names[12:]]
    follow = await env.fetch(
        "SELECT count(*) AS n FROM outbox WHERE envelope->>'causation_id' = ANY($1::text[])",
        [str(e.event_id) for e in envs],
    )
    assert follow[0]["n"] == 20
    assert await processor.process(records) is True
    assert len(calls.many) == 2


async def test_a_single_event_goes_to_the_many_handler_as_a_one_item_list(env: Env) -> None:
    names = [f"{uuid4().hex[:6]}-single"]
    records, _ = env.records([_party(n) for n in names])
    calls = Calls()
    assert await env.processor(calls).process(records) is True
    assert calls.many == [names]


async def test_a_known_type_the_group_does_not_handle_is_skipped_by_its_header(env: Env) -> None:
    """Undecoded, so even a broken body is no concern of this group (the groups handling
    the type dead-letter it); an unknown type, or a handled one, is still decoded."""
    tag = uuid4().hex[:6]
    broken = b'{"not": "an envelope'
    records = [
        FakeRecord(TOPIC, 0, env.offset + 1, b"k", broken, (("event_type", b"party.merged"),)),
        FakeRecord(TOPIC, 0, env.offset + 2, b"k", broken, (("event_type", b"need.published"),)),
        FakeRecord(TOPIC, 0, env.offset + 3, b"k", broken, (("event_type", b"party.updated"),)),
    ]
    env.offset += 3
    good, _ = env.records([_party(f"{tag}-after")])
    assert await env.processor(Calls()).process([*records, *good]) is True
    dead = await env.fetch(
        "SELECT \"offset\" FROM dead_letters WHERE consumer = 'kittest.batch' "
        'AND "offset" = ANY($1) ORDER BY 1',
        [r.offset for r in records],
    )
    # need.published is known and unhandled: skipped. party.merged is unknown and
    # party.updated is handled: both decoded, refused, dead-lettered.
    assert [d["offset"] for d in dead] == [records[0].offset, records[2].offset]
    assert await _names(env, [f"{tag}-after"]) == [f"{tag}-after"]


def test_on_many_registers_beside_on() -> None:
    s = spec(Calls())
    assert s.event_types() == ["party.registered", "party.updated"]
