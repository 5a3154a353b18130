"""Needs lists: a community's admin publishes, revises and withdraws its needs; who may read them.

Publishing a need (or a new version of it) reruns the matcher in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar
from uuid import UUID

import asyncpg
from cobuild_contracts import (
    NeedPublished,
    NeedWithdrawn,
    PartyKind,
    ResourceOffered,
    ResourceWithdrawn,
    Visibility,
    uuid7,
)
from cobuild_contracts.base import MAX_COUNT, MAX_FEN, MAX_QUANTITY, BusinessDate
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Invalid, NotFound
from cobuild_kit.service import UnitOfWork
from pydantic import BaseModel, ConfigDict, Field

from cobuild_agreements.domain.lists import ListRules
from cobuild_agreements.domain.matching import Suggestion
from cobuild_agreements.domain.privacy import FieldFinding, mask, scan_fields
from cobuild_agreements.settings import AgreementsRuntime
from cobuild_agreements.store import lists, matches, parties
from cobuild_agreements.usecases import access, matchmaking
from cobuild_agreements.usecases.reference import CategoryIn, ItemKindCode, VisibilityCode
from cobuild_agreements.usecases.rules import list_rules, now_and_today

E = TypeVar("E", NeedPublished, ResourceOffered)
W = TypeVar("W", NeedWithdrawn, ResourceWithdrawn)


# What a need says: the body of a revision, and one row of an import. (No docstring: it
# would change the OpenAPI schema.)
class NeedFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: CategoryIn
    kind: ItemKindCode
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    quantity_unit: str = Field(min_length=1, max_length=40)
    funds_fen: int = Field(default=0, ge=0, le=MAX_FEN)
    wanted_by: BusinessDate
    beneficiaries: int = Field(default=0, ge=0, le=MAX_COUNT)  # a head count, never names
    visibility: VisibilityCode = Visibility.PUBLIC


class NeedIn(NeedFields):
    community_id: UUID


# Withdrawing a need or a resource gives a reason.
class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


async def check_community(conn: asyncpg.Connection, community_id: UUID, field: str) -> None:
    """A community named in a body: 422 naming the field when it is not one."""
    party = await parties.get(conn, community_id)
    if party is None or party.kind is not PartyKind.COMMUNITY:
        raise Invalid(f"{community_id} is not a registered community", field=field)


async def require_community(conn: asyncpg.Connection, community_id: UUID) -> None:
    """A community named in the path: 404 when there is none (as for any path id)."""
    party = await parties.get(conn, community_id)
    if party is None or party.kind is not PartyKind.COMMUNITY:
        raise NotFound(f"community {community_id} is not registered")


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
) -> tuple[NeedPublished, list[FieldFinding]]:
    """Check the rules, store the version, emit need.published (matching is the caller's).

    The stored version keeps the text as typed, for the parties; the event carries it with
    personal data masked (domain.privacy), and the findings are returned, each naming its
    field (`prefix` + title or description), so that the answer warns the worker."""
    rules.need(fields.category, fields.wanted_by, prefix)
    stored = NeedPublished(
        need_id=need_id or uuid7(),
        community_id=community_id,
        version=version,
        published_at=now,
        **fields.model_dump(),
    )
    await lists.save_need(uow.conn, stored)
    event, found = masked_event(stored, prefix)
    await uow.emit(event)
    return event, found


def masked_event(event: E, prefix: str = "body.") -> tuple[E, list[FieldFinding]]:
    """The event with personal data in its title and description masked, and the findings."""
    masked, found = scan_fields({"title": event.title, "description": event.description}, prefix)
    return (event.model_copy(update=masked) if found else event), found


def masked_reason(event: W) -> W:
    """A withdrawal's reason as it leaves the service: personal data masked."""
    reason = mask(event.reason)
    return event if reason == event.reason else event.model_copy(update={"reason": reason})


async def publish(
    rt: AgreementsRuntime, actor: Actor, body: NeedIn
) -> tuple[asyncpg.Record, list[Suggestion], list[FieldFinding]]:
    """A new need (version 1), the resources that suit it, and the personal data found."""
    now, today = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        await access.may_publish_needs(uow.conn, actor, body.community_id)
        await check_community(uow.conn, body.community_id, "body.community_id")
        fields = NeedFields.model_validate(body.model_dump(exclude={"community_id"}))
        event, personal = await publish_need(uow, fields, body.community_id, list_rules(rt), now)
        found = await matchmaking.for_need(uow, event.need_id, today, now, rt.settings.match_top_n)
        row = await lists.get_need(uow.conn, event.need_id)
    return row, found, personal


async def revise(
    rt: AgreementsRuntime, actor: Actor, need_id: UUID, body: NeedFields
) -> tuple[asyncpg.Record, list[Suggestion], list[FieldFinding]]:
    """A new version (history kept), published with version + 1."""
    now, today = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        current = await lists.get_need(uow.conn, need_id, lock=True)
        await access.may_publish_needs(uow.conn, actor, current["community_id"])
        if current["status"] != "published":
            raise Conflict(
                f"need {need_id} is {current['status']}; only a published need is revised"
            )
        _, personal = await publish_need(
            uow,
            body,
            current["community_id"],
            list_rules(rt),
            now,
            need_id=need_id,
            version=current["version"] + 1,
        )
        found = await matchmaking.for_need(uow, need_id, today, now, rt.settings.match_top_n)
        row = await lists.get_need(uow.conn, need_id)
    return row, found, personal


async def withdraw(
    rt: AgreementsRuntime, actor: Actor, need_id: UUID, reason: str
) -> asyncpg.Record:
    now, _ = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        current = await lists.get_need(uow.conn, need_id, lock=True)
        await access.may_publish_needs(uow.conn, actor, current["community_id"])
        if current["status"] != "published":
            raise Conflict(
                f"need {need_id} is {current['status']}; only a published need is withdrawn"
            )
        event = NeedWithdrawn(
            need_id=need_id,
            community_id=current["community_id"],
            version=current["version"],
            reason=reason,
            withdrawn_at=now,
        )
        await lists.set_need_status(uow.conn, need_id, "withdrawn", now)
        await lists.record_need_version(
            uow.conn, need_id, event.version, event.EVENT_TYPE, event.model_dump(mode="json"), now
        )
        await uow.emit(masked_reason(event))
        return await lists.get_need(uow.conn, need_id)


async def show(
    rt: AgreementsRuntime, actor: Actor, need_id: UUID
) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    """The need and every version of it as published or withdrawn."""
    async with rt.pool.acquire() as conn:
        with access.hidden(f"need {need_id} does not exist", "path.need_id"):
            row = await lists.get_need(conn, need_id)
            await access.may_read_need(conn, actor, row)
        history = await lists.need_versions(conn, need_id)
    return row, history


async def of_community(
    rt: AgreementsRuntime,
    actor: Actor,
    community_id: UUID,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[asyncpg.Record], int]:
    async with rt.pool.acquire() as conn:
        await access.may_read_needs_of(conn, actor, community_id)
        return await lists.community_needs(
            conn, community_id, public_only=False, status=status, limit=limit, offset=offset
        )


async def matches_of(
    rt: AgreementsRuntime, actor: Actor, need_id: UUID, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """A page of the latest ranking of resources for the need, best first."""
    async with rt.pool.acquire() as conn:
        with access.hidden(f"need {need_id} does not exist", "path.need_id"):
            need = await lists.get_need(conn, need_id)
            await access.may_read_need(conn, actor, need)
        return await matches.for_need(conn, need_id, limit=limit, offset=offset)
