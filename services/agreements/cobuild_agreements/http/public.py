"""Publicity (上墙公示): a community's current needs and signed agreements, with no token.

Only organisations, places, positions and figures are shown: no member ids, no names.
"""

from __future__ import annotations

from uuid import UUID

from cobuild_kit.api import DEFAULT_PAGE, Limit, Offset, page_of, refusals
from cobuild_kit.service import PublicRateLimit
from fastapi import APIRouter

from cobuild_agreements.http.answers import (
    AgreementsBoard,
    NeedsBoard,
    PublicAgreement,
    PublicNeed,
)
from cobuild_agreements.settings import RuntimeDep
from cobuild_agreements.usecases import publicity

router = APIRouter(
    prefix="/public",
    tags=["public"],
    dependencies=[PublicRateLimit],
    responses=refusals(404, 422, 429),
)


@router.get("/communities/{community_id}/needs")
async def community_needs(
    community_id: UUID, rt: RuntimeDep, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> NeedsBoard:
    """The community's published needs that are public, soonest wanted first. Phone and ID
    numbers typed into a title or description are shown masked (138****5678)."""
    name = await publicity.community_name(rt, community_id)
    rows, total = await publicity.published_needs(rt, community_id, limit, offset)
    page = page_of(
        [PublicNeed.model_validate(r) for r in rows], limit=limit, offset=offset, total=total
    )
    return NeedsBoard(**page.model_dump(), community_id=community_id, community_name=name)


@router.get("/communities/{community_id}/agreements")
async def community_agreements(
    community_id: UUID, rt: RuntimeDep, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> AgreementsBoard:
    """The community's agreements in force, newest first, each with its commitments."""
    name = await publicity.community_name(rt, community_id)
    found, total = await publicity.agreements_in_force(rt, community_id, limit, offset)
    page = page_of(
        [PublicAgreement.of(row, items) for row, items in found],
        limit=limit,
        offset=offset,
        total=total,
    )
    return AgreementsBoard(**page.model_dump(), community_id=community_id, community_name=name)
