"""Year-end assessment: preview (dry run), publish, results and rankings."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, Limit, Offset, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from cobuild_evaluation.domain.policy import Policy
from cobuild_evaluation.http.models import Outcome, Published, Ranked, Ranking, Result, Results
from cobuild_evaluation.http.params import YearPath
from cobuild_evaluation.settings import RuntimeDep
from cobuild_evaluation.usecases import assessment

router = APIRouter(tags=["assessment"], responses=AUTHENTICATED)
Subject = Annotated[Literal["member", "unit"], Query(description="members or units")]


class RunIn(BaseModel):
    district_id: UUID
    policy_version: str = Field(default="2026-v1", min_length=1, max_length=64)
    excellent_quota: Decimal | None = Field(
        default=None,
        gt=0,
        le=1,
        description="cap the share of 优秀 (0.20 is 20%) instead of the policy's own quota; "
        "ties at the boundary are excellent together only if all of them fit",
    )

    def policy(self) -> Policy:
        policy = assessment.policy_of(self.policy_version)
        if self.excellent_quota is None:
            return policy
        return replace(policy, excellent_quota=self.excellent_quota)


class PublishIn(RunIn):
    reason: str | None = Field(
        default=None, min_length=1, max_length=500, description="required to re-publish a year"
    )


@router.post(
    "/assessments/{year}/preview",
    response_class=StreamingResponse,
    responses={
        200: {"model": Outcome, "description": "the canonical outcome, with its digest"},
        **refusals(404, 409),
    },
)
async def preview(
    year: YearPath, body: RunIn, actor: ActorDep, rt: RuntimeDep
) -> StreamingResponse:
    """A dry run: exactly the results a publish would store, nothing written. The body is
    the canonical outcome (sorted keys) with its digest as the last key, streamed."""
    year = assessment.check_year(year)
    policy = body.policy()
    await assessment.authorize_district(rt, actor, body.district_id)
    body_pieces = await assessment.preview(rt, year, body.district_id, policy)
    return StreamingResponse(body_pieces, media_type="application/json")


@router.post("/assessments/{year}/publish", status_code=201, responses=refusals(404, 409))
async def publish(year: YearPath, body: PublishIn, actor: ActorDep, rt: RuntimeDep) -> Published:
    """Publish the year for objections (公示): store the results and emit member.scored,
    unit.scored and assessment.completed (naming the district), all with state publicised
    and the objection deadline (the policy's working days on the working calendar); the
    year becomes final through `/assessments/{year}/finalise`. A second publish needs a new policy version
    and a reason (409 under a version already published; 409 too while the inputs' consumers
    lag: retry).

    Work confirmed after the year's assessment was published: the fulfilment ledger books
    it on its confirmation date at once (GET /ledger), but the published results do not
    change: `GET /assessments/{year}` answers the same scores until the year is published
    again. A re-publication (a new policy version and a reason) scores the inputs as they
    stand then and supersedes the earlier one. It still reads the year's ledger as of 31
    December, so a confirmation dated in a later year never reaches this year's scores; one
    dated within the year reaches them only through a re-publication."""
    year = assessment.check_year(year)
    await assessment.authorize_district(rt, actor, body.district_id)
    policy = body.policy()
    done = await assessment.publish(
        rt, actor, year=year, district_id=body.district_id, policy=policy, reason=body.reason
    )
    return Published.model_validate(
        {
            "assessment_id": done.assessment_id,
            "digest": done.digest,
            "supersedes_assessment_id": done.supersedes,
            **done.totals,
        }
    )


@router.get("/assessments/{year}", responses=refusals(404))
async def results(
    year: YearPath,
    district_id: Annotated[UUID, Query()],
    actor: ActorDep,
    rt: RuntimeDep,
    subject: Subject = "member",
    limit: Limit = 100,
    offset: Offset = 0,
) -> Results:
    """The published (current) assessment of a district's year, with a page of its results
    of one kind of subject, by subject id. Its district admins read it; another district's
    is 404, as one not published. Published results stay as published: work confirmed
    later changes them only through a re-publication (see the publish)."""
    head, rows, total = await assessment.results_page(
        rt, actor, district_id=district_id, year=year, subject=subject, limit=limit, offset=offset
    )
    page = page_of(
        [Result.model_validate(r) for r in rows], limit=limit, offset=offset, total=total
    )
    return Results.model_validate({**page.model_dump(), **head, "subject": subject})


@router.get("/assessments/{year}/rankings", responses=refusals(404))
async def rankings(
    year: YearPath,
    district_id: Annotated[UUID, Query()],
    actor: ActorDep,
    rt: RuntimeDep,
    scope: Annotated[Literal["district", "street", "community"], Query()] = "district",
    id: Annotated[UUID | None, Query(description="the street or community")] = None,
    subject: Subject = "member",
    limit: Limit = 100,
    offset: Offset = 0,
) -> Ranking:
    """A page of the ranked results within a community, a street or the district (member
    ids only), in rank order. A scope outside the actor's subtree or the district is 404."""
    head, rows, total = await assessment.rankings(
        rt,
        actor,
        year=year,
        district_id=district_id,
        scope=scope,
        sid=id,
        subject=subject,
        limit=limit,
        offset=offset,
    )
    page = page_of(
        [Ranked.model_validate(r) for r in rows], limit=limit, offset=offset, total=total
    )
    return Ranking.model_validate({**page.model_dump(), **head})
