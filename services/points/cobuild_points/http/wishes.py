"""Micro-wishes (微心愿): the community publishes, a member claims and fulfils, the community
confirms (→ points). Wishes nobody claims within the configured days are flagged stale."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID, uuid4

from cobuild_contracts import Role
from cobuild_contracts.events.points import WishClaimed, WishFulfilled, WishPublished
from cobuild_kit.clock import business_date
from cobuild_kit.errors import Forbidden
from cobuild_kit.parties import authorize
from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from cobuild_points import awards
from cobuild_points.domain import members as lifecycle
from cobuild_points.domain import wishes as flow
from cobuild_points.http.access import COMMUNITY, plain
from cobuild_points.settings import options
from cobuild_points.store import members, wishes

router = APIRouter(tags=["wishes"])


class WishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    community_id: UUID
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=4000)] = ""


def _member_of(actor: Any) -> UUID:
    if actor.role is not Role.MEMBER:
        raise Forbidden("only a member may do this")
    return actor.party_id  # type: ignore[no-any-return]


@router.post("/wishes", status_code=201)
async def publish(body: WishIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    async with rt.unit_of_work() as uow:
        await authorize(
            uow.conn, actor, body.community_id, roles=COMMUNITY, action="publish micro-wishes"
        )
        now = rt.clock.now()
        row = await wishes.insert(
            uow.conn, uuid4(), body.community_id, body.title, body.description, now
        )
        await uow.emit(
            WishPublished(
                wish_id=row["wish_id"],
                community_id=body.community_id,
                title=body.title,
                published_at=now,
            )
        )
    return plain(row)


@router.get("/communities/{community_id}/wishes")
async def of_community(
    community_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    status: flow.WishStatus | None = None,
    stale: bool | None = None,
) -> dict[str, Any]:
    """Each wish with `stale` (open and unclaimed for more than the configured days)."""
    days = options(rt.settings).wish_stale_days
    now = rt.clock.now()
    async with rt.pool.acquire() as conn:
        rows = await wishes.of_community(conn, community_id, status.value if status else None)
    items = [
        {**plain(r), "stale": flow.is_stale(r["status"], r["published_at"], now, days)}
        for r in rows
    ]
    if stale is not None:
        items = [w for w in items if w["stale"] is stale]
    return {"community_id": community_id, "stale_after_days": days, "wishes": items}


@router.post("/wishes/{wish_id}/claim")
async def claim(wish_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
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
    return plain(row)


@router.post("/wishes/{wish_id}/done")
async def done(wish_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The claiming member reports the wish fulfilled; the community confirms it."""
    member_id = _member_of(actor)
    async with rt.unit_of_work() as uow:
        wish = await wishes.get(uow.conn, wish_id, lock=True)
        if wish["member_id"] != member_id:
            raise Forbidden("only the member who claimed the wish may report it done")
        flow.require("complete", wish["status"])
        return plain(await wishes.move(uow.conn, wish_id, "done", rt.clock.now()))


@router.post("/wishes/{wish_id}/confirm")
async def confirm(wish_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
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
                rule_code=options(rt.settings).wish_rule_code,
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
    return {**plain(row), "entry": plain(entry) if entry is not None else None}
