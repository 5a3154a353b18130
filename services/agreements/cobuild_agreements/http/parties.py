"""The parties directory: register and update places and units, pair units, bulk import."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, DEFAULT_PAGE, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse

from cobuild_agreements.http.answers import PartiesImported, PartyOut, PartyVersionOut
from cobuild_agreements.http.uploads import read_upload
from cobuild_agreements.settings import RuntimeDep
from cobuild_agreements.usecases import imports, parties
from cobuild_agreements.usecases.imports import ImportRejected
from cobuild_agreements.usecases.parties import PairingsIn, PartyIn, PartyPatch
from cobuild_agreements.usecases.reference import PartyKindCode

router = APIRouter(tags=["parties"], responses=AUTHENTICATED)


@router.post("/parties", status_code=201, responses=refusals(409))
async def register(body: PartyIn, actor: ActorDep, rt: RuntimeDep) -> PartyOut:
    """Register a district (its own admin), or a street, community, grid or unit below you."""
    return PartyOut.of(await parties.register(rt, actor, body))


@router.patch("/parties/{party_id}", responses=refusals(404, 409))
async def update(party_id: UUID, body: PartyPatch, actor: ActorDep, rt: RuntimeDep) -> PartyOut:
    return PartyOut.of(await parties.update(rt, actor, party_id, body))


@router.put("/parties/{party_id}/pairings", responses=refusals(404, 409))
async def pair(party_id: UUID, body: PairingsIn, actor: ActorDep, rt: RuntimeDep) -> PartyOut:
    """Set the communities a unit is paired with (结对); published as the unit's party.updated."""
    return PartyOut.of(await parties.pair(rt, actor, party_id, body.community_ids))


@router.get("/parties/{party_id}", responses=refusals(404))
async def show(party_id: UUID, actor: ActorDep, rt: RuntimeDep) -> PartyOut:
    """The directory is organisations and places only (no personal data): any signed-in actor."""
    return PartyOut.of(await parties.show(rt, party_id))


@router.get("/parties/{party_id}/history", responses=refusals(404))
async def history(
    party_id: UUID, actor: ActorDep, rt: RuntimeDep, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> Page[PartyVersionOut]:
    """Every saved version of the party, newest first, with who saved it and when. For those
    who may change it (as PATCH /parties/{party_id}): 403 for others."""
    found, total = await parties.history(rt, actor, party_id, limit, offset)
    versions = [
        PartyVersionOut.model_validate({**p.snapshot(), "changed_by": by, "changed_at": at})
        for p, by, at in found
    ]
    return page_of(versions, limit=limit, offset=offset, total=total)


@router.get("/parties")
async def listing(
    actor: ActorDep,
    rt: RuntimeDep,
    parent_id: UUID | None = None,
    kind: PartyKindCode | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[PartyOut]:
    """Parties by kind, then name; optionally those under one parent, or of one kind."""
    found, total = await parties.listing(rt, parent_id, kind, limit, offset)
    return page_of([PartyOut.of(p) for p in found], limit=limit, offset=offset, total=total)


@router.post(
    "/parties/import",
    status_code=201,
    response_model=PartiesImported,
    responses=refusals(413),
)
async def import_parties(
    actor: ActorDep, rt: RuntimeDep, file: Annotated[UploadFile, File()]
) -> PartiesImported | JSONResponse:
    """CSV or XLSX with columns kind, name, code, parent (code or id), unit_type,
    paired_communities (codes or ids, `;`-separated). All rows or none: a file with a bad row
    is refused with 422, `error` "import_rejected" and `rows`, each `{row, field, message}`."""
    imports.may_import_parties(actor)  # before the file is parsed: parsing is not free
    rows = await read_upload(file, imports.PARTY_COLUMNS, rt.settings.max_import_rows)
    try:
        imported = await imports.import_parties(rt, actor, rows)
    except ImportRejected as rejected:
        return JSONResponse(rejected.body(), status_code=422)
    return PartiesImported(imported=len(imported), parties=[PartyOut.of(p) for p in imported])
