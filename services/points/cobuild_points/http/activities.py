"""Volunteer activities: publish, sign up, check in on site, confirm attendance → points."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from cobuild_contracts.base import CATEGORY_PATTERN, UtcDatetime
from cobuild_kit.api import AUTHENTICATED, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cobuild_points.domain.activities import ActivityDraft
from cobuild_points.http.views import EntryOut, HoursText, refused
from cobuild_points.settings import RuntimeDep
from cobuild_points.usecases import activities
from cobuild_points.usecases.bulk import MAX_ITEMS, ItemsRefused

router = APIRouter(tags=["activities"], responses=AUTHENTICATED)
BY_ID = refusals(404)
COMMAND = refusals(404, 409)


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
    code: Annotated[str | None, Field(min_length=1, max_length=20)] = Field(
        None, description="the six-digit code shown on site"
    )
    token: Annotated[str | None, Field(min_length=1, max_length=200)] = Field(
        None, description="the signed token the site's QR code carries (instead of `code`)"
    )

    @model_validator(mode="after")
    def _one_of(self) -> CheckInIn:
        if (self.code is None) == (self.token is None):
            raise ValueError("give either code or token")
        return self


class AttendanceIn(_Body):
    member_id: UUID
    hours: Annotated[Decimal, Field(gt=0, le=24, decimal_places=2)]


class AttendancesIn(_Body):
    attendance: Annotated[list[AttendanceIn], Field(min_length=1, max_length=MAX_ITEMS)]


class ActivityOut(BaseModel):
    activity_id: UUID
    community_id: UUID
    title: str
    category: str
    starts_at: datetime
    ends_at: datetime
    place: str
    capacity: int
    rule_code: str
    published_at: datetime


class PublishedActivity(ActivityOut):
    check_in_code: str = Field(description="the code to show on site, for the community only")


class ListedActivity(ActivityOut):
    taken: int = Field(description="places signed up for")


class CommunityActivities(Page[ListedActivity]):
    community_id: UUID


class CheckInCode(BaseModel):
    activity_id: UUID
    code: str


class CheckInToken(BaseModel):
    activity_id: UUID
    token: str = Field(description="signed; valid from not_before to not_after")
    not_before: datetime
    not_after: datetime


class SignUp(BaseModel):
    member_id: UUID
    name: str
    signed_up_at: datetime
    checked_in_at: datetime | None
    hours: HoursText | None
    confirmed_at: datetime | None
    confirmed_by: str | None


class Roster(Page[SignUp]):
    activity_id: UUID


class SignedUp(BaseModel):
    activity_id: UUID
    member_id: UUID
    signed_up_at: datetime


class CheckedIn(BaseModel):
    activity_id: UUID
    member_id: UUID
    checked_in_at: datetime


class Attendance(BaseModel):
    activity_id: UUID
    member_id: UUID
    hours: HoursText
    confirmed_at: datetime
    entry: EntryOut | None = Field(description="the points awarded; null when the caps left none")


class BulkAttendance(Attendance):
    changed: bool = Field(description="false: confirmed before with these hours; left as is")


class Attendances(BaseModel):
    activity_id: UUID
    confirmed: int = Field(description="items this request confirmed (changed)")
    items: list[BulkAttendance]


@router.post("/activities", status_code=201)
async def publish(body: ActivityIn, actor: ActorDep, rt: RuntimeDep) -> PublishedActivity:
    row = await activities.publish(rt, actor, ActivityDraft(**body.model_dump()))
    return PublishedActivity.model_validate(dict(row))


@router.get("/communities/{community_id}/activities", responses=BY_ID)
async def of_community(
    community_id: UUID, actor: ActorDep, rt: RuntimeDep, limit: Limit = 100, offset: Offset = 0
) -> CommunityActivities:
    """The community's activities by start (without their check-in codes)."""
    found = await activities.of_community(rt, community_id, limit=limit, offset=offset)
    items = [ListedActivity.model_validate(dict(r)) for r in found.rows]
    page = page_of(items, limit=limit, offset=offset, total=found.total)
    return CommunityActivities(community_id=community_id, **dict(page))


@router.get("/activities/{activity_id}/check-in-code", responses=BY_ID)
async def check_in_code(activity_id: UUID, actor: ActorDep, rt: RuntimeDep) -> CheckInCode:
    """The code the community shows on site."""
    code = await activities.check_in_code(rt, actor, activity_id)
    return CheckInCode(activity_id=activity_id, code=code)


@router.get("/activities/{activity_id}/check-in-token", responses=BY_ID)
async def check_in_token(activity_id: UUID, actor: ActorDep, rt: RuntimeDep) -> CheckInToken:
    """The signed token the community's QR code carries: members check in by opening its
    link during the activity's window, with nothing to type."""
    found = await activities.check_in_token(rt, actor, activity_id)
    return CheckInToken(
        activity_id=activity_id,
        token=found.token,
        not_before=found.not_before,
        not_after=found.not_after,
    )


@router.get("/activities/{activity_id}/sign-ups", responses=BY_ID)
async def roster(
    activity_id: UUID, actor: ActorDep, rt: RuntimeDep, limit: Limit = 100, offset: Offset = 0
) -> Roster:
    found = await activities.roster(rt, actor, activity_id, limit=limit, offset=offset)
    items = [SignUp.model_validate(dict(r)) for r in found.rows]
    page = page_of(items, limit=limit, offset=offset, total=found.total)
    return Roster(activity_id=activity_id, **dict(page))


class SignUpIn(_Body):
    member_id: UUID | None = Field(
        default=None,
        description="the activity's community admin signing a member up on their behalf "
        "(代录); a member leaves it out",
    )


@router.post("/activities/{activity_id}/sign-ups", status_code=201, responses=COMMAND)
async def sign_up(
    activity_id: UUID, actor: ActorDep, rt: RuntimeDep, body: SignUpIn | None = None
) -> SignedUp:
    """The signed-in member signs up; the activity row lock makes capacity exact. The
    activity's community admin may name a member serving it (`member_id`) to sign them up on
    their behalf."""
    member_id, at = await activities.sign_up(
        rt, actor, activity_id, body.member_id if body else None
    )
    return SignedUp(activity_id=activity_id, member_id=member_id, signed_up_at=at)


class CancelledSignUp(BaseModel):
    activity_id: UUID
    member_id: UUID
    cancelled_at: datetime


@router.delete("/activities/{activity_id}/sign-ups/{member_id}", responses=COMMAND)
async def cancel_sign_up(
    activity_id: UUID, member_id: UUID, actor: ActorDep, rt: RuntimeDep
) -> CancelledSignUp:
    """The member withdraws their sign-up before the activity starts (their community's admin
    may for them); 409 once checked in or started. Emits `activity.sign_up_cancelled`."""
    at = await activities.cancel_sign_up(rt, actor, activity_id, member_id)
    return CancelledSignUp(activity_id=activity_id, member_id=member_id, cancelled_at=at)


@router.post("/activities/{activity_id}/check-in", responses=refusals(404, 409, 429))
async def check_in(
    activity_id: UUID, body: CheckInIn, actor: ActorDep, rt: RuntimeDep
) -> CheckedIn:
    """The signed-up member checks in on site with the code shown there, or with the signed
    token of the site's QR code (`token`; outside its window a 409 saying when it opens or
    closed; a forged one 422 naming `body.token`). Attempts are bounded per member and
    activity and per activity (API description, "Check-in codes"): beyond, a 429 with
    Retry-After, whether the code is right or not."""
    at = await activities.check_in(rt, actor, activity_id, body.code, body.token)
    return CheckedIn(activity_id=activity_id, member_id=actor.party_id, checked_in_at=at)


@router.post("/activities/{activity_id}/attendances", responses=COMMAND)
async def confirm(
    activity_id: UUID, body: AttendanceIn, actor: ActorDep, rt: RuntimeDep
) -> Attendance:
    """The community admin confirms a checked-in member's hours; points follow at once."""
    done = await activities.confirm(rt, actor, activity_id, body.member_id, body.hours)
    return Attendance(
        activity_id=activity_id,
        member_id=body.member_id,
        hours=body.hours,
        confirmed_at=done.confirmed_at,
        entry=EntryOut.of(done.entry) if done.entry is not None else None,
    )


@router.post(
    "/activities/{activity_id}/attendances/bulk", responses=COMMAND, response_model=Attendances
)
async def confirm_many(
    activity_id: UUID, body: AttendancesIn, actor: ActorDep, rt: RuntimeDep
) -> Attendances | JSONResponse:
    """The community admin confirms many members' hours in one call, all or none: each item
    meets the single confirmation's rules and emits what it would (`attendance.confirmed`,
    `points.awarded`). Any failing item refuses the request (the status of the first, every
    failing item in `fields`: `body.attendance.3.hours`) and nothing is written. An item
    confirmed before with the same hours is left as is (`changed: false`)."""
    items = [(a.member_id, a.hours) for a in body.attendance]
    try:
        done = await activities.confirm_many(rt, actor, activity_id, items)
    except ItemsRefused as exc:
        return refused(exc)
    return Attendances(
        activity_id=activity_id,
        confirmed=sum(d.changed for d in done),
        items=[
            BulkAttendance(
                activity_id=activity_id,
                member_id=d.member_id,
                hours=d.hours,
                confirmed_at=d.confirmed_at,
                entry=EntryOut.of(d.entry) if d.entry is not None else None,
                changed=d.changed,
            )
            for d in done
        ],
    )
