"""Needs lists: a community's admin publishes, revises, withdraws and imports its needs."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from cobuild_contracts import (
    ItemKind,
    NeedPublished,
    NeedWithdrawn,
    PartyKind,
    Role,
    Visibility,
    uuid7,
)
from cobuild_contracts.base import MAX_COUNT, MAX_FEN, MAX_QUANTITY, BusinessDate
from cobuild_kit.auth import Actor
from cobuild_kit.errors import CobuildError, Conflict, Forbidden, Invalid
from cobuild_kit.parties import authorize
from cobuild_kit.service import ActorDep, RuntimeDep, UnitOfWork
from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cobuild_agreements import matchmaking
from cobuild_agreements.domain.lists import ListRules
from cobuild_agreements.http.common import list_rules, now_and_today, plain, settings
from cobuild_agreements.store import lists, matches, parties
from cobuild_agreements.tabular import ImportRejected, RowError, read_table, row_errors

router = APIRouter(tags=["needs"])
CATEGORY = r"^[a-z][a-z0-9_]{1,39}$"


class NeedFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(pattern=CATEGORY)
    kind: ItemKind
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    quantity_unit: str = Field(min_length=1, max_length=40)
    funds_fen: int = Field(default=0, ge=0, le=MAX_FEN)
    wanted_by: BusinessDate
    beneficiaries: int = Field(default=0, ge=0, le=MAX_COUNT)  # a head count, never names
    visibility: Visibility = Visibility.PUBLIC


class NeedIn(NeedFields):
    community_id: UUID


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


def need_out(row: asyncpg.Record) -> dict[str, Any]:
    return plain(row)


async def _community(conn: asyncpg.Connection, community_id: UUID, field: str) -> None:
    party = await parties.get(conn, community_id)
    if party is None or party.kind is not PartyKind.COMMUNITY:
        raise Invalid(f"{community_id} is not a registered community", field=field)


async def _may_publish(conn: asyncpg.Connection, actor: Actor, community_id: UUID) -> None:
    await authorize(conn, actor, community_id, roles={Role.COMMUNITY_ADMIN}, action="publish needs")


async def may_read_need(conn: asyncpg.Connection, actor: Actor, need: asyncpg.Record) -> None:
    """The community's admins and supervisors; a unit admin when the need is visible to it."""
    if actor.role is Role.UNIT_ADMIN:
        if need["visibility"] == Visibility.PUBLIC.value:
            return
        unit = await parties.get(conn, actor.party_id)
        if (
            need["visibility"] == Visibility.PAIRED_UNITS.value
            and unit
            and (need["community_id"] in unit.paired_community_ids)
        ):
            return
        raise Forbidden(f"need {need['need_id']} is not visible to unit {actor.party_id}")
    await authorize(
        conn,
        actor,
        need["community_id"],
        roles={Role.COMMUNITY_ADMIN},
        supervisors_may=True,
        action="read this community's needs",
    )


async def publish_need(
    uow: UnitOfWork,
    fields: NeedFields,
    community_id: UUID,
    rules: ListRules,
    now: datetime,
    *,
    need_id: UUID | None = None,
    version: int = 1,
    prefix: str = "body.",
) -> NeedPublished:
    """Check the rules, store the version, emit need.published (matching is the caller's)."""
    rules.need(fields.category, fields.wanted_by, prefix)
    event = NeedPublished(
        need_id=need_id or uuid7(),
        community_id=community_id,
        version=version,
        published_at=now,
        **fields.model_dump(),
    )
    await lists.save_need(uow.conn, event)
    await uow.emit(event)
    return event


@router.post("/needs", status_code=201)
async def publish(body: NeedIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    now, today = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        await _may_publish(uow.conn, actor, body.community_id)
        await _community(uow.conn, body.community_id, "body.community_id")
        fields = NeedFields.model_validate(body.model_dump(exclude={"community_id"}))
        event = await publish_need(uow, fields, body.community_id, list_rules(rt), now)
        found = await matchmaking.for_need(uow, event.need_id, today, now, settings(rt).match_top_n)
        row = await lists.get_need(uow.conn, event.need_id)
    return {**need_out(row), "matches": [_suggestion(s) for s in found]}


@router.put("/needs/{need_id}")
async def revise(
    need_id: UUID, body: NeedFields, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """A new version (history kept), published with version + 1."""
    now, today = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        current = await lists.get_need(uow.conn, need_id, lock=True)
        await _may_publish(uow.conn, actor, current["community_id"])
        if current["status"] != "published":
            raise Conflict(
                f"need {need_id} is {current['status']}; only a published need is revised"
            )
        await publish_need(
            uow,
            body,
            current["community_id"],
            list_rules(rt),
            now,
            need_id=need_id,
            version=current["version"] + 1,
        )
        found = await matchmaking.for_need(uow, need_id, today, now, settings(rt).match_top_n)
        row = await lists.get_need(uow.conn, need_id)
    return {**need_out(row), "matches": [_suggestion(s) for s in found]}


@router.post("/needs/{need_id}/withdraw")
async def withdraw(
    need_id: UUID, body: WithdrawIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    now, _ = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        current = await lists.get_need(uow.conn, need_id, lock=True)
        await _may_publish(uow.conn, actor, current["community_id"])
        if current["status"] != "published":
            raise Conflict(
                f"need {need_id} is {current['status']}; only a published need is withdrawn"
            )
        event = NeedWithdrawn(
            need_id=need_id,
            community_id=current["community_id"],
            version=current["version"],
            reason=body.reason,
            withdrawn_at=now,
        )
        await lists.set_need_status(uow.conn, need_id, "withdrawn", now)
        await lists.record_need_version(
            uow.conn, need_id, event.version, event.EVENT_TYPE, event.model_dump(mode="json"), now
        )
        await uow.emit(event)
        row = await lists.get_need(uow.conn, need_id)
    return need_out(row)


@router.get("/needs/{need_id}")
async def show(need_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row = await lists.get_need(conn, need_id)
        await may_read_need(conn, actor, row)
        history = await lists.need_versions(conn, need_id)
    return {**need_out(row), "history": [dict(h) for h in history]}


@router.get("/needs")
async def of_community(
    community_id: UUID, actor: ActorDep, rt: RuntimeDep, status: str | None = None
) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        await authorize(
            conn,
            actor,
            community_id,
            roles={Role.COMMUNITY_ADMIN},
            supervisors_may=True,
            action="read this community's needs",
        )
        rows = await lists.community_needs(conn, community_id, public_only=False, status=status)
    return [need_out(r) for r in rows]


@router.get("/needs/{need_id}/matches")
async def need_matches(need_id: UUID, actor: ActorDep, rt: RuntimeDep) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        need = await lists.get_need(conn, need_id)
        await may_read_need(conn, actor, need)
        rows = await matches.for_need(conn, need_id)
    return [{"rank": n, **dict(r)} for n, r in enumerate(rows, start=1)]


def _suggestion(s: Any) -> dict[str, Any]:
    return {
        "need_id": s.need_id,
        "resource_id": s.resource_id,
        "unit_id": s.unit_id,
        "score": s.score,
        "reasons": list(s.reasons),
    }


@router.post(
    "/communities/{community_id}/needs/import",
    status_code=201,
    responses={422: {"description": "row report: nothing imported"}},
)
async def import_needs(
    community_id: UUID, actor: ActorDep, rt: RuntimeDep, file: Annotated[UploadFile, File()]
) -> Any:
    """CSV or XLSX, one need a row, columns named as the fields of POST /needs. All or none."""
    now, today = now_and_today(rt)
    required = ("category", "kind", "title", "quantity", "quantity_unit", "wanted_by")
    async with rt.pool.acquire() as conn:  # authority first: parsing a file is not free
        await _may_publish(conn, actor, community_id)
    data = await file.read()
    rows = await asyncio.to_thread(read_table, data, required, settings(rt).max_import_rows)
    errors: list[RowError] = []
    published: list[NeedPublished] = []
    try:
        async with rt.unit_of_work() as uow:
            await _may_publish(uow.conn, actor, community_id)
            await _community(uow.conn, community_id, "path.community_id")
            rules = list_rules(rt)
            for number, cells in rows:
                try:
                    fields = NeedFields.model_validate(
                        {k: v for k, v in cells.items() if v and k in NeedFields.model_fields}
                    )
                    published.append(
                        await publish_need(uow, fields, community_id, rules, now, prefix="")
                    )
                except (ValidationError, CobuildError) as exc:
                    errors.extend(row_errors(number, exc))
            if errors:
                raise ImportRejected(errors)
            for event in published:
                await matchmaking.for_need(uow, event.need_id, today, now, settings(rt).match_top_n)
    except ImportRejected as rejected:
        return JSONResponse(rejected.body(), status_code=422)
    return {"imported": len(published), "need_ids": [e.need_id for e in published]}
