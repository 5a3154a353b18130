"""Forged events on the broker (the hardening issue's "Forged events"): a `commitment.fulfilled`
for a commitment points never heard opened awards nothing and ends in the DLQ after the grace
period; a `member.scored` for a member points does not have never reaches the public honour
roll. A fulfilment that merely arrives before its open waits for it and is then awarded once.
The service runs with a grace period of seconds (`pending_grace_s`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from cobuild_contracts import CommitmentFulfilled, Grade, MemberScored, Role, topics
from cobuild_contracts.events.commitments import Participant
from cobuild_kit.clock import FixedClock
from cobuild_kit.pending import EXPIRED_REASON
from cobuild_kit.testing import TestIssuer, eventually, running_service
from cobuild_points.app import definition
from cobuild_points.settings import PointsSettings
from cobuild_stack.testing import PgServer, create_topics

from tests.brokers import own_broker
from tests.points.test_points_service import (
    T0,
    Env,
    balance,
    opened_for,
    produce_event,
    reported_member,
)

# Its services start new consumer groups (see tests/brokers.py).
kafka_bootstrap = own_broker()

GRACE_S = 5.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(
    pg_server: PgServer, kafka_bootstrap: str, tmp_path_factory: Any
) -> AsyncIterator[Env]:
    names = [t for topic in topics.ALL_TOPICS for t in (topic, topics.dlq(topic))]
    await create_topics(kafka_bootstrap, names)
    dsn = await pg_server.create_database("pointsforged")
    issuer, clock = TestIssuer(), FixedClock(T0)
    settings = PointsSettings(
        database_url=dsn,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=Path(tmp_path_factory.mktemp("pointsforged")),
        outbox_poll_interval_s=0.2,
        pending_grace_s=GRACE_S,
        pending_sweep_interval_s=0.3,
    )
    service = definition(settings, verifier=issuer.verifier, clock=clock)
    async with running_service(service) as (rt, client):
        yield Env(rt, client, clock, issuer, dsn, kafka_bootstrap, uuid4(), uuid4())


def fulfilment(env: Env, member_id: UUID, commitment_id: UUID | None = None) -> CommitmentFulfilled:
    return CommitmentFulfilled(
        commitment_id=commitment_id or uuid4(), agreement_id=uuid4(), community_id=env.community,
        unit_id=env.unit, obligor_party_id=env.unit, beneficiary_party_id=env.community,
        participants=[Participant(member_id=member_id, hours=Decimal("2"))],
        committed_quantity=1, actual_quantity=1, partial=False, committed_fen=0, paid_fen=0,
        deadline=date(2026, 3, 31), done_at=T0, done_date=date(2026, 3, 1), confirmed_at=T0,
        on_time=True,
    )  # fmt: skip


async def dead_letters(bootstrap: str, topic: str, mark: UUID) -> list[dict[str, str]]:
    """The headers of the dead letters on `topic`'s DLQ whose value names `mark`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=20
    )
    await consumer.start()
    try:
        name = topics.dlq(topic)
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


async def pending_count(env: Env, event_type: str) -> int:
    async with env.rt.pool.acquire() as conn:
        n: int = await conn.fetchval(
            "SELECT count(*) FROM pending_events WHERE event_type = $1", event_type
        )
    return n


async def test_a_forged_fulfilment_awards_nothing_and_ends_in_the_dlq(env: Env) -> None:
    member_id, _, me = await reported_member(env, "伪造者")
    forged = fulfilment(env, member_id)  # a commitment that never existed
    await produce_event(env, forged)
    # A genuine one behind it on the same topic is not held up.
    genuine = fulfilment(env, member_id)
    await produce_event(env, opened_for(genuine))
    await produce_event(env, genuine)

    async def genuine_awarded() -> bool:
        return await balance(env, member_id, me) == Decimal("6.00")

    await eventually(genuine_awarded, timeout=30)

    async def dead_lettered() -> bool:
        return bool(await dead_letters(env.bootstrap, topics.COMMITMENTS, forged.commitment_id))

    await eventually(dead_lettered, timeout=30, interval=0.3)
    [headers] = await dead_letters(env.bootstrap, topics.COMMITMENTS, forged.commitment_id)
    assert headers["dlq.reason"] == EXPIRED_REASON
    assert f"awaiting commitment {forged.commitment_id}" in headers["dlq.error"]
    assert headers["dlq.consumer_group"] == "points.commitments"
    assert await balance(env, member_id, me) == Decimal("6.00")  # the forged one gave nothing
    assert await pending_count(env, "commitment.fulfilled") == 0


async def test_a_fulfilment_before_its_open_waits_for_it_then_is_awarded_once(env: Env) -> None:
    member_id, _, me = await reported_member(env, "早到者")
    early = fulfilment(env, member_id)
    await produce_event(env, early, times=2)  # delivered twice, before its open

    async def waiting() -> bool:
        return await pending_count(env, "commitment.fulfilled") == 1

    await eventually(waiting, timeout=30)
    lag = (await env.http.get("/ops/lag", headers=env.as_(Role.OPERATOR, uuid4()))).json()
    assert lag["pending_events"] >= 1
    assert await balance(env, member_id, me) == Decimal("0")
    await produce_event(env, opened_for(early))

    async def awarded() -> bool:
        return await balance(env, member_id, me) == Decimal("6.00")

    await eventually(awarded, timeout=30)
    assert await pending_count(env, "commitment.fulfilled") == 0
    assert not await dead_letters(env.bootstrap, topics.COMMITMENTS, early.commitment_id)


async def test_a_forged_score_never_reaches_the_honour_roll(env: Env) -> None:
    nobody = uuid4()  # a member points does not have
    forged = MemberScored(
        assessment_id=uuid4(), year=2026, policy_version="2026-v1", member_id=nobody,
        community_id=env.community, unit_id=env.unit, score=Decimal("99"),
        grade=Grade.EXCELLENT, rank_in_community=1,
    )  # fmt: skip
    await produce_event(env, forged)

    async def dead_lettered() -> bool:
        return bool(await dead_letters(env.bootstrap, topics.EVALUATION, nobody))

    await eventually(dead_lettered, timeout=30, interval=0.3)
    [headers] = await dead_letters(env.bootstrap, topics.EVALUATION, nobody)
    assert headers["dlq.reason"] == EXPIRED_REASON
    assert f"awaiting member {nobody}" in headers["dlq.error"]
    async with env.rt.pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM member_score WHERE member_id = $1", nobody)
            == 0
        )
    roll = await env.http.get(f"/public/communities/{env.community}/honour-roll?year=2026")
    assert roll.status_code == 200 and roll.json()["items"] == []
