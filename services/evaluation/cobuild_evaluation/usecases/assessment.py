"""The year-end assessment: preview (dry run), publish, results and rankings.

A run has bounded memory, in one transaction: members never sit in the process all at once.
Their inputs are gathered into a temporary table, each distinct (points, rating) pair is
scored once in Python by the domain's rules, the ranks are SQL window functions (competition
ranking, as `domain.assessment.rank`), and results leave through a server-side cursor in
chunks: as canonical JSON lines (digest, preview), as stored rows (one INSERT … SELECT) and as
member.scored events batch by batch. Same inputs give byte-identical results to
`domain.assessment.assess` (tested).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from asyncpg.transaction import Transaction
from cobuild_contracts import Envelope, Role, new_event_id
from cobuild_contracts.enums import Grade
from cobuild_contracts.events.evaluation import AssessmentCompleted, MemberScored, UnitScored
from cobuild_kit import working_calendar
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Forbidden, Invalid, NotFound
from cobuild_kit.logging import correlation_id, get_logger
from cobuild_kit.outbox import Outbox, OutboxRow
from cobuild_kit.parties import authorize

from cobuild_evaluation.domain.assessment import (
    Q4,
    MemberScore,
    Scored,
    UnitInput,
    canonical_frame,
    cap_pairs,
    member_json,
    member_score,
    score_units,
    totals_of,
)
from cobuild_evaluation.domain.policy import Policy
from cobuild_evaluation.settings import EvaluationRuntime
from cobuild_evaluation.store import assessments as store
from cobuild_evaluation.store import policies
from cobuild_evaluation.store import publication as publication_store
from cobuild_evaluation.store.parties import TREES
from cobuild_evaluation.usecases.scopes import hide_outside

log = get_logger(__name__)
CHUNK = 5_000  # members per fetch, per JSON piece and per outbox batch
NO_RATING = store.NO_RATING


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
    distinct = await store.gather_members(conn, year, communities, district_id)

    def score_pairs() -> list[MemberScore]:
        return [
            member_score(r["points"], None if r["rating"] == NO_RATING else r["rating"], policy)
            for r in distinct
        ]

    pairs = await asyncio.to_thread(score_pairs)
    scores = [
        (i, r["points"], r["rating"], p.score)
        for i, (r, p) in enumerate(zip(distinct, pairs, strict=True))
    ]
    await store.rank(conn, scores, communities)
    per_pair = {r["pair"]: int(r["n"]) for r in await store.members_per_pair(conn)}
    pairs = cap_pairs(pairs, per_pair, policy)
    grades: dict[str, int] = {}
    for pair, n in per_pair.items():
        g = pairs[pair].grade.value
        grades[g] = grades.get(g, 0) + n
    shares = await _pass_shares(conn, pairs, policy)
    units_in = correct_units(
        await store.load_units(conn, year, district_id, communities, policy),
        await publication_store.corrections(conn, district_id, year, "unit"),
    )
    units = await asyncio.to_thread(score_units, units_in, shares, policy)
    return Run(year, policy, pairs, units, totals_of(grades, units, policy.excellent_quota))


UNIT_CORRECTABLE = ("fulfilment_rate", "on_time_rate", "resident_mean", "expert_mean")
MEMBER_CORRECTABLE = ("points", "community_rating")


def correct_units(
    units: list[UnitInput], corrected: dict[UUID, dict[str, Decimal]]
) -> list[UnitInput]:
    """Units' inputs with an upheld objection's corrected values in place."""
    if not corrected:
        return units
    out = []
    for u in units:
        values = corrected.get(UUID(u.unit_id), {})
        out.append(
            replace(
                u,
                fulfilment_rate=values.get("fulfilment_rate", u.fulfilment_rate),
                on_time_rate=values.get("on_time_rate", u.on_time_rate),
                resident_mean=values.get("resident_mean", u.resident_mean),
                expert_mean=values.get("expert_mean", u.expert_mean),
            )
        )
    return out


async def _pass_shares(
    conn: asyncpg.Connection, pairs: list[MemberScore], policy: Policy
) -> dict[str, Decimal]:
    passing = [i for i, p in enumerate(pairs) if p.score >= policy.pass_mark]
    rows = await store.members_per_unit(conn, passing)
    return {
        r["unit_id"]: (Decimal(r["p"]) / Decimal(r["n"])).quantize(Q4, ROUND_HALF_UP) for r in rows
    }


async def member_lines(conn: asyncpg.Connection, run: Run) -> AsyncIterator[str]:
    """The members' canonical JSON, in subject order, comma-joined chunk by chunk."""
    cursor = await store.ranked_lines(conn)
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
    await store.store_results(
        conn,
        assessment_id,
        [(i, p.grade.value, p.components_json) for i, p in enumerate(run.pairs)],
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
    cursor = await store.ranked_scored(conn)
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
        state=head.get("state"),
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
            state=head.get("state"),
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
            district_id=head["district_id"],
            state=head.get("state"),
            objection_deadline=head.get("objection_deadline"),
            excellent_quota=run.policy.excellent_quota,
        )
    )
    return [(e.TOPIC, outbox.envelope(e, correlation_id=correlation_id)) for e in events]


def head_of(
    assessment_id: UUID,
    supersedes: UUID | None,
    completed_at: datetime,
    reason: str | None,
    district_id: UUID | None = None,
    state: str | None = None,
    objection_deadline: datetime | None = None,
) -> dict[str, Any]:
    return {
        "assessment_id": assessment_id,
        "district_id": district_id,
        "supersedes": supersedes,
        "completed_at": completed_at,
        "reason": reason,
        "state": state,
        "objection_deadline": objection_deadline,
    }


# --- commands and queries -------------------------------------------------------------


def policy_of(version: str) -> Policy:
    try:
        return policies.load(version)
    except policies.PolicyError as exc:
        raise Invalid(str(exc), field="body.policy_version") from exc


def check_year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise Invalid("year must be between 2000 and 2100", field="path.year")
    return year


async def authorize_district(rt: EvaluationRuntime, actor: Actor, district_id: UUID) -> None:
    if actor.role != Role.DISTRICT_ADMIN:
        raise Forbidden(f"role {actor.role.value} may not run assessments")
    async with rt.pool.acquire() as conn:
        await authorize(
            conn,
            actor,
            district_id,
            roles={Role.DISTRICT_ADMIN},
            action="run this district's assessment",
        )


async def preview(
    rt: EvaluationRuntime, year: int, district_id: UUID, policy: Policy
) -> AsyncIterator[bytes]:
    """A dry run: exactly the results a publish would store, nothing written; the canonical
    outcome (sorted keys) with its digest as the last key, in pieces. Its first piece is
    already made: the scoring ran, and the transaction's end (rollback, release) is owed
    even if the reader leaves early."""
    # The scoring lives in temporary tables of one transaction, held while the body streams.
    conn = await rt.pool.acquire()
    tx = conn.transaction()
    await tx.start()
    try:
        run = await prepare(conn, year, district_id, policy)
    except BaseException:
        await tx.rollback()
        await rt.pool.release(conn)
        raise
    stream = _stream(rt, conn, tx, run)
    first = await anext(stream)
    return _chain(first, stream)


async def _chain(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for piece in rest:
        yield piece


async def _stream(
    rt: EvaluationRuntime, conn: asyncpg.Connection, tx: Transaction, run: Run
) -> AsyncIterator[bytes]:
    h = hashlib.sha256()
    last = b""
    try:
        async for piece in canonical_chunks(conn, run):
            h.update(piece)
            if last:
                yield last
            last = piece
        # The canonical text ends with "}": the digest goes in as its last key.
        yield last[:-1] + f',"digest":"{h.hexdigest()}"}}'.encode()
    finally:
        await tx.rollback()  # nothing a preview did is kept
        await rt.pool.release(conn)


async def refuse_while_lagging(rt: EvaluationRuntime) -> None:
    lag = await rt.lag()
    behind = {g: per for g, per in lag.items() if any(v > 0 for v in per.values())}
    if behind:
        raise Conflict(f"inputs not caught up (consumer lag {behind}): publish refused, try again")


@dataclass(frozen=True)
class Published:
    assessment_id: UUID
    digest: str
    supersedes: UUID | None
    totals: dict[str, Any]


async def publish(
    rt: EvaluationRuntime,
    actor: Actor,
    *,
    year: int,
    district_id: UUID,
    policy: Policy,
    reason: str | None,
) -> Published:
    """Publish the year for objections (公示): store the results and emit member.scored,
    unit.scored and assessment.completed, all with state "publicised" and the objection
    deadline (the policy's working days on the working calendar). A second publish needs a
    new policy version and a reason; it is audited."""
    await refuse_while_lagging(rt)
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        await store.lock_district_year(conn, district_id, year)
        supersedes = await _check_republication(conn, district_id, year, policy.version, reason)
        done = await publish_locked(
            rt,
            conn,
            actor,
            year=year,
            district_id=district_id,
            policy=policy,
            reason=reason,
            supersedes=supersedes,
        )
    log.info(
        "assessment.published",
        assessment_id=str(done.assessment_id),
        year=year,
        policy=policy.version,
        supersedes=str(supersedes) if supersedes else None,
        **actor.log_fields(),
    )
    return done


async def publish_locked(
    rt: EvaluationRuntime,
    conn: asyncpg.Connection,
    actor: Actor,
    *,
    year: int,
    district_id: UUID,
    policy: Policy,
    reason: str | None,
    supersedes: UUID | None,
    upholds: UUID | None = None,
    deadline: tuple[datetime, bool] | None = None,
) -> Published:
    """A publication for objections, inside the caller's transaction (which holds the
    district-year's lock). `deadline` keeps an earlier publication's when a correction
    re-runs it; otherwise it is counted from now."""
    run = await prepare(conn, year, district_id, policy)
    digest_ = await digest(conn, run)
    assessment_id = new_event_id()
    now = rt.clock.now()
    if deadline is None:
        cal = await working_calendar.calendar(conn)
        counted = cal.add_working_days(now, policy.objection_working_days)
        deadline = (counted.at, counted.provisional)
    await store.add(
        conn,
        assessment_id=assessment_id,
        district_id=district_id,
        year=year,
        policy_version=policy.version,
        digest=digest_,
        totals=run.totals,
        supersedes=supersedes,
        reason=reason,
        published_by=actor.subject,
        published_at=now,
        upholds=upholds,
    )
    await publication_store.set_publicised(
        conn, assessment_id, deadline[0], deadline[1], policy.excellent_quota, upholds
    )
    await store_results(conn, run, assessment_id)
    head = head_of(
        assessment_id,
        supersedes,
        now,
        reason if supersedes else None,
        district_id,
        state="publicised",
        objection_deadline=deadline[0],
    )
    await emit(conn, rt.outbox, run, head, correlation_id.get())
    await publication_store.audit(
        conn,
        district_id=district_id,
        year=year,
        assessment_id=assessment_id,
        action="publicised" if supersedes is None else "republicised",
        actor=actor.subject,
        at=now,
        detail={
            "policy_version": policy.version,
            "excellent_quota": policy.excellent_quota,
            "supersedes": supersedes,
            "reason": reason,
            "upholds": upholds,
            "objection_deadline": deadline[0],
            "digest": digest_,
        },
    )
    return Published(assessment_id, digest_, supersedes, run.totals)


async def _check_republication(
    conn: asyncpg.Connection, district_id: UUID, year: int, version: str, reason: str | None
) -> UUID | None:
    rows = await store.published(conn, district_id, year)
    current = next((r for r in rows if r["current"]), None)
    if current is None:
        return None
    if version in {r["policy_version"] for r in rows}:
        raise Conflict(
            f"{year} is already published under policy {current['policy_version']}: "
            "a re-publication needs a new policy version and a reason"
        )
    if reason is None:
        raise Invalid("a re-publication needs a reason", field="body.reason")
    superseded: UUID = current["assessment_id"]
    return superseded


async def _current(conn: asyncpg.Connection, district_id: UUID, year: int) -> asyncpg.Record:
    row = await store.current(conn, district_id, year)
    if row is None:
        # Named like the refusal of another district's, so neither tells the other apart.
        raise NotFound(_missing(district_id, year), field="query.district_id")
    return row


def result_dict(r: asyncpg.Record) -> dict[str, Any]:
    ranks = {
        k: r[f"rank_{k}"] for k in ("community", "street", "district") if r[f"rank_{k}"] is not None
    }
    return {
        "subject_id": str(r["subject_id"]),
        "community_id": str(r["community_id"]) if r["community_id"] else None,
        "street_id": str(r["street_id"]) if r["street_id"] else None,
        "unit_id": str(r["unit_id"]) if r["unit_id"] else None,
        "score": format(r["score"], "f"),
        "grade": r["grade"],
        "components": r["components"],
        "ranks": ranks,
    }


async def _readable_head(
    conn: asyncpg.Connection, actor: Actor, district_id: UUID, year: int, action: str
) -> asyncpg.Record:
    """The current publication, for its district's admins (and operators); another
    district's is 404, as one never published."""
    if actor.role != Role.OPERATOR:
        tree = await TREES.current(conn)
        hide_outside(
            tree,
            actor,
            district_id,
            roles=frozenset({Role.DISTRICT_ADMIN}),
            action=action,
            missing=_missing(district_id, year),
            field="query.district_id",
            supervisors_may=False,
        )
    return await _current(conn, district_id, year)


def head_dict(head: asyncpg.Record, year: int) -> dict[str, Any]:
    deadline = head["objection_deadline"]
    return {
        "state": head["state"],
        "objection_deadline": deadline.isoformat() if deadline else None,
        "excellent_quota": (
            None if head["excellent_quota"] is None else format(head["excellent_quota"], "f")
        ),
        "assessment_id": str(head["assessment_id"]),
        "year": year,
        "policy_version": head["policy_version"],
        "digest": head["digest"],
        "supersedes_assessment_id": str(head["supersedes"]) if head["supersedes"] else None,
        "reason": head["reason"],
        "totals": head["totals"],
    }


async def published_results(
    rt: EvaluationRuntime, actor: Actor, district_id: UUID, year: int, action: str
) -> dict[str, Any]:
    """The published (current) assessment of a district's year with every result, for an
    export; for its district admins (`action` names what they do with it)."""
    async with rt.pool.acquire() as conn:
        head = await _readable_head(conn, actor, district_id, year, action)
        rows = await store.results(conn, head["assessment_id"])
    return {
        **head_dict(head, year),
        "members": [result_dict(r) for r in rows if r["subject_kind"] == "member"],
        "units": [result_dict(r) for r in rows if r["subject_kind"] == "unit"],
    }


async def results_page(
    rt: EvaluationRuntime,
    actor: Actor,
    *,
    district_id: UUID,
    year: int,
    subject: str,
    limit: int,
    offset: int,
) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """The published (current) assessment's head, a page of one kind of subject's results
    (by subject id) and how many there are."""
    async with rt.pool.acquire() as conn:
        head = await _readable_head(conn, actor, district_id, year, "read results")
        rows, total = await store.results_page(conn, head["assessment_id"], subject, limit, offset)
    return head_dict(head, year), [result_dict(r) for r in rows], total


RANKING_READERS = frozenset({Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN})


async def rankings(
    rt: EvaluationRuntime,
    actor: Actor,
    *,
    year: int,
    district_id: UUID,
    scope: str,
    sid: UUID | None,
    subject: str,
    limit: int,
    offset: int,
) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """Ranked results within a community, a street or the district (member ids only): the
    ranking's head, a page of it in rank order, and how many are ranked. A street or
    community outside the district, or outside the actor's subtree, is 404."""
    if scope != "district" and sid is None:
        raise Invalid(f"an id is required for scope {scope}", field="query.id")
    if subject == "unit" and scope != "district":
        raise Invalid("units are ranked within the district", field="query.scope")
    target = sid if sid is not None else district_id
    async with rt.pool.acquire() as conn:
        if actor.role != Role.OPERATOR:
            tree = await TREES.current(conn)
            missing = _missing(district_id, year)
            field = "query.district_id" if sid is None else "query.id"
            hide_outside(
                tree,
                actor,
                target,
                roles=RANKING_READERS,
                action="read these rankings",
                missing=missing,
                field=field,
            )
            if target != district_id and district_id not in tree.ancestors(target):
                raise NotFound(missing, field=field)
        head = await _current(conn, district_id, year)
        rows, total = await store.ranking(
            conn, head["assessment_id"], subject, scope, sid, limit, offset
        )
    ranked = [{"rank": r[f"rank_{scope}"], **result_dict(r)} for r in rows]
    out = {
        "assessment_id": str(head["assessment_id"]),
        "scope": scope,
        "id": str(target),
        "subject": subject,
    }
    return out, ranked, total


def _missing(district_id: UUID, year: int) -> str:
    return f"no published assessment for {year} in district {district_id}"
