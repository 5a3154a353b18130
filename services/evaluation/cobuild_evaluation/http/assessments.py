"""Year-end assessment: preview (dry run), publish, results and rankings."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from cobuild_evaluation.http.params import YearPath
from cobuild_evaluation.usecases import assessment

router = APIRouter(tags=["assessment"])


class RunIn(BaseModel):
    district_id: UUID
    policy_version: str = Field(default="2026-v1", min_length=1, max_length=64)


class PublishIn(RunIn):
    reason: str | None = Field(
        default=None, min_length=1, max_length=500, description="required to re-publish a year"
    )


@router.post("/assessments/{year}/preview")
async def preview(
    year: YearPath, body: RunIn, actor: ActorDep, rt: RuntimeDep
) -> StreamingResponse:
    """A dry run: exactly the results a publish would store, nothing written. The body is
    the canonical outcome (sorted keys) with its digest as the last key, streamed."""
    year = assessment.check_year(year)
    policy = assessment.policy_of(body.policy_version)
    await assessment.authorize_district(rt, actor, body.district_id)
    body_pieces = await assessment.preview(rt, year, body.district_id, policy)
    return StreamingResponse(body_pieces, media_type="application/json")


@router.post("/assessments/{year}/publish", status_code=201)
async def publish(
    year: YearPath, body: PublishIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Freeze the year: store the results and emit member.scored, unit.scored and
    assessment.completed. A second publish needs a new policy version and a reason."""
    year = assessment.check_year(year)
    await assessment.authorize_district(rt, actor, body.district_id)
    policy = assessment.policy_of(body.policy_version)
    done = await assessment.publish(
        rt, actor, year=year, district_id=body.district_id, policy=policy, reason=body.reason
    )
    return {
        "assessment_id": str(done.assessment_id),
        "digest": done.digest,
        "supersedes_assessment_id": str(done.supersedes) if done.supersedes else None,
        **done.totals,
    }


@router.get("/assessments/{year}")
async def results(
    year: YearPath, district_id: Annotated[UUID, Query()], actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """The published (current) assessment of a district's year, with every result."""
    return await assessment.published_results(rt, actor, district_id, year, "read results")


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
    return await assessment.rankings(
        rt, actor, year=year, district_id=district_id, scope=scope, sid=id, subject=subject
    )
