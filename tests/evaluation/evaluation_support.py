"""A small district's year as events (fresh ids per run), and a real HTTP server around the
evaluation service for the integration and browser tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import uvicorn
from cobuild_contracts import Event, encode, headers, wrap
from cobuild_contracts.enums import AgreementOrigin, ItemKind, PartyKind, UnitType
from cobuild_contracts.events.agreements import AgreementSigned, CommitmentItem, PartyRegistered
from cobuild_contracts.events.commitments import (
    CommitmentCancelled,
    CommitmentFulfilled,
    CommitmentOpened,
    CommitmentOverdue,
)
from cobuild_contracts.events.points import MemberReported, PointsAwarded, PointsReversed
from cobuild_evaluation.app import definition
from cobuild_evaluation.settings import EvaluationSettings
from cobuild_kit.clock import FixedClock
from cobuild_kit.service import Runtime, ServiceDefinition, create_app
from cobuild_kit.testing import TestIssuer
from cobuild_stack.testing import create_topics, produce
from cobuild_stack.topics import suite_topics


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 4, 0, tzinfo=UTC)  # noon in Asia/Shanghai, same date


@dataclass
class World:
    district: UUID = field(default_factory=uuid4)
    s1: UUID = field(default_factory=uuid4)
    s2: UUID = field(default_factory=uuid4)
    c1: UUID = field(default_factory=uuid4)
    c2: UUID = field(default_factory=uuid4)
    c3: UUID = field(default_factory=uuid4)
    u1: UUID = field(default_factory=uuid4)
    u2: UUID = field(default_factory=uuid4)
    a1: UUID = field(default_factory=uuid4)
    a2: UUID = field(default_factory=uuid4)
    a3: UUID = field(default_factory=uuid4)
    k: dict[int, UUID] = field(default_factory=lambda: {i: uuid4() for i in range(1, 6)})
    m: dict[int, UUID] = field(default_factory=lambda: {i: uuid4() for i in range(1, 5)})
    tag: str = field(default_factory=lambda: uuid4().hex[:6])

    # commitment → (agreement, community, unit, deadline, fen)
    def plan(self) -> dict[int, tuple[UUID, UUID, UUID, date, int]]:
        return {
            1: (self.a1, self.c1, self.u1, date(2026, 3, 31), 10_000),
            2: (self.a1, self.c1, self.u1, date(2026, 2, 28), 30_000),
            3: (self.a2, self.c2, self.u1, date(2026, 6, 30), 60_000),
            4: (self.a3, self.c3, self.u2, date(2026, 12, 31), 5_000),
            5: (self.a3, self.c3, self.u2, date(2026, 5, 31), 20_000),
        }


def _party(
    pid: UUID, kind: PartyKind, name: str, parent: UUID | None, **kw: Any
) -> PartyRegistered:
    return PartyRegistered(party_id=pid, kind=kind, name=name, parent_id=parent, version=1, **kw)


def agreement_events(w: World) -> list[Event]:
    unit = {"unit_type": UnitType.ENTERPRISE}
    events: list[Event] = [
        _party(w.district, PartyKind.DISTRICT, f"测试区 {w.tag}", None),
        _party(w.s1, PartyKind.STREET, f"东街道 {w.tag}", w.district),
        _party(w.s2, PartyKind.STREET, f"西街道 {w.tag}", w.district),
        _party(w.c1, PartyKind.COMMUNITY, f"花园社区 {w.tag}", w.s1),
        _party(w.c2, PartyKind.COMMUNITY, f"河畔社区 {w.tag}", w.s1),
        _party(w.c3, PartyKind.COMMUNITY, f"山景社区 {w.tag}", w.s2),
        _party(
            w.u1,
            PartyKind.UNIT,
            f"=恒达公司 {w.tag}",
            w.district,
            paired_community_ids=[w.c1, w.c2],
            **unit,
        ),
        _party(
            w.u2,
            PartyKind.UNIT,
            f"实验学校 {w.tag}",
            w.district,
            paired_community_ids=[w.c3],
            **unit,
        ),
    ]
    plan = w.plan()
    for agreement, community, unit_id in (
        (w.a1, w.c1, w.u1),
        (w.a2, w.c2, w.u1),
        (w.a3, w.c3, w.u2),
    ):
        items = [
            CommitmentItem(
                commitment_id=w.k[i],
                title=f"item {i}",
                kind=ItemKind.TASK,
                category="happy_compound",
                obligor_party_id=unit_id,
                beneficiary_party_id=community,
                responsible_title="secretary",
                deadline=p[3],
                funds_fen=p[4],
            )
            for i, p in plan.items()
            if p[0] == agreement
        ]
        events.append(
            AgreementSigned(
                agreement_id=agreement,
                version=1,
                community_id=community,
                unit_id=unit_id,
                street_id=None,
                district_id=w.district,
                term_start=date(2026, 1, 1),
                term_end=date(2026, 12, 31),
                origin=AgreementOrigin.NEGOTIATED,
                items=items,
                signed_at=at(2026, 1, 9),
            )
        )
    return events


def commitment_events(w: World) -> list[Event]:
    plan = w.plan()
    events: list[Event] = []
    for i, (agreement, community, unit_id, deadline, fen) in plan.items():
        events.append(
            CommitmentOpened(
                commitment_id=w.k[i],
                agreement_id=agreement,
                community_id=community,
                unit_id=unit_id,
                obligor_party_id=unit_id,
                beneficiary_party_id=community,
                title=f"item {i}",
                kind=ItemKind.TASK,
                category="happy_compound",
                deadline=deadline,
                funds_fen=fen,
                opened_at=at(2026, 1, 10),
            )
        )

    def fulfilled(i: int, confirmed: datetime, paid: int, on_time: bool) -> CommitmentFulfilled:
        agreement, community, unit_id, deadline, fen = plan[i]
        return CommitmentFulfilled(
            commitment_id=w.k[i],
            agreement_id=agreement,
            community_id=community,
            unit_id=unit_id,
            obligor_party_id=unit_id,
            beneficiary_party_id=community,
            participants=[],
            committed_quantity=1,
            actual_quantity=1,
            partial=False,
            committed_fen=fen,
            paid_fen=paid,
            deadline=deadline,
            done_at=confirmed,
            done_date=confirmed.date(),
            confirmed_at=confirmed,
            on_time=on_time,
        )

    events += [
        fulfilled(1, at(2026, 3, 1), 10_000, True),
        CommitmentOverdue(
            commitment_id=w.k[2],
            agreement_id=w.a1,
            deadline=date(2026, 2, 28),
            detected_at=at(2026, 3, 1),
        ),
        fulfilled(2, at(2026, 4, 15), 50_000, False),
        CommitmentCancelled(
            commitment_id=w.k[4],
            agreement_id=w.a3,
            reason="budget cut",
            cancelled_at=at(2026, 5, 2),
        ),
        fulfilled(5, at(2026, 5, 20), 15_000, True),
    ]
    return events


def points_events(w: World) -> list[Event]:
    homes = {1: (w.u1, w.c1), 2: (w.u1, w.c1), 3: (w.u2, w.c3), 4: (w.u1, w.c2)}
    events: list[Event] = [
        MemberReported(member_id=w.m[i], unit_id=u, community_id=c, reported_at=at(2026, 1, 5))
        for i, (u, c) in homes.items()
    ]
    award_ids: dict[int, UUID] = {}
    for i, pts in ((1, "60.00"), (2, "30.00"), (3, "45.00"), (4, "10.00")):
        award_ids[i] = uuid4()
        u, c = homes[i]
        events.append(
            PointsAwarded(
                entry_id=award_ids[i],
                member_id=w.m[i],
                year=2026,
                points=Decimal(pts),
                reason="activity",
                cause_event_id=uuid4(),
                rule_code="activity_attendance",
                rule_set_version="2026-v1",
                community_id=c,
                unit_id=u,
                business_date=date(2026, 4, 1),
                capped=False,
                awarded_at=at(2026, 4, 1),
            )
        )
    u, c = homes[4]
    events.append(
        PointsReversed(
            entry_id=uuid4(),
            reverses_entry_id=award_ids[4],
            member_id=w.m[4],
            year=2026,
            points=Decimal("5.00"),
            reason="correction",
            cause_event_id=uuid4(),
            community_id=c,
            unit_id=u,
            business_date=date(2026, 5, 1),
            reversed_at=at(2026, 5, 1),
        )
    )
    return events


async def send(bootstrap: str, producer: str, events: list[Event]) -> None:
    by_topic: dict[str, list[tuple[bytes | None, bytes | None, dict[str, bytes]]]] = {}
    for e in events:
        env = wrap(e, producer=producer, occurred_at=at(2026, 1, 1))
        hdrs = {k: v.encode() for k, v in headers(env).items()}
        by_topic.setdefault(e.TOPIC, []).append((env.key.encode(), encode(env), hdrs))
    for topic, messages in by_topic.items():
        await produce(bootstrap, topic, messages)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    rt: Runtime
    client: httpx.AsyncClient
    base_url: str
    issuer: TestIssuer
    clock: FixedClock


@asynccontextmanager
async def served(dsn: str, bootstrap: str, data_dir: Path) -> AsyncIterator[Served]:
    """The service on a real uvicorn server on 127.0.0.1 (the browser needs a real URL)."""
    await create_topics(bootstrap, suite_topics())
    issuer = TestIssuer()
    clock = FixedClock(at(2026, 6, 1))
    base = definition()
    port = free_port()
    settings = EvaluationSettings(
        database_url=dsn,
        kafka_bootstrap=bootstrap,
        data_dir=data_dir,
        port=port,
        points_public_url="http://points.example",
    )
    d = ServiceDefinition(
        name=base.name,
        settings=settings,
        migrations_package=base.migrations_package,
        routers=base.routers,
        consumers=base.consumers,
        workers=base.workers,
        verifier=issuer.verifier,
        clock=clock,
    )
    app = create_app(d)
    rt: Runtime = app.state.runtime
    await rt.start()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Served(rt, client, url, issuer, clock)
    finally:
        server.should_exit = True
        await task
        await rt.stop()
