"""Public, token-less pages: the member honour roll with masked names (ARCHITECTURE.md,
"Personal data")."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from cobuild_contracts import Grade
from cobuild_kit.service import PublicRateLimit, RuntimeDep
from fastapi import APIRouter, Query

from cobuild_points.domain.names import public_name
from cobuild_points.usecases import honours

router = APIRouter(tags=["public"])


@router.get("/public/communities/{community_id}/honour-roll", dependencies=[PublicRateLimit])
async def honour_roll(
    community_id: UUID,
    rt: RuntimeDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    grade: Grade = Grade.EXCELLENT,
) -> dict[str, Any]:
    """Members of the community scored at `grade` (excellent by default), best first. A name
    shows as surname + `*` unless the member opted in to the full name."""
    rows = await honours.honour_roll(rt, community_id, year, grade)
    return {
        "community_id": community_id,
        "year": year,
        "grade": grade.value,
        "members": [
            {
                "rank": r["rank_in_community"],
                "name": public_name(r["name"], show_full_name=r["show_full_name"]),
                "score": format(r["score"], "f"),
                "grade": r["grade"],
            }
            for r in rows
        ],
    }
