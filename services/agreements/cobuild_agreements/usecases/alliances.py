"""Alliances (党建联盟 / 联席会议) of a street or a community: forming one, members joining and
leaving (kept with their dates), the rotation of the chair, and reading them.

Every command locks the alliance's row, so its membership, rotation and meetings change one at
a time, and no change may reach back before the last meeting recorded (the chairs already on
record would no longer follow from the history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import asyncpg
from cobuild_contracts import PartyKind, Role, uuid7
from cobuild_contracts.base import BusinessDate
from cobuild_contracts.enums import RotationMode
from cobuild_contracts.events.alliances import (
    MAX_UNITS,
    AllianceFormed,
    AllianceMemberJoined,
    AllianceMemberLeft,
    AllianceRotationChanged,
    Rotation,
)
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Invalid
from cobuild_kit.service import UnitOfWork
from pydantic import BaseModel, ConfigDict, Field

from cobuild_agreements.domain.alliances import (
    Membership,
    Order,
    Stint,
    check_after_last_meeting,
    check_order,
)
from cobuild_agreements.domain.alliances import Rotation as RotationRule
from cobuild_agreements.settings import AgreementsRuntime
from cobuild_agreements.store import alliances, parties
from cobuild_agreements.usecases import access
from cobuild_agreements.usecases.rules import now_and_today

UnitIds = Annotated[list[UUID], Field(max_length=MAX_UNITS)]


class RotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: RotationMode = RotationMode.PER_MEETING
    period_months: int | None = Field(
        default=None, ge=1, le=12, description="per_period only: 1, 3, 6 or 12 are usual"
    )
    order: UnitIds | None = Field(
        default=None, description="the chairing units in turn; default: the members as listed"
    )


class AllianceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host_party_id: UUID = Field(description="the street or community whose alliance it is")
    name: str = Field(min_length=1, max_length=200)
    formed_on: BusinessDate | None = Field(default=None, description="default: today")
    member_unit_ids: UnitIds = Field(min_length=1)
    rotation: RotationIn = Field(default_factory=RotationIn)


class JoinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_id: UUID
    joined_on: BusinessDate | None = Field(default=None, description="default: today")


class LeaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    left_on: BusinessDate | None = Field(
        default=None, description="the first day it is no longer a member; default: today"
    )


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order: UnitIds = Field(min_length=1)
    effective_from: BusinessDate | None = Field(default=None, description="default: today")


@dataclass(frozen=True)
class AllianceView:
    row: asyncpg.Record
    stints: list[asyncpg.Record]
    rotation: RotationRule
    last_meeting: asyncpg.Record | None
    today: date

    @property
    def next_chair(self) -> UUID | None:
        """The chair of a meeting held today."""
        last = self.last_meeting["chair_unit_id"] if self.last_meeting else None
        return self.rotation.chair_for(self.today, last)

    @property
    def members_now(self) -> list[UUID]:
        return self.rotation.membership.members_on(self.today)


async def view(conn: asyncpg.Connection, alliance_id: UUID, today: date) -> AllianceView:
    row = await alliances.load(conn, alliance_id)
    return AllianceView(
        row=row,
        stints=await alliances.stints(conn, alliance_id),
        rotation=await alliances.rotation(conn, row),
        last_meeting=await alliances.last_meeting(conn, alliance_id),
        today=today,
    )


def rotation_contract(mode: RotationMode, period: int | None, order: Order) -> Rotation:
    return Rotation(
        mode=mode,
        period_months=period,
        order=list(order.units),
        effective_from=order.effective_from,
    )


async def _units_registered(conn: asyncpg.Connection, unit_ids: list[UUID], field: str) -> None:
    for n, unit_id in enumerate(unit_ids):
        party = await parties.get(conn, unit_id)
        if party is None or party.kind is not PartyKind.UNIT:
            raise Invalid(f"{unit_id} is not a registered unit", field=f"{field}.{n}")
        if not party.active:
            raise Invalid(f"unit {unit_id} is inactive", field=f"{field}.{n}")


async def locked(
    uow: UnitOfWork, actor: Actor, alliance_id: UUID, action: str
) -> tuple[asyncpg.Record, asyncpg.Record | None]:
    """The alliance, locked, once the actor may run it; and its last meeting."""
    row = await alliances.load(uow.conn, alliance_id, lock=True, field="path.alliance_id")
    await access.may_run_alliance(
        uow.conn, actor, row["host_party_id"], PartyKind(row["host_kind"]), action
    )
    return row, await alliances.last_meeting(uow.conn, alliance_id)


# --- commands ----------------------------------------------------------------------------


def _check_rotation(rotation: RotationIn) -> None:
    if rotation.mode is RotationMode.PER_PERIOD and rotation.period_months is None:
        raise Invalid("required when mode is 'per_period'", field="body.rotation.period_months")
    if rotation.mode is RotationMode.PER_MEETING and rotation.period_months is not None:
        raise Invalid(
            "only a per_period rotation has a period", field="body.rotation.period_months"
        )


async def form(rt: AgreementsRuntime, actor: Actor, body: AllianceIn) -> AllianceView:
    """A street's or community's admin (or a supervisor above it) forms its alliance."""
    now, today = now_and_today(rt)
    formed_on = body.formed_on or today
    rotation = body.rotation
    members = list(body.member_unit_ids)
    order = list(rotation.order) if rotation.order is not None else members
    alliance_id = uuid7()
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        host = await parties.get(conn, body.host_party_id)
        if host is None or host.kind not in access.HOST_ADMIN:
            raise Invalid(
                f"{body.host_party_id} is not a registered street or community",
                field="body.host_party_id",
            )
        await access.may_run_alliance(conn, actor, host.party_id, host.kind, "form its alliance")
        _check_rotation(rotation)
        if len(set(members)) != len(members):
            raise Invalid("a unit is named twice", field="body.member_unit_ids")
        await _units_registered(conn, members, "body.member_unit_ids")
        membership = Membership(tuple(Stint(u, formed_on) for u in members))
        check_order(order, membership, "body.rotation.order")
        await alliances.create(
            conn,
            alliance_id=alliance_id,
            host_party_id=host.party_id,
            name=body.name,
            formed_on=formed_on,
            mode=rotation.mode,
            period_months=rotation.period_months,
            by=actor.subject,
            at=now,
        )
        for unit_id in members:
            await alliances.add_member(conn, alliance_id, unit_id, formed_on, now)
        first = Order(1, formed_on, tuple(order))
        await alliances.add_order(conn, alliance_id, first, actor.subject, now)
        await uow.emit(
            AllianceFormed(
                alliance_id=alliance_id,
                host_party_id=host.party_id,
                host_kind=host.kind,
                formed_on=formed_on,
                member_unit_ids=members,
                rotation=rotation_contract(rotation.mode, rotation.period_months, first),
                formed_at=now,
            )
        )
        return await view(conn, alliance_id, today)


async def _new_order(
    uow: UnitOfWork,
    actor: Actor,
    row: asyncpg.Record,
    units: tuple[UUID, ...],
    day: date,
    now: datetime,
) -> None:
    """Store and announce the next version of the rotation order."""
    versions = await alliances.orders(uow.conn, row["alliance_id"])
    order = Order(versions[-1]["version"] + 1, day, units)
    await alliances.add_order(uow.conn, row["alliance_id"], order, actor.subject, now)
    mode = RotationMode(row["mode"])
    await uow.emit(
        AllianceRotationChanged(
            alliance_id=row["alliance_id"],
            version=order.version,
            rotation=rotation_contract(mode, row["period_months"], order),
            changed_at=now,
        )
    )


async def join(
    rt: AgreementsRuntime, actor: Actor, alliance_id: UUID, body: JoinIn
) -> AllianceView:
    """A unit joins; it takes its turn last in the rotation (a unit already in the order, one
    that left and comes back, keeps its place)."""
    now, today = now_and_today(rt)
    joined_on = body.joined_on or today
    async with rt.unit_of_work() as uow:
        row, last = await locked(uow, actor, alliance_id, "change this alliance's members")
        if joined_on < row["formed_on"]:
            raise Invalid(
                f"must not be before the alliance was formed ({row['formed_on']})",
                field="body.joined_on",
            )
        check_after_last_meeting(joined_on, last["held_on"] if last else None, "body.joined_on")
        await _units_registered(uow.conn, [body.unit_id], "body.unit_id")
        rotation = await alliances.rotation(uow.conn, row)
        rotation.membership.check_join(body.unit_id, joined_on, "body.unit_id")
        latest = rotation.latest.units
        if body.unit_id not in latest and len(latest) >= MAX_UNITS:
            raise Conflict(f"the alliance's rotation has {MAX_UNITS} units, the most it takes")
        await alliances.add_member(uow.conn, alliance_id, body.unit_id, joined_on, now)
        await uow.emit(
            AllianceMemberJoined(
                alliance_id=alliance_id, unit_id=body.unit_id, joined_on=joined_on, recorded_at=now
            )
        )
        if body.unit_id not in latest:
            await _new_order(uow, actor, row, (*latest, body.unit_id), joined_on, now)
        return await view(uow.conn, alliance_id, today)


async def leave(
    rt: AgreementsRuntime, actor: Actor, alliance_id: UUID, unit_id: UUID, body: LeaveIn
) -> AllianceView:
    """A unit leaves: kept in the history and in the order, skipped when its turn comes."""
    now, today = now_and_today(rt)
    left_on = body.left_on or today
    async with rt.unit_of_work() as uow:
        _row, last = await locked(uow, actor, alliance_id, "change this alliance's members")
        check_after_last_meeting(left_on, last["held_on"] if last else None, "body.left_on")
        membership = await alliances.membership(uow.conn, alliance_id)
        stint = membership.check_leave(unit_id, left_on)
        await alliances.end_stint(uow.conn, alliance_id, stint, left_on, now)
        await uow.emit(
            AllianceMemberLeft(
                alliance_id=alliance_id, unit_id=unit_id, left_on=left_on, recorded_at=now
            )
        )
        return await view(uow.conn, alliance_id, today)


async def set_order(
    rt: AgreementsRuntime, actor: Actor, alliance_id: UUID, body: OrderIn
) -> AllianceView:
    """A new rotation order, in force from its date (the mode stays as formed)."""
    now, today = now_and_today(rt)
    effective = body.effective_from or today
    async with rt.unit_of_work() as uow:
        row, last = await locked(uow, actor, alliance_id, "change this alliance's rotation")
        check_after_last_meeting(
            effective, last["held_on"] if last else None, "body.effective_from"
        )
        membership = await alliances.membership(uow.conn, alliance_id)
        check_order(body.order, membership, "body.order")
        await _new_order(uow, actor, row, tuple(body.order), effective, now)
        return await view(uow.conn, alliance_id, today)


# --- queries ---------------------------------------------------------------------------


async def readable(conn: asyncpg.Connection, actor: Actor, alliance_id: UUID) -> asyncpg.Record:
    """The alliance, if the actor may read it; else 404, as for one that does not exist."""
    with access.hidden(f"alliance {alliance_id} does not exist", "path.alliance_id"):
        row = await alliances.load(conn, alliance_id)
        membership = await alliances.membership(conn, alliance_id)
        ever = actor.role is Role.UNIT_ADMIN and membership.ever(actor.party_id)
        await access.may_read_alliance(conn, actor, row, ever)
    return row


async def show(rt: AgreementsRuntime, actor: Actor, alliance_id: UUID) -> AllianceView:
    _, today = now_and_today(rt)
    async with rt.pool.acquire() as conn:
        await readable(conn, actor, alliance_id)
        return await view(conn, alliance_id, today)


async def of_party(
    rt: AgreementsRuntime, actor: Actor, party_id: UUID, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """A unit's alliances (those it is or was a member of); a place's: a community's own and
    its street's, a street's own and its communities', a district's of every street and
    community in it."""
    async with rt.pool.acquire() as conn:
        party = await parties.require(conn, party_id, field="query.party_id")
        await access.may_list_alliances_of(conn, actor, party)
        if party.kind is PartyKind.UNIT:
            return await alliances.of_unit(conn, party_id, limit=limit, offset=offset)
        hosts = await alliances.hosts_for(conn, party)
        return await alliances.of_host(conn, hosts, limit=limit, offset=offset)
