"""Evaluations: resident one-time codes, experts and their assignments, community ratings."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID, uuid4

from cobuild_contracts.base import Year
from cobuild_contracts.enums import SubjectKind
from cobuild_kit.api import AUTHENTICATED, Limit, Offset, Page, page_of, refusals
from cobuild_kit.errors import CobuildError
from cobuild_kit.logging import get_logger
from cobuild_kit.rate_limits import client_address, rate_limit
from cobuild_kit.service import ActorDep, PublicRateLimit
from cobuild_kit.settings import ServiceSettings
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from cobuild_evaluation.domain.evaluation import Party
from cobuild_evaluation.http.models import (
    Aggregates,
    Assigned,
    Assignment,
    Codes,
    Evaluated,
    Expert,
    ExpertEvaluated,
    ResidentEvaluated,
)
from cobuild_evaluation.settings import EvaluationRuntime, EvaluationSettings, RuntimeDep
from cobuild_evaluation.usecases import evaluations

router = APIRouter(tags=["evaluations"], responses=AUTHENTICATED)
# The resident's redeem takes no token: its refusals are listed on it alone.
public = APIRouter(tags=["evaluations"])
log = get_logger(__name__)


# --- resident codes -------------------------------------------------------------------


class CodesIn(BaseModel):
    count: int = Field(default=1, ge=1, le=200, description="how many one-time codes")


@router.post(
    "/commitments/{commitment_id}/resident-codes", status_code=201, responses=refusals(404, 409)
)
async def issue_codes(
    commitment_id: UUID, body: CodesIn, actor: ActorDep, rt: RuntimeDep, request: Request
) -> Codes:
    """The beneficiary's admin hands out one-time codes for a fulfilled commitment (409
    while it is open or cancelled). A commitment has at most `resident_codes_per_commitment`
    codes in all (50 by default): past it, 409 naming `body.count` (422 if the count alone
    exceeds it). Each issue is audited with the actor, its party and its client address."""
    ttl = timedelta(hours=rt.settings.resident_code_ttl_hours)
    issued = await evaluations.issue_codes(
        rt, actor, commitment_id, body.count, ttl, client_address(request)
    )
    return Codes(commitment_id=commitment_id, codes=issued.codes, expires_at=issued.expires_at)


class ResidentIn(BaseModel):
    code: str = Field(min_length=8, max_length=64)
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=500)


# Code guesses per client address, on top of the public limit (the one-time codes carry 132
# bits, so this is about load more than luck).
def _redeem_per_minute(settings: ServiceSettings) -> int:
    # The kit hands every limit the runtime's settings: this service's own class.
    assert isinstance(settings, EvaluationSettings)
    return settings.resident_redeem_attempts_per_minute


RedeemRateLimit = rate_limit("resident-code", _redeem_per_minute, what="code attempts")


@public.post(
    "/public/resident-evaluations",
    status_code=201,
    dependencies=[PublicRateLimit, RedeemRateLimit],
    responses=refusals(404, 410, 422, 429),
)
async def redeem(body: ResidentIn, rt: RuntimeDep, request: Request) -> ResidentEvaluated:
    """A resident's 1–5 rating with a one-time code (no token). A code works once: an
    unknown code is 404, a used or expired one 410. A redemption from the client address
    that issued the code, or with a token of the issuing actor or party, is kept flagged and
    counts in no mean (`flagged` in GET /evaluations)."""
    event = await evaluations.redeem(
        rt, body.code, body.rating, body.comment, await _redeemer(request, rt)
    )
    return ResidentEvaluated(evaluation_id=event.evaluation_id, commitment_id=event.subject_id)


async def _redeemer(request: Request, rt: EvaluationRuntime) -> Party:
    """The redeeming client: its address, and the token it sent, if that token verifies (the
    redeem takes none; one that does not verify is ignored, as none)."""
    address = client_address(request)
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return Party(address)
    try:
        actor = await rt.authenticate(header[7:].strip())
    except CobuildError:
        return Party(address)
    return Party(address, actor.subject, str(actor.party_id))


class ResidentCodeOut(BaseModel):
    commitment_id: UUID
    state: Literal["open", "used", "expired"]
    expires_at: datetime


@public.get(
    "/public/resident-codes/{code}",
    dependencies=[PublicRateLimit, RedeemRateLimit],
    responses=refusals(404, 422, 429),
)
async def look_up_code(
    code: Annotated[str, Path(min_length=8, max_length=64)], rt: RuntimeDep
) -> ResidentCodeOut:
    """What a resident's rating link leads to (no token): the commitment to rate and whether
    the code still works (`used`, `expired` or `open`); an unknown code is 404. It counts
    against the same per-address bound as the redemption."""
    found = await evaluations.look_up_code(rt, code)
    return ResidentCodeOut(
        commitment_id=found.commitment_id, state=found.state, expires_at=found.expires_at
    )


# --- experts ---------------------------------------------------------------------------


class ExpertIn(BaseModel):
    expert_id: UUID | None = Field(default=None, description="the id the expert's token names")
    name: str = Field(min_length=1, max_length=100)
    field: str = Field(default="", max_length=200)
    subject: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="the expert's sign-in (identity-provider subject), when known: the "
        "access service grants it the expert role for this expert id",
    )


@router.post("/experts", status_code=201, responses=refusals(409))
async def add_expert(body: ExpertIn, actor: ActorDep, rt: RuntimeDep) -> Expert:
    """District admins add an expert to the directory (409 if the id is taken), which
    publishes `expert.registered`."""
    expert_id = body.expert_id or uuid4()
    await evaluations.add_expert(rt, actor, expert_id, body.name, body.field, body.subject)
    return Expert(expert_id=expert_id, name=body.name, field=body.field)


@router.get("/experts")
async def list_experts(
    actor: ActorDep, rt: RuntimeDep, limit: Limit = 100, offset: Offset = 0
) -> Page[Expert]:
    """The expert directory, by name (district admins)."""
    rows, total = await evaluations.expert_directory(rt, actor, limit, offset)
    items = [Expert(expert_id=r["expert_id"], name=r["name"], field=r["field"]) for r in rows]
    return page_of(items, limit=limit, offset=offset, total=total)


Criterion = Annotated[str, Field(min_length=1, max_length=64)]


class AssignmentIn(BaseModel):
    expert_id: UUID
    subject_kind: Literal["commitment", "agreement"]
    subject_id: UUID
    criteria: list[Criterion] = Field(min_length=1, max_length=20)


@router.post("/expert-assignments", status_code=201, responses=refusals(404, 409))
async def assign(body: AssignmentIn, actor: ActorDep, rt: RuntimeDep) -> Assigned:
    """A district admin assigns an expert to a commitment or an agreement in its district
    (409 if the expert is already assigned to it)."""
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
    return Assigned(assignment_id=assignment_id, **body.model_dump())


@router.get("/expert-assignments")
async def my_assignments(
    actor: ActorDep, rt: RuntimeDep, limit: Limit = 100, offset: Offset = 0
) -> Page[Assignment]:
    """An expert's own assignments, oldest first: what to evaluate against which criteria,
    and whether it has (`evaluated_at`)."""
    rows, total = await evaluations.my_assignments(rt, actor, limit, offset)
    items = [
        Assignment(
            assignment_id=r["assignment_id"],
            expert_id=r["expert_id"],
            subject_kind=r["subject_kind"],
            subject_id=r["subject_id"],
            criteria=list(r["criteria"]),
            assigned_at=r["assigned_at"],
            evaluated_at=r["evaluated_at"],
        )
        for r in rows
    ]
    return page_of(items, limit=limit, offset=offset, total=total)


class ExpertEvaluationIn(BaseModel):
    subject_kind: Literal["commitment", "agreement"]
    subject_id: UUID
    criteria: dict[Criterion, Annotated[int, Field(ge=0, le=100)]] = Field(min_length=1)
    comment: str = Field(default="", max_length=500)


@router.post("/expert-evaluations", status_code=201, responses=refusals(409))
async def expert_evaluates(
    body: ExpertEvaluationIn, actor: ActorDep, rt: RuntimeDep
) -> ExpertEvaluated:
    """An assigned expert scores 0–100 against the assignment's named criteria, once (409
    the second time)."""
    event = await evaluations.expert_evaluates(
        rt,
        actor,
        subject_kind=body.subject_kind,
        subject_id=body.subject_id,
        criteria=body.criteria,
        comment=body.comment,
    )
    assert event.score is not None  # an expert's evaluation is a score
    return ExpertEvaluated(evaluation_id=event.evaluation_id, score=format(event.score, "f"))


# --- communities rate their members ----------------------------------------------------


class MemberRatingIn(BaseModel):
    member_id: UUID
    year: Year
    score: Decimal = Field(ge=0, le=100, decimal_places=2)
    comment: str = Field(default="", max_length=500)


@router.post("/member-ratings", status_code=201, responses=refusals(409))
async def rate_member(body: MemberRatingIn, actor: ActorDep, rt: RuntimeDep) -> Evaluated:
    """A community admin rates a member's service in its community for a year (once: 409
    the second time)."""
    event = await evaluations.rate_member(
        rt, actor, member_id=body.member_id, year=body.year, score=body.score, comment=body.comment
    )
    return Evaluated(evaluation_id=event.evaluation_id)


@router.get("/evaluations", responses=refusals(404))
async def evaluation_aggregates(
    actor: ActorDep,
    rt: RuntimeDep,
    subject_kind: Annotated[SubjectKind, Query()],
    subject_id: Annotated[UUID, Query()],
) -> Aggregates:
    """Count, mean and distribution per evaluator kind for one subject. A commitment or
    agreement outside the actor's subtree is 404."""
    aggs = await evaluations.aggregates(rt, actor, subject_kind, subject_id)
    return Aggregates.model_validate(
        {"subject_kind": subject_kind.value, "subject_id": subject_id, **aggs}
    )
