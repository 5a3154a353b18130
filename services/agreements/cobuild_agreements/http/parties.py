"""The parties directory: register and update places and units, pair units, bulk import."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from cobuild_contracts import PartyKind, Role, UnitType, uuid7
from cobuild_kit.auth import Actor
from cobuild_kit.errors import CobuildError, Conflict, Forbidden, Invalid, NotFound
from cobuild_kit.service import ActorDep, RuntimeDep, UnitOfWork
from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cobuild_agreements.domain.directory import check_parent, may_change, may_register
from cobuild_agreements.http.common import settings
from cobuild_agreements.store import parties
from cobuild_agreements.store.parties import Party
from cobuild_agreements.tabular import ImportRejected, RowError, read_table, row_errors

router = APIRouter(tags=["parties"])
Name = Annotated[str, Field(min_length=1, max_length=200)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Field_ = Callable[[str], str]


def _body(name: str) -> str:
    return f"body.{name}"


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party_id: UUID | None = None  # required to bootstrap a district (the admin's own id)
    kind: PartyKind
    name: Name
    parent_id: UUID | None = None
    unit_type: UnitType | None = None
    code: Code | None = None
    paired_community_ids: list[UUID] = Field(default_factory=list, max_length=500)


class PartyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    code: Code | None = None
    unit_type: UnitType | None = None
    active: bool | None = None


class PairingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    community_ids: list[UUID] = Field(max_length=500)


async def _register(
    uow: UnitOfWork, actor: Actor, spec: PartyIn, now: datetime, field: Field_ = _body
) -> Party:
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
    await _check_pairings(uow, spec.kind, spec.paired_community_ids, field)
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
    await parties.save(uow, party, now)
    return party


async def _check_details(
    uow: UnitOfWork,
    kind: PartyKind,
    unit_type: UnitType | None,
    code: str | None,
    party_id: UUID | None,
    field: Field_,
) -> None:
    if kind is PartyKind.UNIT and unit_type is None:
        raise Invalid("a unit needs a unit_type", field=field("unit_type"))
    if kind is not PartyKind.UNIT and unit_type is not None:
        raise Invalid("only a unit has a unit_type", field=field("unit_type"))
    if code and await parties.code_taken(uow.conn, code, party_id):
        raise Invalid(f"code {code!r} is already used by another party", field=field("code"))


async def _check_pairings(
    uow: UnitOfWork, kind: PartyKind, community_ids: list[UUID], field: Field_
) -> None:
    name = field("paired_community_ids")
    if community_ids and kind is not PartyKind.UNIT:
        raise Invalid("only a unit is paired with communities", field=name)
    if len(set(community_ids)) != len(community_ids):
        raise Invalid("a community is listed twice", field=name)
    for n, cid in enumerate(community_ids):
        party = await parties.get(uow.conn, cid)
        if party is None or party.kind is not PartyKind.COMMUNITY:
            raise Invalid(f"{cid} is not a registered community", field=f"{name}.{n}")


async def _authority_over(uow: UnitOfWork, actor: Actor, party: Party) -> None:
    above = (
        [p.party_id for p in await parties.lineage(uow.conn, party.parent_id)]
        if party.parent_id
        else []
    )
    may_change(actor, party.kind, party.party_id, above)


@router.post("/parties", status_code=201)
async def register(body: PartyIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """Register a district (its own admin), or a street, community, grid or unit below you."""
    async with rt.unit_of_work() as uow:
        party = await _register(uow, actor, body, rt.clock.now())
    return party.public()


@router.patch("/parties/{party_id}")
async def update(
    party_id: UUID, body: PartyPatch, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    async with rt.unit_of_work() as uow:
        current = await parties.require(uow.conn, party_id, lock=True)
        await _authority_over(uow, actor, current)
        unit_type = body.unit_type if body.unit_type is not None else current.unit_type
        code = body.code if body.code is not None else current.code
        await _check_details(uow, current.kind, unit_type, code, party_id, _body)
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
        await parties.save(uow, changed, rt.clock.now())
    return changed.public()


@router.put("/parties/{party_id}/pairings")
async def pair(party_id: UUID, body: PairingsIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """Set the communities a unit is paired with (结对); published as the unit's party.updated."""
    async with rt.unit_of_work() as uow:
        unit = await parties.require(uow.conn, party_id, lock=True)
        await _authority_over(uow, actor, unit)
        if unit.kind is not PartyKind.UNIT:
            raise Invalid(
                f"{party_id} is a {unit.kind.value}; only units are paired", field="path.party_id"
            )
        await _check_pairings(uow, unit.kind, body.community_ids, _body)
        changed = Party(
            **{
                **unit.__dict__,
                "paired_community_ids": tuple(body.community_ids),
                "version": unit.version + 1,
            }
        )
        await parties.save(uow, changed, rt.clock.now())
    return changed.public()


@router.get("/parties/{party_id}")
async def show(party_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The directory is organisations and places only (no personal data): any signed-in actor."""
    async with rt.pool.acquire() as conn:
        party = await parties.get(conn, party_id)
    if party is None:
        raise NotFound(f"party {party_id} is not registered")
    return party.public()


@router.get("/parties")
async def listing(
    actor: ActorDep,
    rt: RuntimeDep,
    parent_id: UUID | None = None,
    kind: PartyKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        found = await parties.listing(conn, parent_id=parent_id, kind=kind, limit=limit)
    return [p.public() for p in found]


# --- bulk import -----------------------------------------------------------------------

_UUID_RE = re.compile(r"^[0-9a-fA-F-]{36}$")
_REGISTRARS = frozenset({Role.DISTRICT_ADMIN, Role.STREET_ADMIN})  # the roles may_register lets in


def _column(name: str) -> str:
    return {"parent_id": "parent", "paired_community_ids": "paired_communities"}.get(name, name)


async def _resolve(uow: UnitOfWork, ref: str, column: str) -> UUID:
    """A party named by id or by code (earlier rows of the same file are already in place)."""
    if _UUID_RE.match(ref):
        return UUID(ref)
    party = await parties.by_code(uow.conn, ref)
    if party is None:
        raise Invalid(f"no party has code {ref!r}", field=column)
    return party.party_id


async def _row_spec(uow: UnitOfWork, cells: dict[str, str]) -> PartyIn:
    data: dict[str, Any] = {
        k: v
        for k, v in cells.items()
        if v and k in {"party_id", "kind", "name", "unit_type", "code"}
    }
    if cells.get("parent"):
        data["parent_id"] = await _resolve(uow, cells["parent"], "parent")
    refs = [r.strip() for r in re.split(r"[;,]", cells.get("paired_communities", "")) if r.strip()]
    data["paired_community_ids"] = [await _resolve(uow, r, "paired_communities") for r in refs]
    return PartyIn.model_validate(data)


@router.post("/parties/import", status_code=201, responses={422: {"description": "row report"}})
async def import_parties(
    actor: ActorDep, rt: RuntimeDep, file: Annotated[UploadFile, File()]
) -> Any:
    """CSV or XLSX with columns kind, name, code, parent (code or id), unit_type,
    paired_communities (codes or ids, `;`-separated). All rows or none."""
    if actor.role not in _REGISTRARS:  # before the file is parsed: parsing is not free
        raise Forbidden(f"{actor.role.value} may not register parties")
    data = await file.read()
    rows = await asyncio.to_thread(read_table, data, ("kind", "name"), settings(rt).max_import_rows)
    errors: list[RowError] = []
    imported: list[Party] = []
    try:
        now = rt.clock.now()
        async with rt.unit_of_work() as uow:
            for number, cells in rows:
                try:
                    async with uow.conn.transaction():  # a savepoint: a bad row leaves no trace
                        spec = await _row_spec(uow, cells)
                        imported.append(await _register(uow, actor, spec, now, _column))
                except (ValidationError, CobuildError) as exc:
                    errors.extend(
                        RowError(e.row, _column(e.field), e.message)
                        for e in row_errors(number, exc)
                    )
            if errors:
                raise ImportRejected(errors)
    except ImportRejected as rejected:
        return JSONResponse(rejected.body(), status_code=422)
    return {"imported": len(imported), "parties": [p.public() for p in imported]}
