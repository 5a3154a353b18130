"""Volunteer activities: publish, sign up, check in on site, confirm attendance → points."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from uuid import UUID, uuid4

import asyncpg
from cobuild_contracts import Envelope, Event, Role
from cobuild_contracts.events.points import (
    ActivityPublished,
    ActivitySignedUp,
    ActivitySignUpCancelled,
    AttendanceConfirmed,
)
from cobuild_kit.auth import Actor
from cobuild_kit.clock import business_date
from cobuild_kit.errors import Conflict, Forbidden, Invalid, TooManyRequests
from cobuild_kit.logging import get_logger
from cobuild_kit.parties import authorize

from cobuild_points.domain import activities as rules
from cobuild_points.domain import check_in_tokens
from cobuild_points.domain import members as lifecycle
from cobuild_points.domain.activities import ActivityDraft
from cobuild_points.settings import PointsRuntime
from cobuild_points.store import activities, check_in_key, members, rulebook
from cobuild_points.store.paging import Slice
from cobuild_points.usecases import awards
from cobuild_points.usecases.access import COMMUNITY, authorize_read, hidden, require_self
from cobuild_points.usecases.bulk import ItemChecks

log = get_logger(__name__)


async def publish(rt: PointsRuntime, actor: Actor, draft: ActivityDraft) -> asyncpg.Record:
    """The community admin publishes an activity awarding under one of its year's rules."""
    rules.check_window(draft.starts_at, draft.ends_at)
    async with rt.unit_of_work() as uow:
        await authorize(
            uow.conn, actor, draft.community_id, roles=COMMUNITY, action="publish activities"
        )
        year = business_date(draft.starts_at).year
        try:
            rule_set = await rulebook.for_year(uow.conn, year)
        except LookupError:
            raise Invalid(f"no point rule set covers {year}", field="body.starts_at") from None
        rules.check_rule(rule_set, draft.rule_code)
        now = rt.clock.now()
        row = await activities.insert(
            uow.conn,
            activity_id=uuid4(),
            check_in_code=rules.new_check_in_code(),
            published_at=now,
            **asdict(draft),
        )
        await uow.emit(
            ActivityPublished(
                activity_id=row["activity_id"],
                community_id=draft.community_id,
                title=draft.title,
                category=draft.category,
                starts_at=draft.starts_at,
                ends_at=draft.ends_at,
                capacity=draft.capacity,
                rule_code=draft.rule_code,
                published_at=now,
            )
        )
    return row


async def of_community(rt: PointsRuntime, community_id: UUID, *, limit: int, offset: int) -> Slice:
    async with rt.pool.acquire() as conn:
        return await activities.of_community(conn, community_id, limit=limit, offset=offset)


async def check_in_code(rt: PointsRuntime, actor: Actor, activity_id: UUID) -> str:
    """The code the community shows on site."""
    async with rt.pool.acquire() as conn:
        row = await _visible_activity(conn, actor, activity_id)
    code: str = row["check_in_code"]
    return code


@dataclass(frozen=True)
class CheckInToken:
    token: str
    not_before: datetime
    not_after: datetime


async def check_in_token(rt: PointsRuntime, actor: Actor, activity_id: UUID) -> CheckInToken:
    """The signed token the community's QR code carries, valid during the activity's window
    (for the community's admin; to anyone else the activity is not found)."""
    async with rt.pool.acquire() as conn:
        row = await _visible_activity(conn, actor, activity_id)
        key = await check_in_key.key(conn)
    starts, ends = row["starts_at"], row["ends_at"]
    return CheckInToken(check_in_tokens.sign(key, activity_id, starts, ends), starts, ends)


async def roster(
    rt: PointsRuntime, actor: Actor, activity_id: UUID, *, limit: int, offset: int
) -> Slice:
    async with rt.pool.acquire() as conn:
        await _visible_activity(conn, actor, activity_id)
        return await activities.roster(conn, activity_id, limit=limit, offset=offset)


async def sign_up(
    rt: PointsRuntime, actor: Actor, activity_id: UUID, for_member: UUID | None = None
) -> tuple[UUID, datetime]:
    """The signed-in member signs up; the activity row lock makes capacity exact. The
    activity's community admin may sign up a member serving it on their behalf (代录: a
    member without a phone, at the counter), naming `for_member`."""
    if actor.role is Role.COMMUNITY_ADMIN and for_member is not None:
        member_id = for_member
    elif actor.role is Role.MEMBER and for_member in (None, actor.party_id):
        member_id = actor.party_id
    else:
        raise Forbidden("only a member signs up (or their community's admin for them)")
    async with rt.unit_of_work() as uow:
        activity = await activities.get(uow.conn, activity_id, lock=True)
        if actor.role is Role.COMMUNITY_ADMIN and activity["community_id"] != actor.party_id:
            raise Forbidden("the activity is another community's")
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
            ActivitySignedUp(
                activity_id=activity_id,
                member_id=member_id,
                signed_up_at=now,
                by_community=actor.role is Role.COMMUNITY_ADMIN,
            )
        )
    return member_id, now


async def cancel_sign_up(
    rt: PointsRuntime, actor: Actor, activity_id: UUID, member_id: UUID
) -> datetime:
    """The member withdraws their sign-up before the activity starts (or their community's
    admin for them, 代录); the place is free again. Checked in, it stays."""
    if actor.role is Role.MEMBER:
        require_self(actor, member_id, "cancel their sign-up")
    elif actor.role is not Role.COMMUNITY_ADMIN:
        raise Forbidden("only a member cancels their sign-up (or their community's admin)")
    async with rt.unit_of_work() as uow:
        activity = await activities.get(uow.conn, activity_id, lock=True)
        if actor.role is Role.COMMUNITY_ADMIN and activity["community_id"] != actor.party_id:
            raise Forbidden("the activity is another community's")
        signup = await activities.signup(uow.conn, activity_id, member_id, lock=True)
        if signup is None:
            raise Conflict("the member has not signed up for this activity")
        now = rt.clock.now()
        rules.check_cancel(
            now=now, starts_at=activity["starts_at"], checked_in_at=signup["checked_in_at"]
        )
        await activities.cancel_sign_up(uow.conn, activity_id, member_id)
        await uow.emit(
            ActivitySignUpCancelled(
                activity_id=activity_id,
                member_id=member_id,
                cancelled_at=now,
                by_community=actor.role is Role.COMMUNITY_ADMIN,
            )
        )
    return now


async def check_in(
    rt: PointsRuntime, actor: Actor, activity_id: UUID, code: str | None, token: str | None = None
) -> datetime:
    """The member checks in on site with the code shown there, or the signed token its QR
    code carries, during the activity. Every attempt counts, right or wrong, per member and
    activity and per activity (API description, "Check-in codes"): beyond either bound it
    is a 429, a right code too."""
    require_self(actor, actor.party_id, "check in")
    limits, settings = rt.rate_limits, rt.settings
    for bucket, key, per_minute in (
        ("check-in", f"{actor.party_id}:{activity_id}", settings.check_in_attempts_per_minute),
        ("check-in-activity", str(activity_id), settings.check_in_activity_attempts_per_minute),
    ):
        if not limits.allow(bucket, key, per_minute):
            log.info(
                "activity.check_in_limited",
                bucket=bucket,
                member_id=str(actor.party_id),
                activity_id=str(activity_id),
            )
            raise TooManyRequests("too many check-in attempts: wait a minute, then try again")
    async with rt.unit_of_work() as uow:
        activity = await activities.get(uow.conn, activity_id)
        signup = await activities.signup(uow.conn, activity_id, actor.party_id, lock=True)
        if signup is None:
            raise Conflict("the member has not signed up for this activity")
        now = rt.clock.now()
        if token is not None:
            # The token's signature first (a forged one says so), then its window, which
            # the refusal names, then the activity's own rules with the code it stands for.
            opens, closes = check_in_tokens.window(
                await check_in_key.key(uow.conn), activity_id, token
            )
            if signup["checked_in_at"] is None:
                check_in_tokens.check_open(now, opens, closes)
            code = activity["check_in_code"]
        rules.check_in(
            now=now,
            starts_at=activity["starts_at"],
            ends_at=activity["ends_at"],
            code=activity["check_in_code"],
            given=code or "",
            checked_in_at=signup["checked_in_at"],
        )
        await activities.check_in(uow.conn, activity_id, actor.party_id, now)
    return now


@dataclass(frozen=True)
class Attendance:
    confirmed_at: datetime
    entry: asyncpg.Record | None  # the points awarded; None when the caps left nothing


async def confirm(
    rt: PointsRuntime, actor: Actor, activity_id: UUID, member_id: UUID, hours: Decimal
) -> Attendance:
    """The community admin confirms a checked-in member's hours; points follow at once."""
    if actor.party_id == member_id:
        raise Forbidden("a member cannot confirm their own attendance")
    async with rt.unit_of_work() as uow:
        activity = await activities.get(uow.conn, activity_id)
        await authorize(
            uow.conn, actor, activity["community_id"], roles=COMMUNITY, action="confirm attendance"
        )
        member = await members.get(uow.conn, member_id, lock=True)  # serialises overlaps
        signup = await activities.signup(uow.conn, activity_id, member_id, lock=True)
        rules.check_confirmable(
            signed_up=signup is not None,
            confirmed_at=signup["confirmed_at"] if signup else None,
            hours=signup["hours"] if signup else None,
            checked_in_at=signup["checked_in_at"] if signup else None,
        )
        rules.check_hours(hours, activity["starts_at"], activity["ends_at"])
        if other := await activities.overlapping_attendance(uow.conn, member_id, activity):
            raise Conflict(
                f"the member already has a confirmed attendance at the same time (activity {other})"
            )
        now = rt.clock.now()
        await activities.confirm(uow.conn, activity_id, member_id, hours, actor.subject, now)
        env = await uow.emit(
            AttendanceConfirmed(
                activity_id=activity_id, member_id=member_id, hours=hours, confirmed_at=now
            )
        )
        entry = await awards.award(
            uow.conn,
            uow.emit,
            awards.AwardRequest(
                member_id=member_id,
                rule_code=activity["rule_code"],
                hours=hours,
                cause_event_id=env.event_id,
                business_date=business_date(activity["starts_at"]),
                source_id=activity_id,
                community_id=member["community_id"] or activity["community_id"],
                unit_id=member["unit_id"],
                at=now,
                what=f"activity {activity_id}",
            ),
        )
    return Attendance(now, entry)


@dataclass(frozen=True)
class Confirmation:
    member_id: UUID
    hours: Decimal
    confirmed_at: datetime
    entry: asyncpg.Record | None  # the points awarded; None when the caps left nothing
    changed: bool  # false: confirmed before with these hours (a repeat), nothing written


async def confirm_many(
    rt: PointsRuntime, actor: Actor, activity_id: UUID, items: list[tuple[UUID, Decimal]]
) -> list[Confirmation]:
    """The community admin confirms many checked-in members' hours at once, all or none:
    each item meets the single confirmation's rules, and emits what it would (attendance
    confirmed, points awarded). An item confirmed before with the same hours is left as is."""
    if any(actor.party_id == member_id for member_id, _ in items):
        raise Forbidden("a member cannot confirm their own attendance")
    member_ids = [m for m, _ in items]
    async with rt.unit_of_work() as uow:
        activity = await activities.get(uow.conn, activity_id)
        await authorize(
            uow.conn, actor, activity["community_id"], roles=COMMUNITY, action="confirm attendance"
        )
        found = await members.get_many(uow.conn, member_ids, lock=True)  # serialises overlaps
        signups = await activities.signups(uow.conn, activity_id, member_ids, lock=True)
        overlaps = await activities.overlapping_attendances(uow.conn, member_ids, activity)
        checks = ItemChecks("body.attendance")
        seen: dict[UUID, int] = {}
        repeats: set[UUID] = set()
        for index, (member_id, hours) in enumerate(items):
            signup = signups.get(member_id)
            if seen.setdefault(member_id, index) != index:
                checks.fail(index, Invalid(f"repeats item {seen[member_id]}"))
            elif signup is None:
                checks.fail(index, Conflict("the member has not signed up for this activity"))
            elif signup["confirmed_at"] is not None and signup["hours"] == hours:
                repeats.add(member_id)
            elif not checks.check(index, partial(_confirmable, signup, hours, activity)):
                continue
            elif other := overlaps.get(member_id):
                checks.fail(
                    index,
                    Conflict(
                        "the member already has a confirmed attendance at the same time "
                        f"(activity {other})"
                    ),
                )
        checks.refuse_if_any(len(items))
        todo = [(m, h) for m, h in items if m not in repeats]
        now = rt.clock.now()
        await activities.confirm_many(uow.conn, activity_id, todo, actor.subject, now)
        day = business_date(activity["starts_at"])
        requests: list[tuple[UUID, awards.AwardRequest]] = []
        for member_id, hours in todo:
            env = await uow.emit(
                AttendanceConfirmed(
                    activity_id=activity_id, member_id=member_id, hours=hours, confirmed_at=now
                )
            )
            member = found[member_id]
            requests.append(
                (
                    member_id,
                    awards.AwardRequest(
                        member_id=member_id,
                        rule_code=activity["rule_code"],
                        hours=hours,
                        cause_event_id=env.event_id,
                        business_date=day,
                        source_id=activity_id,
                        community_id=member["community_id"] or activity["community_id"],
                        unit_id=member["unit_id"],
                        at=now,
                        what=f"activity {activity_id}",
                    ),
                )
            )

        async def emit(event: Event, _member: UUID) -> Envelope:
            return await uow.emit(event)

        entries = {e["member_id"]: e for e in await awards.award_many(uow.conn, emit, requests)}
    return [
        Confirmation(m, signups[m]["hours"], signups[m]["confirmed_at"], None, False)
        if m in repeats
        else Confirmation(m, h, now, entries.get(m), True)
        for m, h in items
    ]


def _confirmable(signup: asyncpg.Record, hours: Decimal, activity: asyncpg.Record) -> None:
    """The single confirmation's rules for one item (its refusals name `body.hours`)."""
    rules.check_confirmable(
        signed_up=True,
        confirmed_at=signup["confirmed_at"],
        hours=signup["hours"],
        checked_in_at=signup["checked_in_at"],
    )
    rules.check_hours(hours, activity["starts_at"], activity["ends_at"])


async def _visible_activity(
    conn: asyncpg.Connection, actor: Actor, activity_id: UUID
) -> asyncpg.Record:
    """The activity, for its community's admin; to anyone else not found, as an unknown id."""
    row = await activities.find(conn, activity_id)
    if row is None:
        raise hidden(f"activity {activity_id}", "path.activity_id")
    await authorize_read(
        conn,
        actor,
        row["community_id"],
        roles=COMMUNITY,
        what=f"activity {activity_id}",
        field="path.activity_id",
    )
    return row
