"""Volunteer activities: publish, sign up, check in on site, confirm attendance → points."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from cobuild_contracts.base import CATEGORY_PATTERN, UtcDatetime
from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from cobuild_points.domain.activities import ActivityDraft
from cobuild_points.http.views import plain
from cobuild_points.usecases import activities

router = APIRouter(tags=["activities"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActivityIn(_Body):
    community_id: UUID
    title: Annotated[str, Field(min_length=1, max_length=200)]
    category: Annotated[str, Field(pattern=CATEGORY_PATTERN)]
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    place: Annotated[str, Field(min_length=1, max_length=200)]
    capacity: Annotated[int, Field(ge=1, le=10_000)]
    rule_code: str = "activity_attendance"


class CheckInIn(_Body):
    code: Annotated[str, Field(min_length=1, max_length=20)]


class AttendanceIn(_Body):
    member_id: UUID
    hours: Annotated[Decimal, Field(gt=0, le=24, decimal_places=2)]


def view(row: Any, *, with_code: bool) -> dict[str, Any]:
    return plain(row, drop=() if with_code else ("check_in_code",))


@router.post("/activities", status_code=201)
async def publish(body: ActivityIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    row = await activities.publish(rt, actor, ActivityDraft(**body.model_dump()))
    return view(row, with_code=True)


@router.get("/communities/{community_id}/activities")
async def of_community(community_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    rows = await activities.of_community(rt, community_id)
    return {"community_id": community_id, "activities": [view(r, with_code=False) for r in rows]}


@router.get("/activities/{activity_id}/check-in-code")
async def check_in_code(activity_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The code the community shows on site."""
    code = await activities.check_in_code(rt, actor, activity_id)
    return {"activity_id": activity_id, "code": code}


@router.get("/activities/{activity_id}/sign-ups")
async def roster(activity_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    rows = await activities.roster(rt, actor, activity_id)
    return {"activity_id": activity_id, "sign_ups": [plain(r) for r in rows]}


@router.post("/activities/{activity_id}/sign-ups", status_code=201)
async def sign_up(activity_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The signed-in member signs up; the activity row lock makes capacity exact."""
    at = await activities.sign_up(rt, actor, activity_id)
    return {"activity_id": activity_id, "member_id": actor.party_id, "signed_up_at": at}


@router.post("/activities/{activity_id}/check-in")
async def check_in(
    activity_id: UUID, body: CheckInIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    at = await activities.check_in(rt, actor, activity_id, body.code)
    return {"activity_id": activity_id, "member_id": actor.party_id, "checked_in_at": at}


@router.post("/activities/{activity_id}/attendances")
async def confirm(
    activity_id: UUID, body: AttendanceIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """The community admin confirms a checked-in member's hours; points follow at once."""
    done = await activities.confirm(rt, actor, activity_id, body.member_id, body.hours)
    return {
        "activity_id": activity_id,
        "member_id": body.member_id,
        "hours": format(body.hours, "f"),
        "confirmed_at": done.confirmed_at,
        "entry": plain(done.entry) if done.entry is not None else None,
    }
