"""Resource lists: a unit's admin offers, revises and withdraws what the unit can give."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import ItemKind, PartyKind, ResourceOffered, ResourceWithdrawn, Role, uuid7
from cobuild_contracts.base import MAX_FEN, MAX_QUANTITY, BusinessDate
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Forbidden, Invalid
from cobuild_kit.parties import authorize
from cobuild_kit.service import ActorDep, RuntimeDep, UnitOfWork
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from cobuild_agreements import matchmaking
from cobuild_agreements.domain.lists import ListRules
from cobuild_agreements.http.common import list_rules, now_and_today, plain, settings
from cobuild_agreements.http.needs import CATEGORY, WithdrawIn
from cobuild_agreements.store import lists, matches, parties

router = APIRouter(tags=["resources"])


class ResourceFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(pattern=CATEGORY)
    kind: ItemKind
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    capacity: int = Field(ge=1, le=MAX_QUANTITY)  # sessions or people; money goes in funds_fen
    capacity_unit: str = Field(min_length=1, max_length=40)
    funds_fen: int = Field(default=0, ge=0, le=MAX_FEN)
    available_from: BusinessDate
    available_until: BusinessDate
    community_ids: list[UUID] = Field(default_factory=list, max_length=500)  # empty: any


class ResourceIn(ResourceFields):
    unit_id: UUID


async def _may_offer(conn: asyncpg.Connection, actor: Actor, unit_id: UUID) -> None:
    await authorize(conn, actor, unit_id, roles={Role.UNIT_ADMIN}, action="offer resources")


async def _may_read(conn: asyncpg.Connection, actor: Actor, unit_id: UUID) -> None:
    """The unit's admins and supervisors; community admins too (they look for offers)."""
    if actor.role is Role.COMMUNITY_ADMIN:
        return
    await authorize(
        conn,
        actor,
        unit_id,
        roles={Role.UNIT_ADMIN},
        supervisors_may=True,
        action="read this unit's resources",
    )


async def _offer(
    uow: UnitOfWork,
    fields: ResourceFields,
    unit_id: UUID,
    rules: ListRules,
    now: datetime,
    *,
    resource_id: UUID | None = None,
    version: int = 1,
) -> ResourceOffered:
    rules.resource(fields.category, fields.available_from, fields.available_until)
    for n, cid in enumerate(fields.community_ids):
        party = await parties.get(uow.conn, cid)
        if party is None or party.kind is not PartyKind.COMMUNITY:
            raise Invalid(f"{cid} is not a registered community", field=f"body.community_ids.{n}")
    event = ResourceOffered(
        resource_id=resource_id or uuid7(),
        unit_id=unit_id,
        version=version,
        offered_at=now,
        **fields.model_dump(),
    )
    await lists.save_resource(uow.conn, event)
    await uow.emit(event)
    return event


@router.post("/resources", status_code=201)
async def offer(body: ResourceIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    now, today = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        await _may_offer(uow.conn, actor, body.unit_id)
        unit = await parties.get(uow.conn, body.unit_id)
        if unit is None or unit.kind is not PartyKind.UNIT:
            raise Invalid(f"{body.unit_id} is not a registered unit", field="body.unit_id")
        fields = ResourceFields.model_validate(body.model_dump(exclude={"unit_id"}))
        event = await _offer(uow, fields, body.unit_id, list_rules(rt), now)
        found = await matchmaking.for_resource(
            uow, event.resource_id, today, now, settings(rt).match_top_n
        )
        row = await lists.get_resource(uow.conn, event.resource_id)
    return {**plain(row), "matches": [s.__dict__ for s in found]}


@router.put("/resources/{resource_id}")
async def revise(
    resource_id: UUID, body: ResourceFields, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    now, today = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        current = await lists.get_resource(uow.conn, resource_id, lock=True)
        await _may_offer(uow.conn, actor, current["unit_id"])
        if current["status"] != "offered":
            raise Conflict(f"resource {resource_id} is {current['status']}; it cannot be revised")
        await _offer(
            uow,
            body,
            current["unit_id"],
            list_rules(rt),
            now,
            resource_id=resource_id,
            version=current["version"] + 1,
        )
        found = await matchmaking.for_resource(
            uow, resource_id, today, now, settings(rt).match_top_n
        )
        row = await lists.get_resource(uow.conn, resource_id)
    return {**plain(row), "matches": [s.__dict__ for s in found]}


@router.post("/resources/{resource_id}/withdraw")
async def withdraw(
    resource_id: UUID, body: WithdrawIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    now, _ = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        current = await lists.get_resource(uow.conn, resource_id, lock=True)
        await _may_offer(uow.conn, actor, current["unit_id"])
        if current["status"] != "offered":
            raise Conflict(f"resource {resource_id} is {current['status']}; it cannot be withdrawn")
        event = ResourceWithdrawn(
            resource_id=resource_id,
            unit_id=current["unit_id"],
            version=current["version"],
            reason=body.reason,
            withdrawn_at=now,
        )
        await lists.set_resource_status(uow.conn, resource_id, "withdrawn", now)
        await lists.record_resource_version(
            uow.conn,
            resource_id,
            event.version,
            event.EVENT_TYPE,
            event.model_dump(mode="json"),
            now,
        )
        await uow.emit(event)
        row = await lists.get_resource(uow.conn, resource_id)
    return plain(row)


@router.get("/resources/{resource_id}")
async def show(resource_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row = await lists.get_resource(conn, resource_id)
        await _may_read(conn, actor, row["unit_id"])
        history = await lists.resource_versions(conn, resource_id)
    return {**plain(row), "history": [dict(h) for h in history]}


@router.get("/resources/{resource_id}/matches")
async def resource_matches(
    resource_id: UUID, actor: ActorDep, rt: RuntimeDep
) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        row = await lists.get_resource(conn, resource_id)
        if actor.role is Role.COMMUNITY_ADMIN:
            raise Forbidden("a resource's matches are for its unit and supervisors")
        await _may_read(conn, actor, row["unit_id"])
        rows = await matches.for_resource(conn, resource_id)
    return [{"rank": n, **dict(r)} for n, r in enumerate(rows, start=1)]
