"""Evaluations: resident one-time codes, experts and their assignments, community ratings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from cobuild_contracts.base import Year
from cobuild_contracts.enums import SubjectKind
from cobuild_kit.logging import get_logger
from cobuild_kit.rate_limits import rate_limit
from cobuild_kit.service import ActorDep, PublicRateLimit, RuntimeDep
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cobuild_evaluation.usecases import evaluations

router = APIRouter(tags=["evaluations"])
log = get_logger(__name__)


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
    ttl = timedelta(hours=rt.settings.resident_code_ttl_hours)  # type: ignore[attr-defined]
    issued = await evaluations.issue_codes(rt, actor, commitment_id, body.count, ttl)
    return CodesOut(
        commitment_id=commitment_id, codes=issued.codes, expires_at=issued.expires_at.isoformat()
    )


class ResidentIn(BaseModel):
    code: str = Field(min_length=8, max_length=64)
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=500)


# Code guesses per client address, on top of the public limit (the one-time codes carry 132
# bits, so this is about load more than luck).
RedeemRateLimit = rate_limit(
    "resident-code",
    lambda s: s.resident_redeem_attempts_per_minute,  # type: ignore[attr-defined]
    what="code attempts",
)


@router.post(
    "/public/resident-evaluations",
    status_code=201,
    dependencies=[PublicRateLimit, RedeemRateLimit],
)
async def redeem(body: ResidentIn, rt: RuntimeDep) -> dict[str, Any]:
    """A resident's 1–5 rating with a one-time code (no token). A code works once."""
    event = await evaluations.redeem(rt, body.code, body.rating, body.comment)
    return {"evaluation_id": str(event.evaluation_id), "commitment_id": str(event.subject_id)}


# --- experts ---------------------------------------------------------------------------


class ExpertIn(BaseModel):
    expert_id: UUID | None = Field(default=None, description="the id the expert's token names")
    name: str = Field(min_length=1, max_length=100)
    field: str = Field(default="", max_length=200)


@router.post("/experts", status_code=201)
async def add_expert(body: ExpertIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    expert_id = body.expert_id or uuid4()
    await evaluations.add_expert(rt, actor, expert_id, body.name, body.field)
    return {"expert_id": str(expert_id), "name": body.name, "field": body.field}


@router.get("/experts")
async def list_experts(actor: ActorDep, rt: RuntimeDep) -> list[dict[str, Any]]:
    rows = await evaluations.expert_directory(rt, actor)
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
    assignment_id = uuid4()
    await evaluations.assign(
        rt,
        actor,
        assignment_id=assignment_id,
        expert_id=body.expert_id,
        subject_kind=body.subject_kind,
        subject_id=body.subject_id,
        criteria=body.criteria,
    )
    return {"assignment_id": str(assignment_id), **body.model_dump(mode="json")}


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
    event = await evaluations.expert_evaluates(
        rt,
        actor,
        subject_kind=body.subject_kind,
        subject_id=body.subject_id,
        criteria=body.criteria,
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
    event = await evaluations.rate_member(
        rt, actor, member_id=body.member_id, year=body.year, score=body.score, comment=body.comment
    )
    return {"evaluation_id": str(event.evaluation_id)}


@router.get("/evaluations")
async def evaluation_aggregates(
    actor: ActorDep,
    rt: RuntimeDep,
    subject_kind: Annotated[SubjectKind, Query()],
    subject_id: Annotated[UUID, Query()],
) -> dict[str, Any]:
    """Count, mean and distribution per evaluator kind for one subject."""
    aggs = await evaluations.aggregates(rt, actor, subject_kind, subject_id)
    return {"subject_kind": subject_kind.value, "subject_id": str(subject_id), **aggs}
