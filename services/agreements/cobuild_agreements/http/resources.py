"""Resource lists: a unit's admin offers, revises and withdraws what the unit can give."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter

from cobuild_agreements.usecases import resources
from cobuild_agreements.usecases.needs import WithdrawIn
from cobuild_agreements.usecases.resources import ResourceFields, ResourceIn

router = APIRouter(tags=["resources"])


@router.post("/resources", status_code=201)
async def offer(body: ResourceIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    row, found = await resources.offer(rt, actor, body)
    return {**dict(row), "matches": [s.__dict__ for s in found]}


@router.put("/resources/{resource_id}")
async def revise(
    resource_id: UUID, body: ResourceFields, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    row, found = await resources.revise(rt, actor, resource_id, body)
    return {**dict(row), "matches": [s.__dict__ for s in found]}


@router.post("/resources/{resource_id}/withdraw")
async def withdraw(
    resource_id: UUID, body: WithdrawIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    return dict(await resources.withdraw(rt, actor, resource_id, body.reason))


@router.get("/resources/{resource_id}")
async def show(resource_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    row, history = await resources.show(rt, actor, resource_id)
    return {**dict(row), "history": [dict(h) for h in history]}


@router.get("/resources/{resource_id}/matches")
async def resource_matches(
    resource_id: UUID, actor: ActorDep, rt: RuntimeDep
) -> list[dict[str, Any]]:
    rows = await resources.matches_of(rt, actor, resource_id)
    return [{"rank": n, **dict(r)} for n, r in enumerate(rows, start=1)]
