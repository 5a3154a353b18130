"""Micro-wishes (微心愿): the community publishes, a member claims and fulfils, the community
confirms (→ points). Wishes nobody claims within the configured days are flagged stale."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from cobuild_points.domain.wishes import WishStatus
from cobuild_points.http.views import plain
from cobuild_points.usecases import wishes

router = APIRouter(tags=["wishes"])


class WishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    community_id: UUID
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=4000)] = ""


@router.post("/wishes", status_code=201)
async def publish(body: WishIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    row = await wishes.publish(rt, actor, body.community_id, body.title, body.description)
    return plain(row)


@router.get("/communities/{community_id}/wishes")
async def of_community(
    community_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    status: WishStatus | None = None,
    stale: bool | None = None,
) -> dict[str, Any]:
    """Each wish with `stale` (open and unclaimed for more than the configured days)."""
    found = await wishes.of_community(rt, community_id, status, stale)
    return {
        "community_id": community_id,
        "stale_after_days": found.stale_after_days,
        "wishes": [{**plain(r), "stale": is_stale} for r, is_stale in found.wishes],
    }


@router.post("/wishes/{wish_id}/claim")
async def claim(wish_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    return plain(await wishes.claim(rt, actor, wish_id))


@router.post("/wishes/{wish_id}/done")
async def done(wish_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The claiming member reports the wish fulfilled; the community confirms it."""
    return plain(await wishes.done(rt, actor, wish_id))


@router.post("/wishes/{wish_id}/confirm")
async def confirm(wish_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    confirmed = await wishes.confirm(rt, actor, wish_id)
    entry = confirmed.entry
    return {**plain(confirmed.wish), "entry": plain(entry) if entry is not None else None}
