"""Helpers for the agreements API tests: a small world of places and a unit, and a topic reader
that picks out this test's own events (the broker and its topics are shared)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from cobuild_contracts import ContractError, Envelope, Event, Role, decode, topics
from cobuild_kit.service import Runtime
from cobuild_kit.testing import TestIssuer

NOW = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)  # business date 2025-03-01 in Asia/Shanghai
TODAY = date(2025, 3, 1)


@dataclass
class Service:
    rt: Runtime
    client: httpx.AsyncClient
    issuer: TestIssuer
    bootstrap: str

    def as_(self, role: Role, party_id: UUID) -> dict[str, str]:
        return self.issuer.headers(role, party_id)

    async def ok(self, method: str, url: str, role: Role, party: UUID, **kw: Any) -> Any:
        response = await self.client.request(method, url, headers=self.as_(role, party), **kw)
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json()


@dataclass
class World:
    district: UUID
    street: UUID
    community: UUID
    other_community: UUID
    unit: UUID
    other_unit: UUID


async def build_world(s: Service) -> World:
    """District → street → two communities; two units, the first paired with the community."""
    district = uuid4()
    d = (Role.DISTRICT_ADMIN, district)
    await s.ok(
        "POST",
        "/parties",
        *d,
        json={"party_id": str(district), "kind": "district", "name": "河西区"},
    )
    street = (
        await s.ok(
            "POST",
            "/parties",
            *d,
            json={"kind": "street", "name": "和平街道", "parent_id": str(district)},
        )
    )["party_id"]
    st = (Role.STREET_ADMIN, UUID(street))
    community = (
        await s.ok(
            "POST",
            "/parties",
            *st,
            json={"kind": "community", "name": "和兴社区", "parent_id": street},
        )
    )["party_id"]
    other = (
        await s.ok(
            "POST",
            "/parties",
            *st,
            json={"kind": "community", "name": "和顺社区", "parent_id": street},
        )
    )["party_id"]
    unit = (
        await s.ok(
            "POST",
            "/parties",
            *d,
            json={
                "kind": "unit",
                "name": "区司法局",
                "parent_id": str(district),
                "unit_type": "government_office",
            },
        )
    )["party_id"]
    other_unit = (
        await s.ok(
            "POST",
            "/parties",
            *d,
            json={
                "kind": "unit",
                "name": "星辰科技",
                "parent_id": str(district),
                "unit_type": "enterprise",
            },
        )
    )["party_id"]
    await s.ok("PUT", f"/parties/{unit}/pairings", *d, json={"community_ids": [community]})
    return World(district, UUID(street), UUID(community), UUID(other), UUID(unit), UUID(other_unit))


def need_body(community: UUID, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "community_id": str(community),
        "category": "happy_compound",
        "kind": "task",
        "title": "和兴小区3号楼楼道照明改造",
        "quantity": 48,
        "quantity_unit": "lamps",
        "funds_fen": 1_850_000,
        "wanted_by": "2025-06-30",
        "beneficiaries": 120,
    }
    body.update(kw)
    return body


def item(obligor: UUID, beneficiary: UUID, title: str, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": title,
        "kind": "task",
        "category": "happy_compound",
        "obligor_party_id": str(obligor),
        "beneficiary_party_id": str(beneficiary),
        "responsible_title": "机关党委书记",
        "deadline": "2025-06-30",
        "funds_fen": 0,
    }
    body.update(kw)
    return body


async def read_events(
    bootstrap: str,
    wanted: Callable[[Envelope, Event], bool],
    count: int,
    *,
    topic: str = topics.AGREEMENTS,
    timeout: float = 15.0,
    settle: float = 0.0,
) -> list[tuple[Envelope, Event]]:
    """Read `topic` from the beginning until `count` wanted events arrived; with `settle`,
    keep reading that long after the count is reached (to catch unwanted extras)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    got: list[tuple[Envelope, Event]] = []
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        while not parts:
            await consumer.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
            await asyncio.sleep(0.05)
        consumer.assign([TopicPartition(topic, p) for p in sorted(parts)])
        await consumer.seek_to_beginning()
        deadline = time.monotonic() + timeout
        settled_at: float | None = None
        while time.monotonic() < deadline:
            if len(got) >= count:
                settled_at = settled_at or time.monotonic() + settle
                if time.monotonic() >= settled_at:
                    break
            batch = await consumer.getmany(timeout_ms=100)
            for records in batch.values():
                for record in records:
                    if record.value is None:
                        continue
                    try:
                        envelope, event = decode(record.value)
                    except ContractError:
                        continue  # someone else's test message on the shared topic
                    if wanted(envelope, event):
                        got.append((envelope, event))
    finally:
        await consumer.stop()
    if len(got) < count:
        raise AssertionError(f"only {len(got)} of {count} wanted events arrived in {timeout}s")
    return got
