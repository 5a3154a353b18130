"""Public, token-less pages: the member honour roll with masked names (ARCHITECTURE.md,
"Personal data")."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from cobuild_contracts import Grade
from cobuild_kit.api import Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import PublicRateLimit
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cobuild_points.domain.names import public_name
from cobuild_points.http.views import ScoreText
from cobuild_points.settings import RuntimeDep
from cobuild_points.usecases import honours

router = APIRouter(tags=["public"])


class Honoured(BaseModel):
    rank: int = Field(description="rank in the community")
    name: str = Field(description="surname + `*`, unless the member opted in to the full name")
    score: ScoreText
    grade: Grade


class HonourRoll(Page[Honoured]):
    community_id: UUID
    year: int
    grade: Grade


@router.get(
    "/public/communities/{community_id}/honour-roll",
    dependencies=[PublicRateLimit],
    responses=refusals(404, 422, 429),
)
async def honour_roll(
    community_id: UUID,
    rt: RuntimeDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    grade: Grade = Grade.EXCELLENT,
    limit: Limit = 100,
    offset: Offset = 0,
) -> HonourRoll:
    """Members of the community scored at `grade` (excellent by default), best first. Only
    the grades the policy honours are served (setting `honour_roll_grades`, by default
    `excellent` alone): asking for another (`fail`) is a 422 naming `query.grade`. A name
    shows as surname + `*` unless the member themself opted in to the full name. The scores are the
    latest published assessment's: work confirmed after it shows here only once the year is
    re-published. An unknown community has an empty roll."""
    found = await honours.honour_roll(rt, community_id, year, grade, limit=limit, offset=offset)
    items = [
        Honoured(
            rank=r["rank_in_community"],
            name=public_name(r["name"], show_full_name=r["show_full_name"]),
            score=r["score"],
            grade=r["grade"],
        )
        for r in found.rows
    ]
    page = page_of(items, limit=limit, offset=offset, total=found.total)
    return HonourRoll(community_id=community_id, year=year, grade=grade, **dict(page))
