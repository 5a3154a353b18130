"""Micro-wishes (微心愿): the community publishes, a member claims and fulfils, the community
confirms (→ points). Wishes nobody claims within the configured days are flagged stale."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

import asyncpg
from cobuild_contracts import Role
from cobuild_contracts.events.points import WishClaimed, WishFulfilled, WishPublished
from cobuild_kit.auth import Actor
from cobuild_kit.clock import business_date
from cobuild_kit.errors import Forbidden
from cobuild_kit.parties import authorize

from cobuild_points.domain import members as lifecycle
from cobuild_points.domain import wishes as flow
from cobuild_points.settings import PointsRuntime
from cobuild_points.store import members, wishes
from cobuild_points.store.paging import Slice
from cobuild_points.usecases import awards
from cobuild_points.usecases.access import COMMUNITY


def _member_of(actor: Actor) -> UUID:
    if actor.role is not Role.MEMBER:
        raise Forbidden("only a member may do this")
    return actor.party_id


async def publish(
    rt: PointsRuntime, actor: Actor, community_id: UUID, title: str, description: str
) -> asyncpg.Record:
    async with rt.unit_of_work() as uow:
        await authorize(
            uow.conn, actor, community_id, roles=COMMUNITY, action="publish micro-wishes"
        )
        now = rt.clock.now()
        row = await wishes.insert(uow.conn, uuid4(), community_id, title, description, now)
        await uow.emit(
            WishPublished(
                wish_id=row["wish_id"], community_id=community_id, title=title, published_at=now
            )
        )
    return row


@dataclass(frozen=True)
class CommunityWishes:
    stale_after_days: int
    wishes: Slice
    stale: list[bool]  # of each wish of the page


async def of_community(
    rt: PointsRuntime,
    community_id: UUID,
    status: flow.WishStatus | None,
    stale: bool | None,
    *,
    limit: int,
    offset: int,
) -> CommunityWishes:
    """Each wish with whether it is stale (open and unclaimed for more than the configured
    days); `stale` keeps only the stale ones, or only the others."""
    days = rt.settings.wish_stale_days
    now = rt.clock.now()
    async with rt.pool.acquire() as conn:
        found = await wishes.of_community(
            conn,
            community_id,
            status.value if status else None,
            flow.stale_before(now, days),
            stale,
            limit=limit,
            offset=offset,
        )
    flags = [flow.is_stale(r["status"], r["published_at"], now, days) for r in found.rows]
    return CommunityWishes(days, found, flags)


async def claim(rt: PointsRuntime, actor: Actor, wish_id: UUID) -> asyncpg.Record:
    member_id = _member_of(actor)
    async with rt.unit_of_work() as uow:
        wish = await wishes.get(uow.conn, wish_id, lock=True)
        member = await members.get(uow.conn, member_id)
        lifecycle.require("serve", member["status"])
        if member["community_id"] != wish["community_id"]:
            raise Forbidden("the member serves another community")
        flow.require("claim", wish["status"])
        now = rt.clock.now()
        row = await wishes.move(uow.conn, wish_id, "claimed", now, member_id)
        await uow.emit(WishClaimed(wish_id=wish_id, member_id=member_id, claimed_at=now))
    return row


async def done(rt: PointsRuntime, actor: Actor, wish_id: UUID) -> asyncpg.Record:
    """The claiming member reports the wish fulfilled; the community confirms it."""
    member_id = _member_of(actor)
    async with rt.unit_of_work() as uow:
        wish = await wishes.get(uow.conn, wish_id, lock=True)
        if wish["member_id"] != member_id:
            raise Forbidden("only the member who claimed the wish may report it done")
        flow.require("complete", wish["status"])
        return await wishes.move(uow.conn, wish_id, "done", rt.clock.now())


@dataclass(frozen=True)
class Confirmed:
    wish: asyncpg.Record
    entry: asyncpg.Record | None  # the points awarded; None when the caps left nothing


async def confirm(rt: PointsRuntime, actor: Actor, wish_id: UUID) -> Confirmed:
    """The community confirms a wish done; its member earns the configured wish rule's points."""
    async with rt.unit_of_work() as uow:
        wish = await wishes.get(uow.conn, wish_id, lock=True)
        await authorize(
            uow.conn, actor, wish["community_id"], roles=COMMUNITY, action="confirm micro-wishes"
        )
        flow.require("confirm", wish["status"])
        member = await members.get(uow.conn, wish["member_id"])
        now = rt.clock.now()
        row = await wishes.move(uow.conn, wish_id, "fulfilled", now)
        env = await uow.emit(
            WishFulfilled(wish_id=wish_id, member_id=member["member_id"], fulfilled_at=now)
        )
        entry = await awards.award(
            uow.conn,
            uow.emit,
            awards.AwardRequest(
                member_id=member["member_id"],
                rule_code=rt.settings.wish_rule_code,
                hours=None,
                cause_event_id=env.event_id,
                business_date=business_date(now),
                source_id=wish_id,
                community_id=member["community_id"] or wish["community_id"],
                unit_id=member["unit_id"],
                at=now,
                what=f"wish {wish_id}",
            ),
        )
    return Confirmed(row, entry)
