"""Evaluations: resident one-time codes, experts and their assignments, community ratings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

import asyncpg
from cobuild_contracts import Role
from cobuild_contracts.base import Year
from cobuild_contracts.enums import EvaluatorKind, SubjectKind
from cobuild_kit.auth import Actor
from cobuild_kit.errors import CobuildError, Conflict, Forbidden, Invalid, NotFound
from cobuild_kit.http import RateLimiter
from cobuild_kit.logging import get_logger
from cobuild_kit.parties import authorize
from cobuild_kit.service import ActorDep, PublicRateLimit, Runtime, RuntimeDep
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from cobuild_evaluation import evaluations_store
from cobuild_evaluation.domain.evaluation import code_hash, expert_score, new_code
from cobuild_evaluation.scopes import ScopeKind, authorize_read, parties_of

router = APIRouter(tags=["evaluations"])
log = get_logger(__name__)


class Gone(CobuildError):
    """A code that was already used or has expired: it will never work again."""

    status = 410
    code = "gone"


class _TooMany(CobuildError):
    status = 429
    code = "rate_limited"


# --- resident codes -------------------------------------------------------------------


class CodesIn(BaseModel):
    count: int = Field(default=1, ge=1, le=200, description="how many one-time codes")


class CodesOut(BaseModel):
    commitment_id: UUID
    codes: list[str]
    expires_at: str


@router.post("/commitments/{commitment_id}/resident-codes", status_code=201)
async def issue_codes(
    commitment_id: UUID, body: CodesIn, actor: ActorDep, rt: RuntimeDep
) -> CodesOut:
    """The beneficiary's admin hands out one-time codes for a fulfilled commitment."""
    now = rt.clock.now()
    expires = now + timedelta(hours=rt.settings.resident_code_ttl_hours)  # type: ignore[attr-defined]
    async with rt.unit_of_work() as uow:
        row = await uow.conn.fetchrow(
            "SELECT beneficiary_party_id, fulfilled_on, cancelled_on FROM ledger_commitments WHERE commitment_id = $1",
            commitment_id,
        )
        if row is None:
            raise NotFound(f"no commitment {commitment_id}")
        await authorize(
            uow.conn,
            actor,
            row["beneficiary_party_id"],
            roles={Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN},
            action="issue resident codes",
        )
        if row["fulfilled_on"] is None or row["cancelled_on"] is not None:
            state = "cancelled" if row["cancelled_on"] is not None else "open"
            raise Conflict(f"commitment is {state}: residents evaluate fulfilled commitments only")
        codes = [new_code() for _ in range(body.count)]
        await uow.conn.executemany(
            """INSERT INTO resident_codes (code_hash, commitment_id, issued_by, issued_at, expires_at)
               VALUES ($1, $2, $3, $4, $5)""",
            [(code_hash(c), commitment_id, actor.subject, now, expires) for c in codes],
        )
    return CodesOut(commitment_id=commitment_id, codes=codes, expires_at=expires.isoformat())


class ResidentIn(BaseModel):
    code: str = Field(min_length=8, max_length=64)
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=500)


_redeem_limiters: dict[int, RateLimiter] = {}


def _redeem_allowed(rt: Runtime, request: Request) -> bool:
    limiter = _redeem_limiters.setdefault(
        id(rt),
        RateLimiter(rt.settings.resident_redeem_attempts_per_minute),  # type: ignore[attr-defined]
    )
    return limiter.check(request.client.host if request.client else "unknown")


@router.post("/public/resident-evaluations", status_code=201, dependencies=[PublicRateLimit])
async def redeem(body: ResidentIn, request: Request, rt: RuntimeDep) -> dict[str, Any]:
    """A resident's 1–5 rating with a one-time code (no token). A code works once."""
    if not _redeem_allowed(rt, request):
        raise _TooMany("too many code attempts: wait a minute")
    now = rt.clock.now()
    async with rt.unit_of_work() as uow:
        row = await uow.conn.fetchrow(
            "SELECT commitment_id, expires_at, used_at FROM resident_codes WHERE code_hash = $1 FOR UPDATE",
            code_hash(body.code),
        )
        if row is None:
            raise NotFound("unknown code")
        if row["used_at"] is not None:
            raise Gone("this code has already been used")
        if row["expires_at"] <= now:
            raise Gone("this code has expired")
        await uow.conn.execute(
            "UPDATE resident_codes SET used_at = $2 WHERE code_hash = $1", code_hash(body.code), now
        )
        event = await evaluations_store.submit(
            uow,
            subject_kind=SubjectKind.COMMITMENT,
            subject_id=row["commitment_id"],
            evaluator_kind=EvaluatorKind.RESIDENT,
            evaluator=None,
            at=now,
            rating=body.rating,
            comment=body.comment,
        )
    return {"evaluation_id": str(event.evaluation_id), "commitment_id": str(row["commitment_id"])}


# --- experts ---------------------------------------------------------------------------


def _district_admin(actor: Actor, action: str) -> None:
    if actor.role != Role.DISTRICT_ADMIN:
        raise Forbidden(f"role {actor.role.value} may not {action}")


class ExpertIn(BaseModel):
    expert_id: UUID | None = Field(default=None, description="the id the expert's token names")
    name: str = Field(min_length=1, max_length=100)
    field: str = Field(default="", max_length=200)


@router.post("/experts", status_code=201)
async def add_expert(body: ExpertIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    _district_admin(actor, "manage the expert directory")
    expert_id = body.expert_id or uuid4()
    async with rt.unit_of_work() as uow:
        inserted = await uow.conn.fetchval(
            """INSERT INTO experts (expert_id, name, field, created_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING RETURNING 1""",
            expert_id,
            body.name,
            body.field,
            rt.clock.now(),
        )
    if inserted is None:
        raise Conflict(f"expert {expert_id} already exists", field="body.expert_id")
    return {"expert_id": str(expert_id), "name": body.name, "field": body.field}


@router.get("/experts")
async def list_experts(actor: ActorDep, rt: RuntimeDep) -> list[dict[str, Any]]:
    _district_admin(actor, "read the expert directory")
    async with rt.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT expert_id, name, field FROM experts ORDER BY name, expert_id"
        )
    return [
        {"expert_id": str(r["expert_id"]), "name": r["name"], "field": r["field"]} for r in rows
    ]


Criterion = Annotated[str, Field(min_length=1, max_length=64)]


class AssignmentIn(BaseModel):
    expert_id: UUID
    subject_kind: Literal["commitment", "agreement"]
    subject_id: UUID
    criteria: list[Criterion] = Field(min_length=1, max_length=20)


@router.post("/expert-assignments", status_code=201)
async def assign(body: AssignmentIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """A district admin assigns an expert to a commitment or an agreement in its district."""
    _district_admin(actor, "assign experts")
    if len(set(body.criteria)) != len(body.criteria):
        raise Invalid("duplicate criterion", field="body.criteria")
    assignment_id = uuid4()
    async with rt.unit_of_work() as uow:
        await _supervises(uow.conn, actor, ScopeKind(body.subject_kind), body.subject_id)
        if not await uow.conn.fetchval(
            "SELECT 1 FROM experts WHERE expert_id = $1", body.expert_id
        ):
            raise Invalid(f"no expert {body.expert_id} in the directory", field="body.expert_id")
        inserted = await uow.conn.fetchval(
            """INSERT INTO expert_assignments (assignment_id, expert_id, subject_kind, subject_id,
                   criteria, assigned_by, assigned_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING 1""",
            assignment_id,
            body.expert_id,
            body.subject_kind,
            body.subject_id,
            body.criteria,
            actor.subject,
            rt.clock.now(),
        )
    if inserted is None:
        raise Conflict("the expert is already assigned to this subject")
    return {"assignment_id": str(assignment_id), **body.model_dump(mode="json")}


async def _supervises(conn: asyncpg.Connection, actor: Actor, kind: ScopeKind, sid: UUID) -> None:
    parties = await parties_of(conn, kind, sid)
    await authorize(
        conn, actor, parties[0], roles=set(), supervisors_may=True, action="assign experts here"
    )


class ExpertEvaluationIn(BaseModel):
    subject_kind: Literal["commitment", "agreement"]
    subject_id: UUID
    criteria: dict[Criterion, Annotated[int, Field(ge=0, le=100)]] = Field(min_length=1)
    comment: str = Field(default="", max_length=500)


@router.post("/expert-evaluations", status_code=201)
async def expert_evaluates(
    body: ExpertEvaluationIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """An assigned expert scores 0–100 against the assignment's named criteria, once."""
    if actor.role != Role.EXPERT:
        raise Forbidden(f"role {actor.role.value} may not give expert evaluations")
    now = rt.clock.now()
    async with rt.unit_of_work() as uow:
        row = await uow.conn.fetchrow(
            """SELECT assignment_id, criteria, evaluated_at FROM expert_assignments
               WHERE expert_id = $1 AND subject_kind = $2 AND subject_id = $3 FOR UPDATE""",
            actor.party_id,
            body.subject_kind,
            body.subject_id,
        )
        if row is None:
            raise Forbidden(
                f"expert {actor.party_id} is not assigned to {body.subject_kind} {body.subject_id}"
            )
        if row["evaluated_at"] is not None:
            raise Conflict("already evaluated under this assignment")
        if set(body.criteria) != set(row["criteria"]):
            raise Invalid(
                f"criteria must be exactly: {', '.join(sorted(row['criteria']))}",
                field="body.criteria",
            )
        await uow.conn.execute(
            "UPDATE expert_assignments SET evaluated_at = $2 WHERE assignment_id = $1",
            row["assignment_id"],
            now,
        )
        event = await evaluations_store.submit(
            uow,
            subject_kind=SubjectKind(body.subject_kind),
            subject_id=body.subject_id,
            evaluator_kind=EvaluatorKind.EXPERT,
            evaluator=actor.subject,
            at=now,
            score=expert_score(body.criteria),
            criteria=dict(sorted(body.criteria.items())),
            comment=body.comment,
        )
    return {"evaluation_id": str(event.evaluation_id), "score": format(event.score, "f")}


# --- communities rate their members ----------------------------------------------------


class MemberRatingIn(BaseModel):
    member_id: UUID
    year: Year
    score: Decimal = Field(ge=0, le=100, decimal_places=2)
    comment: str = Field(default="", max_length=500)


@router.post("/member-ratings", status_code=201)
async def rate_member(body: MemberRatingIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """A community admin rates a member's service in its community for a year (once)."""
    if actor.role != Role.COMMUNITY_ADMIN:
        raise Forbidden(f"role {actor.role.value} may not rate members")
    async with rt.unit_of_work() as uow:
        serves_here = await uow.conn.fetchval(
            """SELECT 1 FROM members WHERE member_id = $1 AND community_id = $2
               UNION SELECT 1 FROM member_points WHERE member_id = $1 AND year = $3 AND community_id = $2""",
            body.member_id,
            actor.party_id,
            body.year,
        )
        if not serves_here:
            raise Forbidden(f"member {body.member_id} does not serve in community {actor.party_id}")
        try:
            event = await evaluations_store.submit(
                uow,
                subject_kind=SubjectKind.MEMBER,
                subject_id=body.member_id,
                evaluator_kind=EvaluatorKind.COMMUNITY,
                evaluator=str(actor.party_id),
                at=rt.clock.now(),
                score=body.score,
                comment=body.comment,
                year=body.year,
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"member already rated by this community for {body.year}") from exc
    return {"evaluation_id": str(event.evaluation_id)}


@router.get("/evaluations")
async def evaluation_aggregates(
    actor: ActorDep,
    rt: RuntimeDep,
    subject_kind: Annotated[SubjectKind, Query()],
    subject_id: Annotated[UUID, Query()],
) -> dict[str, Any]:
    """Count, mean and distribution per evaluator kind for one subject."""
    async with rt.pool.acquire() as conn:
        if subject_kind in (SubjectKind.COMMITMENT, SubjectKind.AGREEMENT):
            await authorize_read(conn, actor, ScopeKind(subject_kind.value), subject_id)
        elif actor.role not in (Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN):
            raise Forbidden(f"role {actor.role.value} may not read these evaluations")
        aggs = await evaluations_store.aggregates(conn, subject_kind.value, subject_id)
    return {"subject_kind": subject_kind.value, "subject_id": str(subject_id), **aggs}
