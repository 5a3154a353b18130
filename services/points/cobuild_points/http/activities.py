"""Volunteer activities: publish, sign up, check in on site, confirm attendance → points."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID, uuid4

from cobuild_contracts import Role
from cobuild_contracts.base import CATEGORY_PATTERN, UtcDatetime
from cobuild_contracts.events.points import ActivityPublished, ActivitySignedUp, AttendanceConfirmed
from cobuild_kit.clock import business_date
from cobuild_kit.errors import Conflict, Forbidden, Invalid
from cobuild_kit.parties import authorize
from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from cobuild_points import awards, rulebook
from cobuild_points.domain import activities as rules
from cobuild_points.domain import members as lifecycle
from cobuild_points.domain.rules import RuleCategory
from cobuild_points.http.access import COMMUNITY, plain, require_self
from cobuild_points.store import activities, members

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
    rules.check_window(body.starts_at, body.ends_at)
    async with rt.unit_of_work() as uow:
        await authorize(
            uow.conn, actor, body.community_id, roles=COMMUNITY, action="publish activities"
        )
        year = business_date(body.starts_at).year
        try:
            rule_set = await rulebook.for_year(uow.conn, year)
        except LookupError:
            raise Invalid(f"no point rule set covers {year}", field="body.starts_at") from None
        rule = rule_set.rules.get(body.rule_code)
        if rule is None or rule.category is not RuleCategory.ACTIVITY:
            codes = sorted(
                c for c, r in rule_set.rules.items() if r.category is RuleCategory.ACTIVITY
            )
            raise Invalid(
                f"must be an activity rule of {rule_set.version}: {codes}", field="body.rule_code"
            )
        now = rt.clock.now()
        row = await activities.insert(
            uow.conn,
            activity_id=uuid4(),
            check_in_code=rules.new_check_in_code(),
            published_at=now,
            **body.model_dump(),
        )
        await uow.emit(
            ActivityPublished(
                activity_id=row["activity_id"],
                community_id=body.community_id,
                title=body.title,
                category=body.category,
                starts_at=body.starts_at,
                ends_at=body.ends_at,
                capacity=body.capacity,
                rule_code=body.rule_code,
                published_at=now,
            )
        )
    return view(row, with_code=True)


@router.get("/communities/{community_id}/activities")
async def of_community(community_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        rows = await activities.of_community(conn, community_id)
    return {"community_id": community_id, "activities": [view(r, with_code=False) for r in rows]}


@router.get("/activities/{activity_id}/check-in-code")
async def check_in_code(activity_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The code the community shows on site."""
    async with rt.pool.acquire() as conn:
        row = await activities.get(conn, activity_id)
        await authorize(
            conn, actor, row["community_id"], roles=COMMUNITY, action="see the check-in code"
        )
    return {"activity_id": activity_id, "code": row["check_in_code"]}


@router.get("/activities/{activity_id}/sign-ups")
async def roster(activity_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row = await activities.get(conn, activity_id)
        await authorize(
            conn, actor, row["community_id"], roles=COMMUNITY, action="see who signed up"
        )
        rows = await activities.roster(conn, activity_id)
    return {"activity_id": activity_id, "sign_ups": [plain(r) for r in rows]}


@router.post("/activities/{activity_id}/sign-ups", status_code=201)
async def sign_up(activity_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The signed-in member signs up; the activity row lock makes capacity exact."""
    if actor.role is not Role.MEMBER:
        raise Forbidden("only a member signs up")
    member_id = actor.party_id
    async with rt.unit_of_work() as uow:
        activity = await activities.get(uow.conn, activity_id, lock=True)
        member = await members.get(uow.conn, member_id)
        lifecycle.require("serve", member["status"])
        if member["community_id"] != activity["community_id"]:
            raise Forbidden("the member serves another community")
        if await activities.signup(uow.conn, activity_id, member_id) is not None:
            raise Conflict("already signed up")
        now = rt.clock.now()
        rules.check_sign_up(
            now=now,
            ends_at=activity["ends_at"],
            capacity=activity["capacity"],
            taken=await activities.taken(uow.conn, activity_id),
        )
        await activities.sign_up(uow.conn, activity_id, member_id, now)
        await uow.emit(
            ActivitySignedUp(activity_id=activity_id, member_id=member_id, signed_up_at=now)
        )
    return {"activity_id": activity_id, "member_id": member_id, "signed_up_at": now}


@router.post("/activities/{activity_id}/check-in")
async def check_in(
    activity_id: UUID, body: CheckInIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    require_self(actor, actor.party_id, "check in")
    async with rt.unit_of_work() as uow:
        activity = await activities.get(uow.conn, activity_id)
        signup = await activities.signup(uow.conn, activity_id, actor.party_id, lock=True)
        if signup is None:
            raise Conflict("the member has not signed up for this activity")
        now = rt.clock.now()
        rules.check_in(
            now=now,
            starts_at=activity["starts_at"],
            ends_at=activity["ends_at"],
            code=activity["check_in_code"],
            given=body.code,
            checked_in_at=signup["checked_in_at"],
        )
        await activities.check_in(uow.conn, activity_id, actor.party_id, now)
    return {"activity_id": activity_id, "member_id": actor.party_id, "checked_in_at": now}


@router.post("/activities/{activity_id}/attendances")
async def confirm(
    activity_id: UUID, body: AttendanceIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """The community admin confirms a checked-in member's hours; points follow at once."""
    if actor.party_id == body.member_id:
        raise Forbidden("a member cannot confirm their own attendance")
    async with rt.unit_of_work() as uow:
        activity = await activities.get(uow.conn, activity_id)
        await authorize(
            uow.conn, actor, activity["community_id"], roles=COMMUNITY, action="confirm attendance"
        )
        member = await members.get(uow.conn, body.member_id, lock=True)  # serialises overlaps
        signup = await activities.signup(uow.conn, activity_id, body.member_id, lock=True)
        _check_confirmable(signup)
        rules.check_hours(body.hours, activity["starts_at"], activity["ends_at"])
        if other := await activities.overlapping_attendance(uow.conn, body.member_id, activity):
            raise Conflict(
                f"the member already has a confirmed attendance at the same time (activity {other})"
            )
        now = rt.clock.now()
        await activities.confirm(
            uow.conn, activity_id, body.member_id, body.hours, actor.subject, now
        )
        env = await uow.emit(
            AttendanceConfirmed(
                activity_id=activity_id,
                member_id=body.member_id,
                hours=body.hours,
                confirmed_at=now,
            )
        )
        entry = await awards.award(
            uow.conn,
            uow.emit,
            awards.AwardRequest(
                member_id=body.member_id,
                rule_code=activity["rule_code"],
                hours=body.hours,
                cause_event_id=env.event_id,
                business_date=business_date(activity["starts_at"]),
                source_id=activity_id,
                community_id=member["community_id"] or activity["community_id"],
                unit_id=member["unit_id"],
                at=now,
                what=f"activity {activity_id}",
            ),
        )
    return {
        "activity_id": activity_id,
        "member_id": body.member_id,
        "hours": format(body.hours, "f"),
        "confirmed_at": now,
        "entry": plain(entry) if entry is not None else None,
    }


def _check_confirmable(signup: Any) -> None:
    if signup is None:
        raise Conflict("the member has not signed up for this activity")
    if signup["confirmed_at"] is not None:
        raise Conflict(f"attendance already confirmed ({signup['hours']} h)")
    if signup["checked_in_at"] is None:
        raise Conflict("the member has not checked in")
