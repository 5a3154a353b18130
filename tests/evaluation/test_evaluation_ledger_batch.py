"""The consumers' many-handlers leave what their reference gives: commitment.* events through
the kit in one batch (runs of one type, set-based SQL, `record_many`) leave the ledger the
domain's pure fold gives for the same facts (journal, states, agreements and dailies), and
the points and signing runs leave what the per-event statements leave."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from cobuild_contracts import (
    AgreementOrigin,
    AgreementSigned,
    CommitmentItem,
    Envelope,
    Event,
    ItemKind,
    encode,
)
from cobuild_contracts.events.commitments import (
    CommitmentCancelled,
    CommitmentFulfilled,
    CommitmentOpened,
    CommitmentOverdue,
)
from cobuild_contracts.events.points import PointsAwarded, PointsReversed
from cobuild_evaluation import consumers
from cobuild_evaluation.domain.ledger import (
    ALL_SCOPE,
    MEASURES,
    Cancelled,
    CommitmentState,
    Fact,
    FlaggedOverdue,
    Opened,
    aggregate,
    fold,
)
from cobuild_evaluation.store import ledger as ledger_store
from cobuild_evaluation.store.ledger import STATE_COLS, fact_from
from cobuild_evaluation.usecases import ledger
from cobuild_kit.clock import FixedClock, business_date
from cobuild_kit.consumer import BatchProcessor
from cobuild_kit.db import create_pool
from cobuild_kit.outbox import Outbox
from cobuild_kit.testing import BatchDeps, FakeRecord, prepare_database
from evaluation_support import World, at, commitment_events

COMMUNITY, UNIT = uuid4(), uuid4()


def item_of(unit: UUID) -> CommitmentItem:
    return CommitmentItem(
        commitment_id=uuid4(), title="Lighting", kind=ItemKind.TASK, category="happy_compound",
        obligor_party_id=unit, beneficiary_party_id=COMMUNITY, responsible_title="Secretary",
        deadline=date(2026, 12, 1),
    )  # fmt: skip


def fact_of(e: Event) -> Fact:
    if isinstance(e, CommitmentOpened):
        return consumers.opened_fact(e)
    if isinstance(e, CommitmentFulfilled):
        return consumers.fulfilled_fact(e)
    if isinstance(e, CommitmentOverdue):
        return FlaggedOverdue(day=business_date(e.detected_at))
    assert isinstance(e, CommitmentCancelled)
    return Cancelled(day=business_date(e.cancelled_at))


def events(w: World) -> list[Event]:
    """The scenario's events, then more commitments in long runs of one type: fulfilled early
    and late, cancelled before and after fulfilment, flagged twice, opened twice."""
    rng = random.Random(7)
    base = commitment_events(w)
    opened = [e for e in base if isinstance(e, CommitmentOpened)]
    more: list[CommitmentOpened] = []
    for i in range(40):
        template = opened[i % len(opened)]
        more.append(
            template.model_copy(
                update={
                    "commitment_id": uuid4(),
                    "deadline": template.deadline + timedelta(days=rng.randint(-40, 40)),
                    "funds_fen": rng.randint(1, 90_000),
                    "opened_at": at(2026, 1, rng.randint(1, 28)),
                }
            )
        )
    fulfilled = [
        CommitmentFulfilled(
            commitment_id=o.commitment_id,
            agreement_id=o.agreement_id,
            community_id=o.community_id,
            unit_id=o.unit_id,
            obligor_party_id=o.unit_id,
            beneficiary_party_id=o.community_id,
            participants=[],
            committed_quantity=1,
            actual_quantity=1,
            partial=False,
            committed_fen=o.funds_fen,
            paid_fen=rng.choice([o.funds_fen, o.funds_fen // 2, o.funds_fen * 2]),
            deadline=o.deadline,
            done_at=(t := at(2026, rng.randint(2, 8), rng.randint(1, 28))),
            done_date=t.date(),
            confirmed_at=t,
            on_time=t.date() <= o.deadline,
        )
        for o in more[:25]
    ]
    cancelled = [
        CommitmentCancelled(
            commitment_id=o.commitment_id,
            agreement_id=o.agreement_id,
            reason="gone",
            cancelled_at=at(2026, rng.randint(2, 9), rng.randint(1, 28)),
        )
        for o in more[20:32]  # 20..24 were fulfilled: their cancellation moves nothing
    ]
    overdue = [
        CommitmentOverdue(
            commitment_id=o.commitment_id,
            agreement_id=o.agreement_id,
            deadline=o.deadline,
            detected_at=at(2026, 10, rng.randint(1, 28)),
        )
        for o in [*more[28:40], *more[35:40]]  # flagged twice: counted once
    ]
    reopened = [o.model_copy(update={"funds_fen": 1}) for o in more[:3]]  # a new event id
    late = [fulfilled[0], fulfilled[3].model_copy(update={"commitment_id": more[30].commitment_id})]
    return [*base, *more, *fulfilled, *cancelled, *overdue, *reopened, *late]


async def _database(pg_server: Any, prefix: str) -> asyncpg.Pool:
    dsn = await pg_server.create_database(prefix)
    await prepare_database(dsn, "evaluation")
    return await create_pool(dsn)


Ledger = dict[str, Any]
_MEASURE_COLS = ", ".join(MEASURES)


async def _kept(pool: asyncpg.Pool) -> Ledger:
    """The ledger as the database holds it."""
    async with pool.acquire() as conn:
        journal = await conn.fetch(
            "SELECT event_id, commitment_id, fact, business_day, data FROM ledger_journal ORDER BY id"
        )
        states = await conn.fetch(f"SELECT {STATE_COLS} FROM ledger_commitments")
        daily = await conn.fetch(
            f"SELECT scope_kind, scope_id, day, {_MEASURE_COLS} FROM ledger_daily"
        )
        agreements = await conn.fetch("SELECT * FROM ledger_agreements ORDER BY agreement_id")
    return {
        "journal": [
            (r["event_id"], r["commitment_id"], r["business_day"], fact_from(r["fact"], r["data"]))
            for r in journal
        ],
        "states": {
            str(r["commitment_id"]): CommitmentState(
                **{k: str(v) if isinstance(v, UUID) else v for k, v in r.items()}
            )
            for r in states
        },
        "daily": {
            (r["scope_kind"], r["scope_id"], r["day"]): tuple(int(r[m]) for m in MEASURES)
            for r in daily
        },
        "agreements": [tuple(r) for r in agreements],
    }


def _folded(stream: list[tuple[Envelope, Event]]) -> Ledger:
    """The ledger the domain's fold gives: each event id's fact once (the journal's key),
    each commitment's deltas summed per day into its five scopes' rows."""
    entries: dict[UUID, tuple[UUID, Fact]] = {}
    for env, event in stream:
        entries.setdefault(env.event_id, (event.commitment_id, fact_of(event)))  # type: ignore[attr-defined]
    folded = fold((str(cid), fact) for cid, fact in entries.values())
    daily: dict[tuple[str, UUID, date], list[int]] = {}
    for cid, state in folded.states.items():
        scopes = [("commitment", state.commitment_id), ("agreement", state.agreement_id),
                  ("unit", state.unit_id), ("community", state.community_id)]  # fmt: skip
        keys = [(kind, UUID(sid)) for kind, sid in scopes] + [("all", ALL_SCOPE)]
        for day, sums in aggregate(folded.deltas[cid]).items():
            for kind, sid in keys:
                row = daily.setdefault((kind, sid, day), [0] * len(MEASURES))
                for i, m in enumerate(MEASURES):
                    row[i] += sums[m]
    parties = {
        UUID(s.agreement_id): (UUID(s.community_id), UUID(s.unit_id))
        for s in folded.states.values()
    }
    return {
        "journal": [(e, cid, f.day, f) for e, (cid, f) in entries.items()],
        "states": folded.states,
        "daily": {k: tuple(v) for k, v in daily.items()},
        "agreements": [(a, *parties[a]) for a in sorted(parties)],
    }


async def test_a_batch_leaves_the_ledger_the_pure_fold_gives(pg_server: Any) -> None:
    clock = FixedClock(at(2026, 11, 1))
    outbox = Outbox("commitments", clock)
    stream: list[tuple[Envelope, Event]] = [(outbox.envelope(e), e) for e in events(World())]
    stream.append(stream[3])  # a redelivery within the batch
    batched = await _database(pg_server, "evalbatch")
    try:
        processor = BatchProcessor(
            group="evaluation.commitments",
            spec=consumers.commitments,
            deps=BatchDeps(batched, outbox, clock),
        )
        records = [
            FakeRecord("commitments.events.v1", 0, n, b"k", encode(env))
            for n, (env, _) in enumerate(stream)
        ]
        assert await processor.process(records) is True
        got = await _kept(batched)
    finally:
        await batched.close()
    reference = _folded(stream)
    assert len(reference["journal"]) == len(stream) - 1
    assert len(reference["states"]) == 45
    assert (
        len(reference["agreements"])
        == len({s.agreement_id for s in reference["states"].values()})
        > 1
    )
    assert got == reference


def points_stream(rng: random.Random) -> list[Event]:
    """Awards and reversals for few member-years, in runs: a reversal first (a new row from a
    negative entry), awards moving the community, a redelivered entry id."""
    members, places = [uuid4() for _ in range(5)], [(uuid4(), uuid4()) for _ in range(3)]
    out: list[Event] = []

    def awarded() -> PointsAwarded:
        community, unit = rng.choice(places)
        year = rng.choice([2025, 2026])
        return PointsAwarded(
            entry_id=uuid4(), member_id=rng.choice(members), year=year,
            points=Decimal(rng.choice(["1.50", "3.00", "12.25"])), reason="task",
            cause_event_id=uuid4(), rule_code="task", rule_set_version="2026-v1",
            community_id=community, unit_id=unit, business_date=date(year, 3, 1),
            capped=False, awarded_at=at(2026, 3, 1),
        )  # fmt: skip

    def reversed_(a: PointsAwarded) -> PointsReversed:
        community, unit = rng.choice(places)
        return PointsReversed(
            entry_id=uuid4(), reverses_entry_id=a.entry_id, member_id=a.member_id, year=a.year,
            points=a.points, reason="wrong", cause_event_id=uuid4(), community_id=community,
            unit_id=unit, business_date=date(2026, 4, 1), reversed_at=at(2026, 4, 1),
        )  # fmt: skip

    first = awarded()
    out.append(reversed_(first))
    for _ in range(3):
        run = [awarded() for _ in range(rng.randint(5, 25))]
        out += run
        out += [reversed_(a) for a in rng.sample(run, 3)]
    out.append(out[4])  # the same entry again (a new event id: the entry id absorbs it)
    return out


def points_folded(stream: list[Event]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(member_points, points_entries) as entry-by-entry bookkeeping leaves them: each entry
    id once; a member-year's total moves by each entry, and it is placed where its latest
    positive entry was earned (its first entry's place while none is positive)."""
    entries: dict[UUID, tuple[Any, ...]] = {}
    totals: dict[tuple[UUID, int], list[Any]] = {}
    for e in stream:
        assert isinstance(e, PointsAwarded | PointsReversed)
        if e.entry_id in entries:
            continue
        points = Decimal(e.points) if isinstance(e, PointsAwarded) else -Decimal(e.points)
        entries[e.entry_id] = (e.entry_id, e.member_id, e.year, points, e.community_id,
                               e.unit_id, e.business_date)  # fmt: skip
        total = totals.get((e.member_id, e.year))
        if total is None:
            totals[(e.member_id, e.year)] = [points, e.community_id, e.unit_id]
            continue
        total[0] += points
        if points > 0:
            total[1:] = [e.community_id, e.unit_id]
    member_points = [(m, y, *totals[(m, y)]) for m, y in sorted(totals)]
    return member_points, [entries[k] for k in sorted(entries)]


async def test_points_totals_in_runs_match_entry_by_entry(pg_server: Any) -> None:
    clock = FixedClock(at(2026, 11, 1))
    outbox = Outbox("points", clock)
    events_ = points_stream(random.Random(5))
    stream = [(outbox.envelope(e), e) for e in events_]
    batched = await _database(pg_server, "evalptsbatch")
    try:
        processor = BatchProcessor(
            group="evaluation.points", spec=consumers.points, deps=BatchDeps(batched, outbox, clock)
        )
        records = [
            FakeRecord("points.events.v1", 0, n, b"k", encode(env))
            for n, (env, _) in enumerate(stream)
        ]
        assert await processor.process(records) is True
        sql = (
            "SELECT * FROM member_points ORDER BY member_id, year",
            "SELECT * FROM points_entries ORDER BY entry_id",
        )
        async with batched.acquire() as conn:
            got = [[tuple(r) for r in await conn.fetch(q)] for q in sql]
    finally:
        await batched.close()
    for kept, reference in zip(got, points_folded(events_), strict=True):
        assert kept == reference
        assert len(reference) > 5


_SIGNED_ONE = """
INSERT INTO agreements (agreement_id, community_id, unit_id, street_id, district_id,
    term_start, term_end, origin, version, signed_on, signed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (agreement_id) DO UPDATE SET version = EXCLUDED.version,
    term_start = EXCLUDED.term_start, term_end = EXCLUDED.term_end
WHERE agreements.version < EXCLUDED.version"""  # the per-event handler before the batch hook


def signings() -> tuple[list[AgreementSigned], list[AgreementSigned]]:
    """Two batches: versions out of order, equal versions with other terms, a party change
    in a newer version (an update keeps the first row's parties), and an older version of an
    agreement stored by the first batch."""
    a, b, c = uuid4(), uuid4(), uuid4()

    def signed(aid: UUID, version: int, month: int, unit: UUID = UNIT) -> AgreementSigned:
        return AgreementSigned(
            agreement_id=aid, version=version, community_id=COMMUNITY, unit_id=unit,
            street_id=None, district_id=None, term_start=date(2026, month, 1),
            term_end=date(2026, 12, 31), origin=AgreementOrigin.NEGOTIATED, items=[item_of(unit)],
            signed_at=at(2026, month, 2),
        )  # fmt: skip

    first = [signed(a, 1, 1), signed(b, 2, 2), signed(a, 3, 3, uuid4()), signed(a, 2, 4),
             signed(a, 3, 5), signed(c, 1, 6)]  # fmt: skip
    second = [signed(b, 1, 7), signed(b, 4, 8), signed(c, 1, 9)]
    return first, second


async def test_signings_in_runs_match_signing_by_signing(pg_server: Any) -> None:
    clock = FixedClock(at(2026, 11, 1))
    outbox = Outbox("agreements", clock)
    first, second = signings()
    one_by_one, batched = (
        await _database(pg_server, "evalagrref"),
        await _database(pg_server, "evalagrbatch"),
    )
    try:
        async with one_by_one.acquire() as conn:
            for e in [*first, *second]:
                await conn.execute(_SIGNED_ONE, *consumers.signed_rows([e])[0])
        processor = BatchProcessor(
            group="evaluation.agreements",
            spec=consumers.agreements,
            deps=BatchDeps(batched, outbox, clock),
        )
        for n, batch in enumerate((first, second)):
            records = [
                FakeRecord("agreements.events.v1", 0, 10 * n + i, b"k", encode(outbox.envelope(e)))
                for i, e in enumerate(batch)
            ]
            assert await processor.process(records) is True
        query = "SELECT * FROM agreements ORDER BY agreement_id"
        async with one_by_one.acquire() as conn:
            reference = [tuple(r) for r in await conn.fetch(query)]
        async with batched.acquire() as conn:
            got = [tuple(r) for r in await conn.fetch(query)]
    finally:
        await one_by_one.close()
        await batched.close()
    assert len(reference) == 3
    assert {(r[8], r[5].month) for r in reference} == {(3, 3), (4, 8), (1, 6)}
    assert got == reference


async def test_a_drill_down_finds_agreements_known_only_from_their_commitments(
    pg_server: Any,
) -> None:
    """A community's agreements are those signed and those its commitments name (the
    commitments may arrive before the signing): the drill-down finds every one, once, in
    pages."""
    pool = await _database(pg_server, "evaldrill")
    community, unit = uuid4(), uuid4()
    signed, unsigned = uuid4(), sorted(uuid4() for _ in range(4))
    day = date(2026, 3, 1)
    try:
        async with pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO agreements (agreement_id, community_id, unit_id, term_start,
                       term_end, origin, version, signed_on, signed_at)
                   VALUES ($1, $2, $3, $4, $4, 'negotiated', 1, $4, now())""",
                signed,
                community,
                unit,
                day,
            )
            opened = [
                (uuid4(), cid, Opened(str(cid), str(a), str(community), str(unit),
                                      str(uuid4()), day, 100, day))
                for a in unsigned * 3
                for cid in [uuid4()]
            ]  # fmt: skip
            async with conn.transaction():
                await ledger.record_many(conn, opened[:5])
            async with conn.transaction():
                await ledger.record_many(conn, opened[5:])  # agreements already known
            every, total = await ledger_store.drill_down(conn, "community", community, day)
            assert total == 5 and [k for k, _ in every] == sorted([signed, *unsigned])
            page = ledger_store.Page(limit=2, offset=4)
            last, total = await ledger_store.drill_down(conn, "unit", unit, day, page)
            assert total == 5 and [k for k, _ in last] == [sorted([signed, *unsigned])[4]]
            beyond = ledger_store.Page(limit=2, offset=9)
            assert await ledger_store.drill_down(conn, "unit", unit, day, beyond) == ([], 5)
    finally:
        await pool.close()
