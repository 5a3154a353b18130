"""A group whose events nobody waits on (`ConsumerSpec.prompt=False`) takes at most one short
batch per interval: a trickle of events gathers into few batches (one fetch and one
transaction each) instead of costing one of each per event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from cobuild_contracts import PartyRegistered, encode
from cobuild_contracts.topics import dlq
from cobuild_kit.clock import FixedClock
from cobuild_kit.consumer import BatchPace, ConsumerSpec, EventContext
from cobuild_kit.kafka import make_producer
from cobuild_kit.service import ServiceDefinition
from cobuild_kit.settings import ServiceSettings, service_config
from cobuild_kit.testing import TestIssuer, eventually, running_service
from cobuild_stack.testing import PgServer
from cobuild_stack.topics import create_topics

from tests.kit.kit_support import party


def test_a_short_batch_rests_until_the_interval_after_it_began() -> None:
    pace = BatchPace(interval_s=0.1, max_records=200, clock=lambda: 10.03)
    assert pace.rest_s(began=10.0, taken=3) == pytest.approx(0.07)


def test_a_full_batch_or_a_slow_one_never_rests() -> None:
    assert BatchPace(0.1, 200, clock=lambda: 10.03).rest_s(began=10.0, taken=200) == 0.0
    assert BatchPace(0.1, 200, clock=lambda: 10.25).rest_s(began=10.0, taken=3) == 0.0


def test_no_interval_never_rests() -> None:
    assert BatchPace(0.0, 200, clock=lambda: 10.0).rest_s(began=10.0, taken=1) == 0.0


class PaceSettings(ServiceSettings):
    model_config = service_config("pacetest")


EVENTS = 20
GAP_S = 0.02  # the trickle: 20 events over about 0.4 s


def _spec(topic: str) -> ConsumerSpec:
    """Records the transaction each event was applied in: one per batch."""
    spec = ConsumerSpec(purpose="trickle", topics=[topic], prompt=False)

    @spec.on(PartyRegistered)
    async def on_party(ctx: EventContext, event: PartyRegistered) -> None:
        await ctx.conn.execute(
            "INSERT INTO applied (party_id, tx) VALUES ($1, txid_current())", event.party_id
        )

    return spec


async def _trickle(bootstrap: str, topic: str, events: list[PartyRegistered], rt: Any) -> None:
    producer = make_producer(bootstrap, idempotence=False, client_id="pace-trickle")
    await producer.start()
    try:
        for event in events:
            env = rt.outbox.envelope(event)
            await producer.send_and_wait(
                topic, encode(env), key=str(event.party_id).encode(), headers=[]
            )
            await asyncio.sleep(GAP_S)
    finally:
        await producer.stop()


@pytest.mark.asyncio(loop_scope="session")
async def test_a_trickle_to_a_relaxed_group_is_applied_in_a_few_batches(
    pg_server: PgServer, kafka_bootstrap: str, tmp_path: Path
) -> None:
    dsn = await pg_server.create_database("pace")
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE applied (party_id uuid, tx bigint)")
    topic = f"pace.events.{uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, [topic, dlq(topic)], 1)
    settings = PaceSettings(
        database_url=dsn,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path,
        # The fetch wait alone would gather a trickle: keep it short, so only the pace does.
        consumer_relaxed_fetch_max_wait_ms=20,
        consumer_relaxed_batch_interval_ms=1000,
    )
    definition = ServiceDefinition(
        name="pacetest",
        settings=settings,
        migrations_package=None,
        routers=[],
        consumers=[_spec(topic)],
        verifier=TestIssuer().verifier,
        clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)),
    )

    async def applied(n: int) -> bool:
        return bool(await conn.fetchval("SELECT count(*) FROM applied") >= n)

    try:
        async with running_service(definition) as (rt, _client):
            # One event first: the group has joined once it is applied.
            await _trickle(kafka_bootstrap, topic, [party("先到")], rt)
            await eventually(lambda: applied(1), timeout=30)
            await _trickle(kafka_bootstrap, topic, [party(f"社区 {i}") for i in range(EVENTS)], rt)
            await eventually(lambda: applied(EVENTS + 1), timeout=15)
        batches = await conn.fetchval("SELECT count(DISTINCT tx) FROM applied")
        # Unpaced, the trickle took about one batch per event (each fetch returns at once).
        assert batches <= 4, f"{EVENTS} events in {batches - 1} batches"
    finally:
        await conn.close()
