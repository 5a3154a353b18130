"""Resource lists: a unit's admin offers, revises and withdraws what the unit can give."""

from __future__ import annotations

from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, DEFAULT_PAGE, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter

from cobuild_agreements.http.answers import (
    ResourceDetail,
    ResourceMatch,
    ResourceOffer,
    ResourceOut,
    ranked,
)
from cobuild_agreements.settings import RuntimeDep
from cobuild_agreements.usecases import resources
from cobuild_agreements.usecases.needs import WithdrawIn
from cobuild_agreements.usecases.resources import ResourceFields, ResourceIn

router = APIRouter(tags=["resources"], responses=AUTHENTICATED)


@router.post("/resources", status_code=201)
async def offer(body: ResourceIn, actor: ActorDep, rt: RuntimeDep) -> ResourceOffer:
    """A new resource (version 1) and the needs it suits; `warnings` names personal data in
    its text (kept as typed, published masked)."""
    row, found, personal = await resources.offer(rt, actor, body)
    return ResourceOffer.of(row, found, personal)


@router.put("/resources/{resource_id}", responses=refusals(404, 409))
async def revise(
    resource_id: UUID, body: ResourceFields, actor: ActorDep, rt: RuntimeDep
) -> ResourceOffer:
    row, found, personal = await resources.revise(rt, actor, resource_id, body)
    return ResourceOffer.of(row, found, personal)


@router.post("/resources/{resource_id}/withdraw", responses=refusals(404, 409))
async def withdraw(
    resource_id: UUID, body: WithdrawIn, actor: ActorDep, rt: RuntimeDep
) -> ResourceOut:
    row = await resources.withdraw(rt, actor, resource_id, body.reason)
    return ResourceOut.model_validate(dict(row))


@router.get("/resources/{resource_id}", responses=refusals(404))
async def show(resource_id: UUID, actor: ActorDep, rt: RuntimeDep) -> ResourceDetail:
    """The resource and every version of it; 404 also for one the actor may not see."""
    row, history = await resources.show(rt, actor, resource_id)
    return ResourceDetail.of(row, history)


@router.get("/resources/{resource_id}/matches", responses=refusals(404))
async def resource_matches(
    resource_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[ResourceMatch]:
    """The needs suggested for the resource, best first (rank 1)."""
    rows, total = await resources.matches_of(rt, actor, resource_id, limit, offset)
    return page_of(ranked(ResourceMatch, rows, offset), limit=limit, offset=offset, total=total)
