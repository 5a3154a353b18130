"""The parties directory: register and update places and units, pair units with communities.

Every change is stored, mirrored in the kit's `party_directory` read model (which authorisation
reads) and published as the party's full snapshot, in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from cobuild_contracts import PartyKind, PartyRegistered, PartyUpdated, UnitType, uuid7
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Invalid, NotFound
from cobuild_kit.parties import apply_party
from cobuild_kit.service import UnitOfWork
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from cobuild_agreements.domain.directory import (
    Party,
    check_parent,
    may_change,
    may_pair,
    may_register,
)
from cobuild_agreements.settings import AgreementsRuntime
from cobuild_agreements.store import parties
from cobuild_agreements.usecases.reference import PartyKindCode, UnitTypeCode

Name = Annotated[str, Field(min_length=1, max_length=200)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
FieldName = parties.FieldName
body_field = parties.body_field


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party_id: UUID | None = None  # required to bootstrap a district (the admin's own id)
    kind: PartyKindCode
    name: Name
    parent_id: UUID | None = None
    unit_type: UnitTypeCode | None = None
    code: Code | None = None
    paired_community_ids: list[UUID] = Field(default_factory=list, max_length=500)


class PartyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    code: Code | None = None
    unit_type: UnitTypeCode | None = None
    active: StrictBool | None = None  # JSON true or false: 0, 1 or "yes" are refused


class PairingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    community_ids: list[UUID] = Field(max_length=500)


async def _save(
    uow: UnitOfWork, actor: Actor, party: Party, now: datetime, field: FieldName = body_field
) -> None:
    """Store the party and this version in its history, mirror it in the directory, emit its
    snapshot (registered at version 1)."""
    await parties.save(uow.conn, party, now, field)
    await parties.record_version(uow.conn, party, now, actor.subject)
    cls = PartyRegistered if party.version == 1 else PartyUpdated
    fields = party.snapshot()
    fields.pop("code")
    event = cls(**fields, code=party.code)
    await apply_party(uow.conn, event)
    await uow.emit(event)


async def register_in(
    uow: UnitOfWork, actor: Actor, spec: PartyIn, now: datetime, field: FieldName = body_field
) -> Party:
    """Register one party in the caller's transaction (the import registers a file's rows)."""
    conn = uow.conn
    parent = await parties.get(conn, spec.parent_id) if spec.parent_id else None
    if spec.parent_id and parent is None:
        raise Invalid(f"parent {spec.parent_id} is not registered", field=field("parent_id"))
    check_parent(spec.kind, parent.kind if parent else None, field("parent_id"))
    above = [p.party_id for p in await parties.lineage(conn, parent.party_id)] if parent else []
    may_register(actor, spec.kind, spec.party_id, above)
    party_id = spec.party_id or uuid7()
    if await parties.get(conn, party_id):
        raise Conflict(f"party {party_id} is already registered", field=field("party_id"))
    await _check_details(uow, spec.kind, spec.unit_type, spec.code, None, field)
    await _check_pairings(uow, actor, spec.kind, spec.paired_community_ids, field)
    party = Party(
        party_id=party_id,
        kind=spec.kind,
        name=spec.name,
        parent_id=spec.parent_id,
        unit_type=spec.unit_type,
        code=spec.code,
        paired_community_ids=tuple(spec.paired_community_ids),
        active=True,
        version=1,
    )
    await _save(uow, actor, party, now, field)
    return party


async def _check_details(
    uow: UnitOfWork,
    kind: PartyKind,
    unit_type: UnitType | None,
    code: str | None,
    party_id: UUID | None,
    field: FieldName,
) -> None:
    if kind is PartyKind.UNIT and unit_type is None:
        raise Invalid("a unit needs a unit_type", field=field("unit_type"))
    if kind is not PartyKind.UNIT and unit_type is not None:
        raise Invalid("only a unit has a unit_type", field=field("unit_type"))
    if code and await parties.code_taken(uow.conn, code, party_id):
        raise Invalid(f"code {code!r} is already used by another party", field=field("code"))


async def _check_pairings(
    uow: UnitOfWork,
    actor: Actor,
    kind: PartyKind,
    community_ids: list[UUID],
    field: FieldName,
    *,
    name: str | None = None,
    already: tuple[UUID, ...] = (),
) -> None:
    """Registered communities, each once; a community not `already` paired takes the actor's
    authority over it (403 naming it). Dropping a pairing takes the unit's authority only."""
    name = name or field("paired_community_ids")
    if community_ids and kind is not PartyKind.UNIT:
        raise Invalid("only a unit is paired with communities", field=name)
    if len(set(community_ids)) != len(community_ids):
        raise Invalid("a community is listed twice", field=name)
    for n, cid in enumerate(community_ids):
        party = await parties.get(uow.conn, cid)
        if party is None or party.kind is not PartyKind.COMMUNITY:
            raise Invalid(f"{cid} is not a registered community", field=f"{name}.{n}")
        if cid not in already:
            above = await parties.lineage(uow.conn, party.parent_id) if party.parent_id else []
            may_pair(actor, cid, [p.party_id for p in above], f"{name}.{n}")


async def _authority_over(uow: UnitOfWork, actor: Actor, party: Party) -> None:
    above = (
        [p.party_id for p in await parties.lineage(uow.conn, party.parent_id)]
        if party.parent_id
        else []
    )
    may_change(actor, party.kind, party.party_id, above)


async def register(rt: AgreementsRuntime, actor: Actor, body: PartyIn) -> Party:
    """A district (its own admin), or a street, community, grid or unit below the actor."""
    async with rt.unit_of_work() as uow:
        return await register_in(uow, actor, body, rt.clock.now())


async def update(rt: AgreementsRuntime, actor: Actor, party_id: UUID, body: PartyPatch) -> Party:
    async with rt.unit_of_work() as uow:
        current = await parties.require(uow.conn, party_id, lock=True)
        await _authority_over(uow, actor, current)
        unit_type = body.unit_type if body.unit_type is not None else current.unit_type
        code = body.code if body.code is not None else current.code
        await _check_details(uow, current.kind, unit_type, code, party_id, body_field)
        changed = Party(
            **{
                **current.__dict__,
                "name": body.name or current.name,
                "unit_type": unit_type,
                "code": code,
                "active": current.active if body.active is None else body.active,
                "version": current.version + 1,
            }
        )
        await _save(uow, actor, changed, rt.clock.now())
    return changed


async def pair(
    rt: AgreementsRuntime, actor: Actor, party_id: UUID, community_ids: list[UUID]
) -> Party:
    """Set the communities a unit is paired with (结对); published as the unit's party.updated."""
    async with rt.unit_of_work() as uow:
        unit = await parties.require(uow.conn, party_id, lock=True)
        await _authority_over(uow, actor, unit)
        if unit.kind is not PartyKind.UNIT:
            raise Invalid(
                f"{party_id} is a {unit.kind.value}; only units are paired", field="path.party_id"
            )
        await _check_pairings(
            uow,
            actor,
            unit.kind,
            community_ids,
            body_field,
            name="body.community_ids",
            already=unit.paired_community_ids,
        )
        changed = Party(
            **{
                **unit.__dict__,
                "paired_community_ids": tuple(community_ids),
                "version": unit.version + 1,
            }
        )
        await _save(uow, actor, changed, rt.clock.now())
    return changed


async def history(
    rt: AgreementsRuntime, actor: Actor, party_id: UUID, limit: int, offset: int
) -> tuple[list[tuple[Party, str | None, datetime]], int]:
    """Every version of the party, newest first, with who saved it and when: for those who
    may change it (its district's admins; a street's admins for its communities and grids)."""
    async with rt.unit_of_work() as uow:
        current = await parties.require(uow.conn, party_id, field="path.party_id")
        await _authority_over(uow, actor, current)
        return await parties.history(uow.conn, party_id, limit=limit, offset=offset)


async def show(rt: AgreementsRuntime, party_id: UUID) -> Party:
    """The directory is organisations and places only (no personal data): any signed-in actor."""
    async with rt.pool.acquire() as conn:
        party = await parties.get(conn, party_id)
    if party is None:
        raise NotFound(f"party {party_id} is not registered")
    return party


async def listing(
    rt: AgreementsRuntime, parent_id: UUID | None, kind: PartyKind | None, limit: int, offset: int
) -> tuple[list[Party], int]:
    async with rt.pool.acquire() as conn:
        return await parties.listing(
            conn, parent_id=parent_id, kind=kind, limit=limit, offset=offset
        )
