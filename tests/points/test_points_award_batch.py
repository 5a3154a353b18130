"""The task award's many-handler gives the same points ledger as awarding event by event: the
same commitment.fulfilled events, once through the kit in one batch (chain heads locked once,
caps counted as the run appends) and once one by one through `awards.award` (a run of one), leave identical
entries, chain heads, rule-set years and points.awarded events, and both chains verify."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from cobuild_contracts import CommitmentFulfilled, Envelope, encode
from cobuild_contracts.events.commitments import Participant
from cobuild_kit import inbox
from cobuild_kit.clock import FixedClock
from cobuild_kit.consumer import BatchProcessor
from cobuild_kit.db import connect, create_pool
from cobuild_kit.outbox import Outbox
from cobuild_kit.testing import BatchDeps, FakeRecord, prepare_database
from cobuild_points import consumers
from cobuild_points.store import members
from cobuild_points.usecases import awards, points

NOW = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
COMMUNITY, UNIT = uuid4(), uuid4()


@dataclass
class World:
    placed: list[UUID]  # registered, serving a community
    unplaced: list[UUID]  # registered, no community yet (falls back to the event's)
    unknown: list[UUID]  # not registered here

    def __post_init__(self) -> None:
        self.unit_of = {m: uuid4() for m in [*self.placed, *self.unplaced]}
        self.community_of = {m: uuid4() for m in self.placed}

    @property
    def everyone(self) -> list[UUID]:
        return [*self.placed, *self.unplaced, *self.unknown]


def fulfilled(rng: random.Random, w: World, day: date) -> CommitmentFulfilled:
    done = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)
    who = rng.sample(w.everyone, rng.randint(1, 4))
    return CommitmentFulfilled(
        commitment_id=uuid4(),
        agreement_id=uuid4(),
        community_id=COMMUNITY,
        unit_id=UNIT,
        obligor_party_id=UNIT,
        beneficiary_party_id=COMMUNITY,
        participants=[
            Participant(member_id=m, hours=Decimal(rng.choice(["0.5", "1.5", "3", "4.25"])))
            for m in who
        ],
        committed_quantity=1,
        actual_quantity=1,
        partial=False,
        committed_fen=1000,
        paid_fen=1000,
        deadline=day,
        done_at=done,
        done_date=day,
        confirmed_at=done + timedelta(hours=rng.randint(0, 30)),
        on_time=True,
    )


def stream(w: World, outbox: Outbox) -> list[tuple[Envelope, CommitmentFulfilled]]:
    """Few members over few days in two years, so the daily, per-task and yearly caps bite."""
    rng = random.Random(11)
    days = [date(2025, 12, 30), date(2026, 1, 2), date(2026, 1, 3), date(2026, 1, 4)]
    events = [fulfilled(rng, w, rng.choice(days)) for _ in range(80)]
    out = [(outbox.envelope(e, correlation_id=f"c-{i}"), e) for i, e in enumerate(events)]
    out.append(out[7])  # the same event delivered twice in the batch
    return out


async def _database(pg_server: Any, prefix: str, w: World) -> asyncpg.Pool:
    dsn = await pg_server.create_database(prefix)
    await prepare_database(dsn, "points")
    conn = await connect(dsn)
    try:
        for n, m in enumerate([*w.placed, *w.unplaced]):
            await conn.execute(
                """INSERT INTO member (member_id, name, phone, unit_id, residence_community_id,
                       community_id, registered_by, registered_at)
                   VALUES ($1, 'x', $2, $3, $4, $5, 'test', $6)""",
                m,
                f"1380000{n:04d}",
                w.unit_of[m],
                COMMUNITY,
                w.community_of.get(m),
                NOW,
            )
    finally:
        await conn.close()
    return await create_pool(dsn)


async def _award_one_by_one(conn: asyncpg.Connection, outbox: Outbox, env: Envelope,
                            event: CommitmentFulfilled) -> None:  # fmt: skip
    """The per-event handler as it was before the batch hook."""

    async def emit(e: Any) -> Envelope:
        return await outbox.add(
            conn, e, correlation_id=env.correlation_id, causation_id=env.event_id
        )

    if not await inbox.claim(
        conn, "points.commitments", env.event_id,
        event_type=env.event_type, topic="t", partition=0, offset=0,
    ):  # fmt: skip
        return
    for participant in event.participants:
        member = await members.find(conn, participant.member_id)
        await awards.award(
            conn,
            emit,
            awards.AwardRequest(
                member_id=participant.member_id,
                rule_code=awards.TASK_RULE,
                hours=participant.hours,
                cause_event_id=env.event_id,
                business_date=event.done_date,
                source_id=event.commitment_id,
                community_id=(member and member["community_id"]) or event.community_id,
                unit_id=member["unit_id"] if member else event.unit_id,
                at=event.confirmed_at,
                what=f"commitment {event.commitment_id}",
            ),
        )


async def _state(pool: asyncpg.Pool) -> dict[str, Any]:
    async with pool.acquire() as conn:
        entries = await conn.fetch(
            """SELECT member_id, year, seq, kind, points, reason, cause_event_id, rule_code,
                      rule_set_version, category, source_id, community_id, unit_id,
                      business_date, capped, cap_reason, recorded_at
               FROM points_entry ORDER BY member_id, year, seq"""
        )
        heads = await conn.fetch(
            "SELECT member_id, year, length, balance FROM points_chain ORDER BY member_id, year"
        )
        years = await conn.fetch("SELECT year, version, fixed_at FROM rule_set_year ORDER BY 1")
        out = await conn.fetch("SELECT topic, key, event_type, envelope FROM outbox ORDER BY id")
        verified = [(await points.verify_year(conn, y)).ok for y in (2025, 2026)]
    events = []
    for r in out:
        env = r["envelope"]
        payload = {k: v for k, v in env["payload"].items() if k != "entry_id"}
        events.append((r["topic"], r["key"], r["event_type"], env["causation_id"],
                       env["correlation_id"], payload))  # fmt: skip
    return {
        "entries": [tuple(r) for r in entries],
        "heads": [tuple(r) for r in heads],
        "years": [tuple(r) for r in years],
        "events": events,
        "verified": verified,
    }


async def test_a_batch_and_the_same_events_one_by_one_leave_the_same_points_ledger(
    pg_server: Any,
) -> None:
    w = World(
        placed=[uuid4() for _ in range(4)],
        unplaced=[uuid4() for _ in range(2)],
        unknown=[uuid4()],
    )
    clock = FixedClock(NOW)
    outbox = Outbox("points", clock)
    items = stream(w, Outbox("commitments", clock))
    one_by_one, batched = (
        await _database(pg_server, "ptsref", w),
        await _database(pg_server, "ptsbatch", w),
    )
    try:
        async with one_by_one.acquire() as conn:
            for env, event in items:
                async with conn.transaction():
                    await _award_one_by_one(conn, outbox, env, event)
        async with batched.acquire() as conn:  # points heard them opened (else they wait)
            await conn.executemany(
                "INSERT INTO known_commitment VALUES ($1, $2) ON CONFLICT DO NOTHING",
                [(event.commitment_id, NOW) for _, event in items],
            )
        processor = BatchProcessor(
            group="points.commitments",
            spec=consumers.commitments,
            deps=BatchDeps(batched, outbox, clock),
        )
        records = [
            FakeRecord("commitments.events.v1", 0, n, b"k", encode(env))
            for n, (env, _) in enumerate(items)
        ]
        assert await processor.process(records) is True
        reference, got = await _state(one_by_one), await _state(batched)
    finally:
        await one_by_one.close()
        await batched.close()
    assert reference["verified"] == [True, True]
    assert any(e[14] for e in reference["entries"])  # some awards were capped
    assert {e[1] for e in reference["entries"]} == {2025, 2026}
    assert len(reference["events"]) == len(reference["entries"]) > 40
    for key in reference:
        assert got[key] == reference[key], key
