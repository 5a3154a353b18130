"""Helpers for the commitments tests: agreement events in, commitment events out, a service."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from cobuild_commitments.app import definition
from cobuild_commitments.settings import CommitmentsSettings
from cobuild_contracts import (
    AgreementOrigin,
    AgreementSigned,
    CommitmentItem,
    Envelope,
    Event,
    ItemKind,
    MemberReported,
    decode_envelope,
    encode,
    headers,
    topics,
    wrap,
)
from cobuild_kit.clock import FixedClock
from cobuild_kit.service import Runtime
from cobuild_kit.testing import TestIssuer, caught_up, eventually, running_service

T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def item(
    obligor: UUID,
    beneficiary: UUID,
    deadline: date,
    *,
    title: str = "Repair the compound lighting",
    kind: ItemKind = ItemKind.TASK,
    funds_fen: int = 0,
    quantity: int = 1,
) -> CommitmentItem:
    return CommitmentItem(
        commitment_id=uuid4(),
        title=title,
        kind=kind,
        category="happy_compound",
        obligor_party_id=obligor,
        beneficiary_party_id=beneficiary,
        responsible_title="Party branch secretary",
        deadline=deadline,
        funds_fen=funds_fen,
        quantity=quantity,
        quantity_unit="item",
    )


def signed(community: UUID, unit: UUID, items: list[CommitmentItem]) -> AgreementSigned:
    return AgreementSigned(
        agreement_id=uuid4(),
        version=1,
        community_id=community,
        unit_id=unit,
        term_start=date(2025, 1, 1),
        term_end=date(2025, 12, 31),
        origin=AgreementOrigin.NEGOTIATED,
        items=items,
        signed_at=T0,
    )


def envelope(event: Event, at: datetime = T0) -> Envelope:
    return wrap(event, producer="agreements", occurred_at=at)


async def publish(bootstrap: str, *envelopes: Envelope, topic: str = topics.AGREEMENTS) -> None:
    """Produce onto the agreements topic (or `topic`) as that service's relay would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for env in envelopes:
            hdrs = [(k, v.encode()) for k, v in headers(env).items()]
            await producer.send_and_wait(topic, encode(env), key=env.key.encode(), headers=hdrs)
    finally:
        await producer.stop()


async def publish_points(bootstrap: str, *events: Event) -> None:
    """Produce member.* events onto the points topic as the points service's relay would."""
    envs = [wrap(e, producer="points", occurred_at=T0) for e in events]
    await publish(bootstrap, *envs, topic=topics.POINTS)


async def members_known(rt: Runtime, *member_ids: UUID) -> None:
    """Until the members read model has every one of them (as reported, transferred or left)."""

    async def known() -> bool:
        async with rt.pool.acquire() as conn:
            n = await conn.fetchval(
                "SELECT count(*) FROM members WHERE member_id = ANY($1::uuid[])", list(member_ids)
            )
        return bool(n == len(set(member_ids)))

    await eventually(known, timeout=30)


async def register_members(
    bootstrap: str, rt: Runtime, unit: UUID, community: UUID, *member_ids: UUID
) -> None:
    """Members of `unit` reported to `community` (member.reported), and known here."""
    await publish_points(
        bootstrap,
        *(
            MemberReported(member_id=m, unit_id=unit, community_id=community, reported_at=T0)
            for m in member_ids
        ),
    )
    await members_known(rt, *member_ids)


async def topic_events(
    bootstrap: str, keys: Iterable[UUID | str], topic: str = topics.COMMITMENTS, timeout: float = 15
) -> list[Envelope]:
    """Everything on `topic` up to its current end whose key is one of ours, in partition order."""
    wanted = {str(k) for k in keys}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    out: list[Envelope] = []
    try:
        deadline = time.monotonic() + timeout
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:
            assert time.monotonic() < deadline, f"no topic {topic}"
            await consumer.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            await asyncio.sleep(0.05)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            assert time.monotonic() < deadline, "topic read timed out"
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    if r.key is not None and r.key.decode() in wanted:
                        out.append(decode_envelope(r.value))
    finally:
        await consumer.stop()
    return out


def of_type(envs: list[Envelope], event_type: str, key: UUID | None = None) -> list[Envelope]:
    return [e for e in envs if e.event_type == event_type and (key is None or e.key == str(key))]


def settings(dsn: str, bootstrap: str, data_dir: Path, **kw: Any) -> CommitmentsSettings:
    return CommitmentsSettings(
        database_url=dsn,
        kafka_bootstrap=bootstrap,
        data_dir=data_dir,
        outbox_poll_interval_s=0.2,
        deadline_scan_interval_s=0.2,
        database_pool_min=1,
        database_pool_max=5,
        consumer_session_timeout_ms=4000,  # a restarted service rejoins its group sooner
        **kw,
    )


@asynccontextmanager
async def service(
    s: CommitmentsSettings, issuer: TestIssuer, clock: FixedClock
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    async with running_service(definition(s, verifier=issuer.verifier, clock=clock)) as (
        rt,
        client,
    ):
        yield rt, client


async def settled(rt: Runtime) -> None:
    await eventually(lambda: caught_up(rt), timeout=30)


async def row(rt: Runtime, commitment_id: UUID) -> dict[str, Any] | None:
    async with rt.pool.acquire() as conn:
        r = await conn.fetchrow("SELECT * FROM commitments WHERE commitment_id = $1", commitment_id)
    return dict(r) if r else None


async def opened(rt: Runtime, *ids: UUID) -> None:
    async def all_there() -> bool:
        return all([await row(rt, i) is not None for i in ids])

    await eventually(all_there, timeout=30)
