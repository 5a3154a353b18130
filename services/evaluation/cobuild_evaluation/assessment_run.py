"""A year-end assessment run with bounded memory, in the caller's transaction.

Members never sit in the process all at once: their inputs are gathered into a temporary
table, each distinct (points, rating) pair is scored once in Python by the domain's rules,
the ranks are SQL window functions (competition ranking, as `domain.assessment.rank`), and
results leave through a server-side cursor in chunks: as canonical JSON lines (digest,
preview), as stored rows (one INSERT … SELECT) and as member.scored events batch by batch.
Same inputs give byte-identical results to `domain.assessment.assess` (tested).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from cobuild_contracts import Envelope, new_event_id
from cobuild_contracts.enums import Grade
from cobuild_contracts.events.evaluation import AssessmentCompleted, MemberScored, UnitScored
from cobuild_kit.outbox import Outbox, OutboxRow

from cobuild_evaluation import assessment_store as store
from cobuild_evaluation.domain.assessment import (
    Q4,
    MemberScore,
    Scored,
    canonical_frame,
    member_json,
    member_score,
    score_units,
    totals_of,
)
from cobuild_evaluation.domain.policy import Policy

CHUNK = 5_000  # members per fetch, per JSON piece and per outbox batch
NO_RATING = Decimal(-1)  # ratings are 0..100: a join key for "unrated"

_MEMBERS = """
CREATE TEMP TABLE assess_members ON COMMIT DROP AS
SELECT DISTINCT ON (m.member_id) m.member_id,
       COALESCE(p.community_id, m.community_id) AS community_id,
       COALESCE(p.unit_id, m.unit_id) AS unit_id,
       COALESCE(p.total, 0)::numeric AS points, COALESCE(r.rating, -1) AS rating
FROM (SELECT member_id, community_id, unit_id FROM members
      WHERE reported_on <= $2 AND (left_on IS NULL OR left_on > $2)
      UNION
      SELECT member_id, community_id, unit_id FROM member_points WHERE year = $1) m
LEFT JOIN member_points p ON p.member_id = m.member_id AND p.year = $1
LEFT JOIN (SELECT subject_id, avg(score) AS rating FROM evaluations
           WHERE subject_kind = 'member' AND evaluator_kind = 'community' AND year = $1
           GROUP BY subject_id) r ON r.subject_id = m.member_id
WHERE COALESCE(p.community_id, m.community_id) = ANY($3::uuid[])
"""
_SCORES = "CREATE TEMP TABLE assess_scores (pair integer, points numeric, rating numeric, score numeric) ON COMMIT DROP"
_RANKED = """
CREATE TEMP TABLE assess_ranked ON COMMIT DROP AS
SELECT a.member_id, a.community_id, st.street_id, a.unit_id, s.pair, s.score,
       rank() OVER (PARTITION BY a.community_id ORDER BY s.score DESC) AS rank_community,
       rank() OVER (PARTITION BY st.street_id ORDER BY s.score DESC) AS rank_street,
       rank() OVER (ORDER BY s.score DESC) AS rank_district
FROM assess_members a
JOIN assess_scores s ON s.points = a.points AND s.rating = a.rating
JOIN unnest($1::uuid[], $2::uuid[]) AS st(community_id, street_id) ON st.community_id = a.community_id
"""
_LINES = """SELECT member_id::text, community_id::text, street_id::text, unit_id::text, pair,
                   rank_community, rank_street, rank_district
            FROM assess_ranked ORDER BY member_id"""


@dataclass(frozen=True)
class Run:
    year: int
    policy: Policy
    pairs: list[MemberScore]
    units: list[Scored]
    totals: dict[str, Any]

    def frame(self) -> tuple[str, str]:
        return canonical_frame(self.year, self.policy.version, self.totals, self.units)


async def prepare(conn: asyncpg.Connection, year: int, district_id: UUID, policy: Policy) -> Run:
    """Score and rank the district's year into temporary tables (dropped at commit)."""
    communities = await store.district_communities(conn, district_id)
    await conn.execute(_MEMBERS, year, date(year, 12, 31), list(communities))
    distinct = await conn.fetch("SELECT DISTINCT points, rating FROM assess_members")

    def score_pairs() -> list[MemberScore]:
        return [
            member_score(r["points"], None if r["rating"] == NO_RATING else r["rating"], policy)
            for r in distinct
        ]

    pairs = await asyncio.to_thread(score_pairs)
    await conn.execute(_SCORES)
    await conn.copy_records_to_table(
        "assess_scores",
        records=[
            (i, r["points"], r["rating"], p.score)
            for i, (r, p) in enumerate(zip(distinct, pairs, strict=True))
        ],
        columns=["pair", "points", "rating", "score"],
    )
    await conn.execute(_RANKED, list(communities), list(communities.values()))
    await conn.execute("ANALYZE assess_ranked")
    grades: dict[str, int] = {}
    for r in await conn.fetch("SELECT pair, count(*) AS n FROM assess_ranked GROUP BY pair"):
        g = pairs[r["pair"]].grade.value
        grades[g] = grades.get(g, 0) + r["n"]
    shares = await _pass_shares(conn, pairs, policy)
    units_in = await store.load_units(conn, year, district_id, communities, policy)
    units = await asyncio.to_thread(score_units, units_in, shares, policy)
    return Run(year, policy, pairs, units, totals_of(grades, units))


async def _pass_shares(
    conn: asyncpg.Connection, pairs: list[MemberScore], policy: Policy
) -> dict[str, Decimal]:
    passing = [i for i, p in enumerate(pairs) if p.score >= policy.pass_mark]
    rows = await conn.fetch(
        """SELECT unit_id::text AS unit_id, count(*) AS n,
                  count(*) FILTER (WHERE pair = ANY($1::int[])) AS p
           FROM assess_ranked GROUP BY unit_id""",
        passing,
    )
    return {
        r["unit_id"]: (Decimal(r["p"]) / Decimal(r["n"])).quantize(Q4, ROUND_HALF_UP) for r in rows
    }


async def member_lines(conn: asyncpg.Connection, run: Run) -> AsyncIterator[str]:
    """The members' canonical JSON, in subject order, comma-joined chunk by chunk."""
    cursor = await conn.cursor(_LINES)
    first = True
    while chunk := await cursor.fetch(CHUNK):
        text = ",".join(
            member_json(r[0], r[1], r[2], r[3], run.pairs[r[4]], r[5], r[6], r[7]) for r in chunk
        )
        yield text if first else "," + text
        first = False


async def canonical_chunks(conn: asyncpg.Connection, run: Run) -> AsyncIterator[bytes]:
    """`Outcome.canonical()`, in pieces."""
    head, tail = run.frame()
    yield head.encode()
    async for text in member_lines(conn, run):
        yield text.encode()
    yield tail.encode()


async def digest(conn: asyncpg.Connection, run: Run) -> str:
    h = hashlib.sha256()
    async for piece in canonical_chunks(conn, run):
        h.update(piece)
    return h.hexdigest()


# --- publication ----------------------------------------------------------------------


async def store_results(conn: asyncpg.Connection, run: Run, assessment_id: UUID) -> None:
    await conn.execute(
        "CREATE TEMP TABLE assess_pairs (pair integer, grade text, components text) ON COMMIT DROP"
    )
    await conn.copy_records_to_table(
        "assess_pairs",
        records=[(i, p.grade.value, p.components_json) for i, p in enumerate(run.pairs)],
        columns=["pair", "grade", "components"],
    )
    await conn.execute(
        """INSERT INTO assessment_results (assessment_id, subject_kind, subject_id, community_id,
               street_id, unit_id, score, grade, components, rank_community, rank_street,
               rank_district)
           SELECT $1, 'member', r.member_id, r.community_id, r.street_id, r.unit_id, r.score,
                  p.grade, p.components::jsonb, r.rank_community, r.rank_street, r.rank_district
           FROM assess_ranked r JOIN assess_pairs p ON p.pair = r.pair""",
        assessment_id,
    )
    placeholders = ", ".join(f"${i}" for i in range(1, len(store.RESULT_COLUMNS) + 1))
    await conn.executemany(
        f"INSERT INTO assessment_results ({', '.join(store.RESULT_COLUMNS)}) VALUES ({placeholders})",
        store.result_records_of(run.units, "unit", assessment_id),
    )


async def emit(
    conn: asyncpg.Connection,
    outbox: Outbox,
    run: Run,
    head: dict[str, Any],
    correlation_id: str | None,
) -> None:
    """member.scored in subject order, then unit.scored, then assessment.completed; each
    batch is built off the event loop and written before the next is read."""
    cursor = await conn.cursor(
        """SELECT member_id::text, community_id::text, unit_id::text, pair, rank_community
           FROM assess_ranked ORDER BY member_id"""
    )
    members = _MemberScoredRows(outbox, run, head, correlation_id)
    # A thread builds chunk k+1 while the database takes chunk k.
    building: asyncio.Task[list[OutboxRow]] | None = None
    while True:
        chunk = await cursor.fetch(CHUNK)
        built = await building if building is not None else None
        building = None
        if chunk:
            building = asyncio.create_task(asyncio.to_thread(members.build, list(chunk)))
        if built is not None:
            await outbox.add_rows(conn, built)
        if not chunk:
            break
    rest = await asyncio.to_thread(_closing_envelopes, outbox, run, head, correlation_id)
    await outbox.add_envelopes(conn, rest)


# Stand-ins for one member's own values in a pair's envelope JSON. Drawn at random and
# counted in every template, so a score or component can never be mistaken for one.
_Slots = tuple[str, str, str, str, str]


def _slots() -> _Slots:
    event, member, community, unit = (str(uuid4()) for _ in range(4))
    return event, member, community, unit, str(10**17 + secrets.randbelow(10**17))


class _MemberScoredRows:
    """member.scored outbox rows of one publication, without pydantic per member (the
    publish's profile was dominated by it). The contract's checks stay: the first event is
    wrapped in full, which validates the envelope, and each (points, rating) pair's event
    is constructed once, which validates its payload. Both are serialised with stand-ins
    for the member's own values (event id, member, community, unit, rank), and each
    member's JSON is its pair's with its own values put in; they are valid by their column
    types (uuid; rank() >= 1)."""

    def __init__(
        self, outbox: Outbox, run: Run, head: dict[str, Any], correlation_id: str | None
    ) -> None:
        self.outbox, self.run, self.head, self.correlation_id = outbox, run, head, correlation_id
        self.occurred_at = outbox.clock.now()  # one instant for the whole publication
        self.slots = _slots()
        self.frame: tuple[str, str] | None = None  # the envelope's JSON around the payload
        self.templates: dict[int, str] = {}

    def build(self, rows: list[Any]) -> list[OutboxRow]:
        return [self._row(*row) for row in rows]

    def _row(self, member: str, community: str, unit: str, pair: int, rank: int) -> OutboxRow:
        template = self.templates.get(pair) or self._template(pair)
        event_id = str(new_event_id())
        s_event, s_member, s_community, s_unit, s_rank = self.slots
        text = (
            template.replace(s_event, event_id)
            .replace(s_member, member)
            .replace(s_community, community)
            .replace(s_unit, unit)
            .replace(s_rank, str(rank))
        )
        return OutboxRow(event_id, MemberScored.TOPIC, member, MemberScored.EVENT_TYPE, text)

    def _template(self, pair: int) -> str:
        _, s_member, s_community, s_unit, s_rank = self.slots
        ids = (UUID(s_member), UUID(s_community), UUID(s_unit), 1)
        event = _member_scored(self.run, self.head, pair, *ids)
        payload = event.model_dump_json()
        if self.frame is None:
            self.frame = self._frame(event, payload)
        # The rank's stand-in is wider than the contract allows (Rank <= MAX_COUNT), so that no
        # score or component can look like it: it takes the place of the valid rank 1 after
        # validation. A member's own rank (SQL rank() in a community) is within the bound.
        rank_field = '"rank_in_community":1'
        if payload.count(rank_field) != 1:
            raise RuntimeError("member.scored template: the rank is not in the payload once")
        text = payload.replace(rank_field, f'"rank_in_community":{s_rank}').join(self.frame)
        # The key is the member id, so that stand-in appears twice; the others once.
        counts = [text.count(s) for s in self.slots]
        if counts != [1, 2, 1, 1, 1]:
            raise RuntimeError(f"member.scored template: stand-ins counted {counts}")
        self.templates[pair] = text
        return text

    def _frame(self, event: MemberScored, payload: str) -> tuple[str, str]:
        envelope = self.outbox.envelope(
            event, correlation_id=self.correlation_id, occurred_at=self.occurred_at
        )
        text = envelope.model_copy(update={"event_id": UUID(self.slots[0])}).model_dump_json()
        around = text.split(payload)
        if len(around) != 2:
            raise RuntimeError(
                "member.scored template: the payload's JSON is not in the envelope's"
            )
        return around[0], around[1]


def _member_scored(
    run: Run,
    head: dict[str, Any],
    pair: int,
    member_id: UUID,
    community_id: UUID,
    unit_id: UUID,
    rank_community: int,
) -> MemberScored:
    p = run.pairs[pair]
    return MemberScored(
        assessment_id=head["assessment_id"],
        year=run.year,
        policy_version=run.policy.version,
        member_id=member_id,
        community_id=community_id,
        unit_id=unit_id,
        score=p.score,
        grade=p.grade,
        components=p.components,
        rank_in_community=rank_community,
        supersedes_assessment_id=head["supersedes"],
    )


def _closing_envelopes(
    outbox: Outbox, run: Run, head: dict[str, Any], correlation_id: str | None
) -> list[tuple[str, Envelope]]:
    events: list[Any] = [
        UnitScored(
            assessment_id=head["assessment_id"],
            year=run.year,
            policy_version=run.policy.version,
            unit_id=UUID(u.subject_id),
            score=u.score,
            grade=u.grade,
            components=u.components,
            rank_in_district=u.ranks["district"],
            supersedes_assessment_id=head["supersedes"],
        )
        for u in run.units
    ]
    t = run.totals
    events.append(
        AssessmentCompleted(
            assessment_id=head["assessment_id"],
            year=run.year,
            policy_version=run.policy.version,
            member_count=t["member_count"],
            unit_count=t["unit_count"],
            member_grades={Grade(k): v for k, v in t["member_grades"].items()},
            unit_grades={Grade(k): v for k, v in t["unit_grades"].items()},
            member_excellent_rate=t["member_excellent_rate"],
            unit_excellent_rate=t["unit_excellent_rate"],
            supersedes_assessment_id=head["supersedes"],
            reason=head["reason"],
            completed_at=head["completed_at"],
        )
    )
    return [(e.TOPIC, outbox.envelope(e, correlation_id=correlation_id)) for e in events]


def head_of(
    assessment_id: UUID, supersedes: UUID | None, completed_at: datetime, reason: str | None
) -> dict[str, Any]:
    return {
        "assessment_id": assessment_id,
        "supersedes": supersedes,
        "completed_at": completed_at,
        "reason": reason,
    }
