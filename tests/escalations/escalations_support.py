"""Helpers for the escalations tests: a district's parties as the agreements service announces
them, the service in-process under a test clock, and a read of its topic."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from cobuild_contracts import Envelope, Event, decode_envelope, encode, headers, topics, wrap
from cobuild_contracts.enums import PartyKind, UnitType
from cobuild_contracts.events.agreements import PartyRegistered
from cobuild_escalations.app import definition
from cobuild_escalations.settings import EscalationsSettings
from cobuild_kit.clock import BUSINESS_TZ, FixedClock
from cobuild_kit.service import Runtime, create_app
from cobuild_kit.testing import TestIssuer, caught_up, eventually
from cobuild_stack.testing import create_topics, produce
from cobuild_stack.topics import suite_topics

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """A moment in Shanghai, as the clock holds it."""
    return datetime(y, m, d, hh, mm, tzinfo=BUSINESS_TZ)


def shanghai(text: str) -> datetime:
    """An API timestamp, in Shanghai without its zone (to compare with a wall-clock time)."""
    return datetime.fromisoformat(text).astimezone(BUSINESS_TZ).replace(tzinfo=None)


@dataclass
class World:
    """One district: two streets, three communities (a grid in the first), three departments
    (government offices) and an enterprise."""

    district: UUID = field(default_factory=uuid4)
    s1: UUID = field(default_factory=uuid4)
    s2: UUID = field(default_factory=uuid4)
    c1: UUID = field(default_factory=uuid4)
    c2: UUID = field(default_factory=uuid4)
    c3: UUID = field(default_factory=uuid4)
    grid: UUID = field(default_factory=uuid4)
    d1: UUID = field(default_factory=uuid4)  # 城管 (city management)
    d2: UUID = field(default_factory=uuid4)  # 住建 (housing)
    d3: UUID = field(default_factory=uuid4)  # 民政 (civil affairs)
    firm: UUID = field(default_factory=uuid4)

    def community_street(self, c: UUID) -> UUID:
        return self.s2 if c == self.c3 else self.s1

    def events(self) -> list[Event]:
        def party(pid: UUID, kind: PartyKind, name: str, parent: UUID | None, **kw: Any) -> Event:
            return PartyRegistered(
                party_id=pid, kind=kind, name=name, parent_id=parent, version=1, **kw
            )

        office = {"unit_type": UnitType.GOVERNMENT_OFFICE}
        return [
            party(self.district, PartyKind.DISTRICT, "宽城区", None),
            party(self.s1, PartyKind.STREET, "东街道", self.district),
            party(self.s2, PartyKind.STREET, "西街道", self.district),
            party(self.c1, PartyKind.COMMUNITY, "花园社区", self.s1),
            party(self.c2, PartyKind.COMMUNITY, "河畔社区", self.s1),
            party(self.c3, PartyKind.COMMUNITY, "山景社区", self.s2),
            party(self.grid, PartyKind.GRID, "三号网格", self.c1),
            party(self.d1, PartyKind.UNIT, "区城管局", self.district, **office),
            party(self.d2, PartyKind.UNIT, "区住建局", self.district, **office),
            party(self.d3, PartyKind.UNIT, "区民政局", self.district, **office),
            party(
                self.firm, PartyKind.UNIT, "某公司", self.district, unit_type=UnitType.ENTERPRISE
            ),
        ]

    def parties(self) -> list[UUID]:
        return [self.district, self.s1, self.s2, self.c1, self.c2, self.c3, self.grid,
                self.d1, self.d2, self.d3, self.firm]  # fmt: skip


async def announce(bootstrap: str, events: list[Event]) -> None:
    """Party events onto the agreements topic, as that service's relay sends them."""
    await create_topics(bootstrap, suite_topics())
    messages = []
    for e in events:
        env = wrap(e, producer="agreements", occurred_at=datetime(2026, 1, 1, tzinfo=BUSINESS_TZ))
        hdrs = {k: v.encode() for k, v in headers(env).items()}
        messages.append((env.key.encode(), encode(env), hdrs))
    await produce(bootstrap, topics.AGREEMENTS, messages)


def settings(dsn: str, bootstrap: str, data_dir: Path, **kw: Any) -> EscalationsSettings:
    fast: dict[str, Any] = {
        "outbox_poll_interval_s": 0.2,
        "escalation_scan_interval_s": 0.1,
        "database_pool_min": 1,
        "database_pool_max": 5,
        "consumer_session_timeout_ms": 4000,
    }
    return EscalationsSettings(
        database_url=dsn, kafka_bootstrap=bootstrap, data_dir=data_dir, **(fast | kw)
    )


@dataclass
class Served:
    rt: Runtime[EscalationsSettings]
    client: httpx.AsyncClient  # the admins, from 127.0.0.1
    resident: httpx.AsyncClient  # a resident's phone, from an address of its own
    issuer: TestIssuer
    clock: FixedClock

    def h(self, role: Any, party: UUID) -> dict[str, str]:
        return self.issuer.headers(role, party)


@asynccontextmanager
async def served(
    s: EscalationsSettings, issuer: TestIssuer, clock: FixedClock
) -> AsyncIterator[Served]:
    app = create_app(definition(s, verifier=issuer.verifier, clock=clock))
    rt: Runtime[EscalationsSettings] = app.state.runtime
    await rt.start()
    try:
        admin = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        phone = httpx.ASGITransport(app=app, client=("10.0.0.7", 40001))
        async with (
            httpx.AsyncClient(transport=admin, base_url="http://testserver") as client,
            httpx.AsyncClient(transport=phone, base_url="http://testserver") as resident,
        ):
            yield Served(rt, client, resident, issuer, clock)
    finally:
        await rt.stop()


async def parties_known(rt: Runtime[Any], ids: Iterable[UUID]) -> None:
    wanted = list(ids)

    async def known() -> bool:
        async with rt.pool.acquire() as conn:
            n = await conn.fetchval(
                "SELECT count(*) FROM party_directory WHERE party_id = ANY($1::uuid[])", wanted
            )
        return bool(n == len(wanted))

    await eventually(known, timeout=30)


async def settled(rt: Runtime[Any]) -> None:
    await eventually(lambda: caught_up(rt), timeout=30)


async def topic_events(
    bootstrap: str, keys: Iterable[UUID | str], topic: str = topics.ESCALATIONS, timeout: float = 15
) -> list[Envelope]:
    """Everything on `topic` up to its current end whose key is one of ours, in order."""
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


async def upload(s: Served, whistle_id: str, headers: dict[str, str]) -> str:
    r = await s.client.post(
        f"/whistles/{whistle_id}/evidence",
        files={"file": ("photo.png", PNG, "image/png")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["evidence_id"])
