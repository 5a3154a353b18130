"""Micro-wishes (微心愿): the community publishes, a member claims and fulfils, the community
confirms (→ points). Wishes nobody claims within the configured days are flagged stale."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from cobuild_points.domain.wishes import WishStatus
from cobuild_points.http.views import EntryOut
from cobuild_points.settings import RuntimeDep
from cobuild_points.usecases import wishes

router = APIRouter(tags=["wishes"], responses=AUTHENTICATED)
COMMAND = refusals(404, 409)


class WishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    community_id: UUID
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=4000)] = ""


class WishOut(BaseModel):
    wish_id: UUID
    community_id: UUID
    title: str
    description: str
    status: WishStatus
    member_id: UUID | None = Field(description="the member who claimed it")
    published_at: datetime
    claimed_at: datetime | None
    done_at: datetime | None
    fulfilled_at: datetime | None


class ListedWish(WishOut):
    stale: bool = Field(description="open and unclaimed for more than `stale_after_days`")


class CommunityWishes(Page[ListedWish]):
    community_id: UUID
    stale_after_days: int


class ConfirmedWish(WishOut):
    entry: EntryOut | None = Field(description="the points awarded; null when the caps left none")


def _wish(row: Mapping[str, Any]) -> WishOut:
    return WishOut.model_validate(dict(row))


@router.post("/wishes", status_code=201)
async def publish(body: WishIn, actor: ActorDep, rt: RuntimeDep) -> WishOut:
    row = await wishes.publish(rt, actor, body.community_id, body.title, body.description)
    return _wish(row)


@router.get("/communities/{community_id}/wishes", responses=refusals(404))
async def of_community(
    community_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    status: WishStatus | None = None,
    stale: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> CommunityWishes:
    """Each wish with `stale` (open and unclaimed for more than the configured days), by
    publication; `stale=true|false` keeps only the stale ones, or only the others."""
    found = await wishes.of_community(rt, community_id, status, stale, limit=limit, offset=offset)
    items = [
        ListedWish.model_validate({**dict(r), "stale": s})
        for r, s in zip(found.wishes.rows, found.stale, strict=True)
    ]
    page = page_of(items, limit=limit, offset=offset, total=found.wishes.total)
    return CommunityWishes(
        community_id=community_id, stale_after_days=found.stale_after_days, **dict(page)
    )


@router.post("/wishes/{wish_id}/claim", responses=COMMAND)
async def claim(wish_id: UUID, actor: ActorDep, rt: RuntimeDep) -> WishOut:
    return _wish(await wishes.claim(rt, actor, wish_id))


@router.post("/wishes/{wish_id}/done", responses=COMMAND)
async def done(wish_id: UUID, actor: ActorDep, rt: RuntimeDep) -> WishOut:
    """The claiming member reports the wish fulfilled; the community confirms it."""
    return _wish(await wishes.done(rt, actor, wish_id))


@router.post("/wishes/{wish_id}/confirm", responses=COMMAND)
async def confirm(wish_id: UUID, actor: ActorDep, rt: RuntimeDep) -> ConfirmedWish:
    """The community confirms a wish done; its member earns the wish rule's points, booked
    on the day of the confirmation."""
    confirmed = await wishes.confirm(rt, actor, wish_id)
    entry = confirmed.entry
    return ConfirmedWish.model_validate(
        {**dict(confirmed.wish), "entry": EntryOut.of(entry) if entry is not None else None}
    )
