"""Resource lists: a unit's admin offers, revises and withdraws what the unit can give.

Offering a resource (or a new version of it) reruns the matcher in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_contracts import PartyKind, ResourceOffered, ResourceWithdrawn, uuid7
from cobuild_contracts.base import MAX_FEN, MAX_QUANTITY, BusinessDate
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Invalid
from cobuild_kit.service import UnitOfWork
from pydantic import BaseModel, ConfigDict, Field

from cobuild_agreements.domain.lists import ListRules
from cobuild_agreements.domain.matching import Suggestion
from cobuild_agreements.domain.privacy import FieldFinding
from cobuild_agreements.settings import AgreementsRuntime
from cobuild_agreements.store import lists, matches, parties
from cobuild_agreements.usecases import access, matchmaking
from cobuild_agreements.usecases.needs import masked_event, masked_reason
from cobuild_agreements.usecases.reference import CategoryIn, ItemKindCode
from cobuild_agreements.usecases.rules import list_rules, now_and_today


# What a resource says: the body of a revision.
class ResourceFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: CategoryIn
    kind: ItemKindCode
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


async def offer_in(
    uow: UnitOfWork,
    fields: ResourceFields,
    unit_id: UUID,
    rules: ListRules,
    now: datetime,
    *,
    resource_id: UUID | None = None,
    version: int = 1,
    prefix: str = "body.",
) -> tuple[ResourceOffered, list[FieldFinding]]:
    """Check the rules, store the version, emit resource.offered (matching is the caller's);
    the event carries the text with personal data masked, as publish_need's does. Refusals
    and findings name their field as `prefix` + its name (a bulk item's: body.items.3.)."""
    rules.resource(fields.category, fields.available_from, fields.available_until, prefix)
    for n, cid in enumerate(fields.community_ids):
        party = await parties.get(uow.conn, cid)
        if party is None or party.kind is not PartyKind.COMMUNITY:
            raise Invalid(
                f"{cid} is not a registered community", field=f"{prefix}community_ids.{n}"
            )
    stored = ResourceOffered(
        resource_id=resource_id or uuid7(),
        unit_id=unit_id,
        version=version,
        offered_at=now,
        **fields.model_dump(),
    )
    await lists.save_resource(uow.conn, stored)
    event, found = masked_event(stored, prefix)
    await uow.emit(event)
    return event, found


async def offer(
    rt: AgreementsRuntime, actor: Actor, body: ResourceIn
) -> tuple[asyncpg.Record, list[Suggestion], list[FieldFinding]]:
    """A new resource (version 1), the needs it suits, and the personal data found."""
    now, today = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        await access.may_offer(uow.conn, actor, body.unit_id)
        unit = await parties.get(uow.conn, body.unit_id)
        if unit is None or unit.kind is not PartyKind.UNIT:
            raise Invalid(f"{body.unit_id} is not a registered unit", field="body.unit_id")
        fields = ResourceFields.model_validate(body.model_dump(exclude={"unit_id"}))
        event, personal = await offer_in(uow, fields, body.unit_id, list_rules(rt), now)
        found = await matchmaking.for_resource(
            uow, event.resource_id, today, now, rt.settings.match_top_n
        )
        row = await lists.get_resource(uow.conn, event.resource_id)
    return row, found, personal


async def revise(
    rt: AgreementsRuntime, actor: Actor, resource_id: UUID, body: ResourceFields
) -> tuple[asyncpg.Record, list[Suggestion], list[FieldFinding]]:
    """A new version (history kept), offered with version + 1."""
    now, today = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        current = await lists.get_resource(uow.conn, resource_id, lock=True)
        await access.may_offer(uow.conn, actor, current["unit_id"])
        if current["status"] != "offered":
            raise Conflict(f"resource {resource_id} is {current['status']}; it cannot be revised")
        _, personal = await offer_in(
            uow,
            body,
            current["unit_id"],
            list_rules(rt),
            now,
            resource_id=resource_id,
            version=current["version"] + 1,
        )
        found = await matchmaking.for_resource(
            uow, resource_id, today, now, rt.settings.match_top_n
        )
        row = await lists.get_resource(uow.conn, resource_id)
    return row, found, personal


async def withdraw(
    rt: AgreementsRuntime, actor: Actor, resource_id: UUID, reason: str
) -> asyncpg.Record:
    now, _ = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        current = await lists.get_resource(uow.conn, resource_id, lock=True)
        await access.may_offer(uow.conn, actor, current["unit_id"])
        if current["status"] != "offered":
            raise Conflict(f"resource {resource_id} is {current['status']}; it cannot be withdrawn")
        event = ResourceWithdrawn(
            resource_id=resource_id,
            unit_id=current["unit_id"],
            version=current["version"],
            reason=reason,
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
        await uow.emit(masked_reason(event))
        return await lists.get_resource(uow.conn, resource_id)


async def show(
    rt: AgreementsRuntime, actor: Actor, resource_id: UUID
) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    """The resource and every version of it as offered or withdrawn."""
    async with rt.pool.acquire() as conn:
        with access.hidden(f"resource {resource_id} does not exist", "path.resource_id"):
            row = await lists.get_resource(conn, resource_id)
            await access.may_read_resources_of(conn, actor, row["unit_id"])
        history = await lists.resource_versions(conn, resource_id)
    return row, history


async def matches_of(
    rt: AgreementsRuntime, actor: Actor, resource_id: UUID, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """A page of the latest ranking of needs for the resource, best first."""
    async with rt.pool.acquire() as conn:
        with access.hidden(f"resource {resource_id} does not exist", "path.resource_id"):
            row = await lists.get_resource(conn, resource_id)
            await access.may_read_resources_of(conn, actor, row["unit_id"])
            access.may_read_resource_matches(actor)
        return await matches.for_resource(conn, resource_id, limit=limit, offset=offset)


async def of_unit(
    rt: AgreementsRuntime,
    actor: Actor,
    unit_id: UUID,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[asyncpg.Record], int]:
    """The unit's resource list, soonest ending first; `status` offered or withdrawn."""
    async with rt.pool.acquire() as conn:
        await access.may_read_resources_of(conn, actor, unit_id)
        return await lists.unit_resources(conn, unit_id, status=status, limit=limit, offset=offset)
