"""The streamed, SQL-ranked assessment run gives byte-for-byte the outcome of the pure
`assess` over the same inputs (ties, unrated members, members placed by their points, a
community outside the district), and its stored rows equal the outcome's records."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from cobuild_contracts import Envelope
from cobuild_contracts.events.evaluation import MemberScored
from cobuild_evaluation.app import definition
from cobuild_evaluation.domain.assessment import assess
from cobuild_evaluation.store import assessments as assessment_store
from cobuild_evaluation.store import policies
from cobuild_evaluation.usecases import assessment
from cobuild_kit.clock import FixedClock
from cobuild_kit.db import connect
from cobuild_kit.migrations import migrate
from cobuild_kit.outbox import Outbox

pytestmark = pytest.mark.asyncio(loop_scope="session")
YEAR = 2026
NOW = datetime(2027, 1, 10, 2, 0, tzinfo=UTC)


async def _world(conn: Any) -> UUID:
    rng = random.Random(9)
    district, other_district = uuid4(), uuid4()
    parties: list[tuple[UUID, str, str, UUID | None]] = [
        (district, "district", "D", None),
        (other_district, "district", "E", None),
    ]
    communities: list[UUID] = []
    units: list[UUID] = []
    for s in range(2):
        street = uuid4()
        parties.append((street, "street", f"S{s}", district))
        for c in range(3):
            cid = uuid4()
            communities.append(cid)
            parties.append((cid, "community", f"C{s}{c}", street))
    outside = uuid4()  # a community of another district: its members are not assessed
    parties.append((outside, "community", "X", other_district))
    for u in range(5):
        uid = uuid4()
        units.append(uid)
        parties.append((uid, "unit", f"U{u}", district))
    await conn.executemany(
        "INSERT INTO party_directory (party_id, kind, name, parent_id, version) VALUES ($1, $2, $3, $4, 1)",
        parties,
    )
    members, points, ratings = [], [], []
    for i in range(400):
        mid = uuid4()
        community = outside if i % 37 == 0 else rng.choice(communities)
        unit = rng.choice(units)
        left = date(YEAR, 6, 1) if i % 41 == 0 else None
        members.append((mid, unit, community, date(YEAR, 1, 5), left))
        if i % 5:  # ties: few distinct totals
            moved = rng.choice(communities) if i % 13 == 0 else community
            points.append(
                (mid, YEAR, Decimal(rng.choice([0, 50, 120, 250, 299.5, 3000])), moved, unit)
            )
        if i % 3 == 0:
            for _ in range(rng.choice([1, 2])):
                ratings.append((uuid4(), mid, Decimal(rng.randrange(0, 10001)) / 100, str(uuid4())))
    await conn.executemany(
        "INSERT INTO members (member_id, unit_id, community_id, reported_on, left_on) VALUES ($1, $2, $3, $4, $5)",
        members,
    )
    await conn.executemany(
        "INSERT INTO member_points (member_id, year, total, community_id, unit_id) VALUES ($1, $2, $3, $4, $5)",
        points,
    )
    await conn.executemany(
        """INSERT INTO evaluations (evaluation_id, subject_kind, subject_id, evaluator_kind,
               evaluator, score, year, business_day, submitted_at)
           VALUES ($1, 'member', $2, 'community', 'admin-' || $4, $3, 2026, '2026-12-01', now())""",
        ratings,
    )
    return district


async def test_streamed_run_equals_pure_assess(pg_server: Any) -> None:
    dsn = await pg_server.create_database("evalstream")
    conn = await connect(dsn)
    try:
        await migrate(conn, definition().migrations())
        district = await _world(conn)
        for version in ("2026-v1", "2026-v2"):
            policy = policies.load(version)
            communities = await assessment_store.district_communities(conn, district)
            members = await assessment_store.load_members(conn, YEAR, communities)
            units = await assessment_store.load_units(conn, YEAR, district, communities, policy)
            outcome = assess(YEAR, policy, members, units)
            assert len(outcome.members) > 300 and outcome.units

            async with conn.transaction():
                run = await assessment.prepare(conn, YEAR, district, policy)
                streamed = b"".join([p async for p in assessment.canonical_chunks(conn, run)])
                assert streamed == outcome.canonical()
                assert await assessment.digest(conn, run) == outcome.digest()
                assert run.totals == outcome.totals()

                aid = uuid4()
                await conn.execute(
                    """INSERT INTO assessments (assessment_id, district_id, year, policy_version,
                           digest, totals, published_by, published_at)
                       VALUES ($1, $2, 2026, $3, 'x', '{}', 'test', now())""",
                    aid,
                    district,
                    version,
                )
                await assessment.store_results(conn, run, aid)
                stored = await conn.fetch(
                    f"SELECT {', '.join(assessment_store.RESULT_COLUMNS)} FROM assessment_results "
                    "WHERE assessment_id = $1 ORDER BY subject_kind, subject_id",
                    aid,
                )
                want = sorted(
                    assessment_store.result_records(outcome, aid), key=lambda r: (r[1], r[2])
                )
                assert [tuple(r) for r in stored] == want
                await conn.execute("DELETE FROM assessment_results WHERE assessment_id = $1", aid)
                await conn.execute("DELETE FROM assessments WHERE assessment_id = $1", aid)
    finally:
        await conn.close()


async def test_member_scored_events_equal_fully_validated_ones(pg_server: Any) -> None:
    """The publish builds most member.scored envelopes from a validated one of the same
    (points, rating) pair: each must be what full validation builds for its row, and valid."""
    dsn = await pg_server.create_database("evalemit")
    conn = await connect(dsn)
    try:
        await migrate(conn, definition().migrations())
        district = await _world(conn)
        policy = policies.load("2026-v1")
        outbox = Outbox("evaluation", FixedClock(NOW))
        async with conn.transaction():
            run = await assessment.prepare(conn, YEAR, district, policy)
            head = assessment.head_of(uuid4(), None, NOW, None)
            await assessment.emit(conn, outbox, run, head, "corr-1")
            ranked = await conn.fetch(
                "SELECT member_id, community_id, unit_id, pair, rank_community "
                "FROM assess_ranked ORDER BY member_id"
            )
            rows = await conn.fetch(
                "SELECT key, event_id, envelope FROM outbox WHERE event_type = 'member.scored' "
                "ORDER BY id"
            )
    finally:
        await conn.close()
    assert len(rows) == len(ranked) > 300
    assert len({r["event_id"] for r in rows}) == len(rows)
    assert len({r["pair"] for r in ranked}) < len(ranked) / 2  # most members copy a template
    for stored, r in zip(rows, ranked, strict=True):
        want = assessment._member_scored(run, head, r["pair"], *_ids(r))
        env = Envelope.model_validate(stored["envelope"])  # strict, as a producer validates
        assert MemberScored.model_validate(env.payload) == want
        assert env.payload == want.model_dump(mode="json")
        assert (env.key, env.event_id) == (str(r["member_id"]), stored["event_id"])
        assert (env.producer, env.correlation_id, env.occurred_at) == ("evaluation", "corr-1", NOW)


def _ids(r: Any) -> tuple[UUID, UUID, UUID, int]:
    return r["member_id"], r["community_id"], r["unit_id"], r["rank_community"]
