"""The parties directory: register and update places and units, pair units, bulk import."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from cobuild_contracts import PartyKind
from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse

from cobuild_agreements.domain.directory import Party
from cobuild_agreements.http.uploads import read_upload
from cobuild_agreements.usecases import imports, parties
from cobuild_agreements.usecases.imports import ImportRejected
from cobuild_agreements.usecases.parties import PairingsIn, PartyIn, PartyPatch
from cobuild_agreements.usecases.rules import settings

router = APIRouter(tags=["parties"])


def _out(p: Party) -> dict[str, Any]:
    out = p.snapshot()
    out["kind"] = p.kind.value
    out["unit_type"] = p.unit_type.value if p.unit_type else None
    return out


@router.post("/parties", status_code=201)
async def register(body: PartyIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """Register a district (its own admin), or a street, community, grid or unit below you."""
    return _out(await parties.register(rt, actor, body))


@router.patch("/parties/{party_id}")
async def update(
    party_id: UUID, body: PartyPatch, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    return _out(await parties.update(rt, actor, party_id, body))


@router.put("/parties/{party_id}/pairings")
async def pair(party_id: UUID, body: PairingsIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """Set the communities a unit is paired with (结对); published as the unit's party.updated."""
    return _out(await parties.pair(rt, actor, party_id, body.community_ids))


@router.get("/parties/{party_id}")
async def show(party_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The directory is organisations and places only (no personal data): any signed-in actor."""
    return _out(await parties.show(rt, party_id))


@router.get("/parties")
async def listing(
    actor: ActorDep,
    rt: RuntimeDep,
    parent_id: UUID | None = None,
    kind: PartyKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    return [_out(p) for p in await parties.listing(rt, parent_id, kind, limit)]


@router.post("/parties/import", status_code=201, responses={422: {"description": "row report"}})
async def import_parties(
    actor: ActorDep, rt: RuntimeDep, file: Annotated[UploadFile, File()]
) -> Any:
    """CSV or XLSX with columns kind, name, code, parent (code or id), unit_type,
    paired_communities (codes or ids, `;`-separated). All rows or none."""
    imports.may_import_parties(actor)  # before the file is parsed: parsing is not free
    rows = await read_upload(file, imports.PARTY_COLUMNS, settings(rt).max_import_rows)
    try:
        imported = await imports.import_parties(rt, actor, rows)
    except ImportRejected as rejected:
        return JSONResponse(rejected.body(), status_code=422)
    return {"imported": len(imported), "parties": [_out(p) for p in imported]}
