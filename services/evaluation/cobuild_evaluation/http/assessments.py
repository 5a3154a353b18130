"""Year-end assessment: preview (dry run), publish, results and rankings."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from asyncpg.transaction import Transaction
from cobuild_contracts import Role
from cobuild_contracts.base import MAX_YEAR, MIN_YEAR
from cobuild_contracts.ids import new_event_id
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Forbidden, Invalid, NotFound
from cobuild_kit.logging import correlation_id, get_logger
from cobuild_kit.parties import authorize
from cobuild_kit.service import ActorDep, Runtime, RuntimeDep
from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from cobuild_evaluation import assessment_run
from cobuild_evaluation.store import policies

router = APIRouter(tags=["assessment"])
log = get_logger(__name__)
# The year in a path: 2000..2100 like every year of the contracts (a 4xx, never a 500).
YearPath = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR)]


class RunIn(BaseModel):
    district_id: UUID
    policy_version: str = Field(default="2026-v1", min_length=1, max_length=64)


class PublishIn(RunIn):
    reason: str | None = Field(
        default=None, min_length=1, max_length=500, description="required to re-publish a year"
    )


async def _authorize_district(conn: asyncpg.Connection, actor: Actor, district_id: UUID) -> None:
    if actor.role != Role.DISTRICT_ADMIN:
        raise Forbidden(f"role {actor.role.value} may not run assessments")
    await authorize(
        conn,
        actor,
        district_id,
        roles={Role.DISTRICT_ADMIN},
        action="run this district's assessment",
    )


def _policy(version: str) -> policies.Policy:
    try:
        return policies.load(version)
    except policies.PolicyError as exc:
        raise Invalid(str(exc), field="body.policy_version") from exc


@router.post("/assessments/{year}/preview")
async def preview(
    year: YearPath, body: RunIn, actor: ActorDep, rt: RuntimeDep
) -> StreamingResponse:
    """A dry run: exactly the results a publish would store, nothing written. The body is
    the canonical outcome (sorted keys) with its digest as the last key, streamed."""
    year = _year(year)
    policy = _policy(body.policy_version)
    async with rt.pool.acquire() as conn:
        await _authorize_district(conn, actor, body.district_id)
    # The scoring lives in temporary tables of one transaction, held while the body streams.
    conn = await rt.pool.acquire()
    tx = conn.transaction()
    await tx.start()
    try:
        run = await assessment_run.prepare(conn, year, body.district_id, policy)
    except BaseException:
        await tx.rollback()
        await rt.pool.release(conn)
        raise
    stream = _stream(rt, conn, tx, run)
    # Started here, so its `finally` (rollback, release) runs even if the client leaves early.
    first = await anext(stream)
    return StreamingResponse(_chain(first, stream), media_type="application/json")


async def _chain(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for piece in rest:
        yield piece


async def _stream(
    rt: Runtime, conn: asyncpg.Connection, tx: Transaction, run: assessment_run.Run
) -> AsyncIterator[bytes]:
    h = hashlib.sha256()
    last = b""
    try:
        async for piece in assessment_run.canonical_chunks(conn, run):
            h.update(piece)
            if last:
                yield last
            last = piece
        # The canonical text ends with "}": the digest goes in as its last key.
        yield last[:-1] + f',"digest":"{h.hexdigest()}"}}'.encode()
    finally:
        await tx.rollback()  # nothing a preview did is kept
        await rt.pool.release(conn)


def _year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise Invalid("year must be between 2000 and 2100", field="path.year")
    return year


async def _refuse_while_lagging(rt: Runtime) -> None:
    lag = await rt.lag()
    behind = {g: per for g, per in lag.items() if any(v > 0 for v in per.values())}
    if behind:
        raise Conflict(f"inputs not caught up (consumer lag {behind}): publish refused, try again")


@router.post("/assessments/{year}/publish", status_code=201)
async def publish(
    year: YearPath, body: PublishIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Freeze the year: store the results and emit member.scored, unit.scored and
    assessment.completed. A second publish needs a new policy version and a reason."""
    year = _year(year)
    async with rt.pool.acquire() as conn:
        await _authorize_district(conn, actor, body.district_id)
    policy = _policy(body.policy_version)
    await _refuse_while_lagging(rt)
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        # One publisher per district-year at a time.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))", f"assess:{body.district_id}:{year}"
        )
        supersedes = await _check_republication(conn, body, year)
        run = await assessment_run.prepare(conn, year, body.district_id, policy)
        digest = await assessment_run.digest(conn, run)
        assessment_id = new_event_id()
        now = rt.clock.now()
        if supersedes is not None:
            await conn.execute(
                "UPDATE assessments SET current = false WHERE assessment_id = $1", supersedes
            )
        await conn.execute(
            """INSERT INTO assessments (assessment_id, district_id, year, policy_version, digest, totals,
                   supersedes, reason, published_by, published_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            assessment_id,
            body.district_id,
            year,
            policy.version,
            digest,
            run.totals,
            supersedes,
            body.reason,
            actor.subject,
            now,
        )
        await assessment_run.store_results(conn, run, assessment_id)
        head = assessment_run.head_of(
            assessment_id, supersedes, now, body.reason if supersedes else None
        )
        await assessment_run.emit(conn, rt.outbox, run, head, correlation_id.get())
    log.info(
        "assessment.published",
        assessment_id=str(assessment_id),
        year=year,
        policy=policy.version,
        supersedes=str(supersedes) if supersedes else None,
        **actor.log_fields(),
    )
    return {
        "assessment_id": str(assessment_id),
        "digest": digest,
        "supersedes_assessment_id": str(supersedes) if supersedes else None,
        **run.totals,
    }


async def _check_republication(conn: asyncpg.Connection, body: PublishIn, year: int) -> UUID | None:
    rows = await conn.fetch(
        "SELECT assessment_id, policy_version, current FROM assessments WHERE district_id = $1 AND year = $2",
        body.district_id,
        year,
    )
    current = next((r for r in rows if r["current"]), None)
    if current is None:
        return None
    if body.policy_version in {r["policy_version"] for r in rows}:
        raise Conflict(
            f"{year} is already published under policy {current['policy_version']}: "
            "a re-publication needs a new policy version and a reason"
        )
    if body.reason is None:
        raise Invalid("a re-publication needs a reason", field="body.reason")
    superseded: UUID = current["assessment_id"]
    return superseded


async def _current(conn: asyncpg.Connection, district_id: UUID, year: int) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT * FROM assessments WHERE district_id = $1 AND year = $2 AND current",
        district_id,
        year,
    )
    if row is None:
        raise NotFound(f"no published assessment for {year} in district {district_id}")
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


async def published_results(
    conn: asyncpg.Connection, district_id: UUID, year: int
) -> dict[str, Any]:
    head = await _current(conn, district_id, year)
    rows = await conn.fetch(
        "SELECT * FROM assessment_results WHERE assessment_id = $1 ORDER BY subject_kind, subject_id",
        head["assessment_id"],
    )
    return {
        "assessment_id": str(head["assessment_id"]),
        "year": year,
        "policy_version": head["policy_version"],
        "digest": head["digest"],
        "supersedes_assessment_id": str(head["supersedes"]) if head["supersedes"] else None,
        "reason": head["reason"],
        "totals": head["totals"],
        "members": [result_dict(r) for r in rows if r["subject_kind"] == "member"],
        "units": [result_dict(r) for r in rows if r["subject_kind"] == "unit"],
    }


@router.get("/assessments/{year}")
async def results(
    year: YearPath, district_id: Annotated[UUID, Query()], actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """The published (current) assessment of a district's year, with every result."""
    async with rt.pool.acquire() as conn:
        await authorize(
            conn, actor, district_id, roles={Role.DISTRICT_ADMIN}, action="read results"
        )
        return await published_results(conn, district_id, year)


@router.get("/assessments/{year}/rankings")
async def rankings(
    year: YearPath,
    district_id: Annotated[UUID, Query()],
    actor: ActorDep,
    rt: RuntimeDep,
    scope: Annotated[Literal["district", "street", "community"], Query()] = "district",
    id: Annotated[UUID | None, Query(description="the street or community")] = None,
    subject: Annotated[Literal["member", "unit"], Query()] = "member",
) -> dict[str, Any]:
    """Ranked results within a community, a street or the district (member ids only)."""
    if scope != "district" and id is None:
        raise Invalid(f"an id is required for scope {scope}", field="query.id")
    if subject == "unit" and scope != "district":
        raise Invalid("units are ranked within the district", field="query.scope")
    target = id if id is not None else district_id
    async with rt.pool.acquire() as conn:
        await authorize(
            conn,
            actor,
            target,
            roles={Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN},
            supervisors_may=True,
            action="read these rankings",
        )
        head = await _current(conn, district_id, year)
        column = {"district": None, "street": "street_id", "community": "community_id"}[scope]
        where = f"AND {column} = $3" if column else ""
        args: list[Any] = [head["assessment_id"], subject]
        if column:
            args.append(id)
        rows = await conn.fetch(
            f"""SELECT * FROM assessment_results WHERE assessment_id = $1 AND subject_kind = $2 {where}
                ORDER BY rank_{scope}, subject_id""",
            *args,
        )
    return {
        "assessment_id": str(head["assessment_id"]),
        "scope": scope,
        "id": str(target),
        "subject": subject,
        "ranking": [{"rank": r[f"rank_{scope}"], **result_dict(r)} for r in rows],
    }
