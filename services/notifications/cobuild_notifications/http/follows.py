"""Follow a need, an agreement or a commitment (from the workbench and the phone pages)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED
from cobuild_kit.service import ActorDep
from fastapi import APIRouter

from cobuild_notifications.http.models import FollowedOut, FollowOut
from cobuild_notifications.settings import RuntimeDep
from cobuild_notifications.usecases import following

router = APIRouter(tags=["follows"], responses=AUTHENTICATED)
Target = Literal["need", "agreement", "commitment"]


@router.put("/follows/{target_kind}/{target_id}")
async def follow(
    target_kind: Target, target_id: UUID, actor: ActorDep, rt: RuntimeDep
) -> FollowedOut:
    await following.follow(rt, actor, target_kind, target_id)
    return FollowedOut(following=True)


@router.delete("/follows/{target_kind}/{target_id}")
async def unfollow(
    target_kind: Target, target_id: UUID, actor: ActorDep, rt: RuntimeDep
) -> FollowedOut:
    await following.unfollow(rt, actor, target_kind, target_id)
    return FollowedOut(following=False)


@router.get("/follows/{target_kind}/{target_id}")
async def is_following(
    target_kind: Target, target_id: UUID, actor: ActorDep, rt: RuntimeDep
) -> FollowedOut:
    """Whether the caller follows this thing (what the workbench's follow button shows)."""
    return FollowedOut(following=await following.is_following(rt, actor, target_kind, target_id))


@router.get("/follows")
async def list_follows(actor: ActorDep, rt: RuntimeDep) -> list[FollowOut]:
    rows = await following.following(rt, actor)
    return [FollowOut(target_kind=r["target_kind"], target_id=r["target_id"], since=r["since"])
            for r in rows]  # fmt: skip
