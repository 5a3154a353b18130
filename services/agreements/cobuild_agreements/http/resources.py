"""Resource lists: a unit's admin offers, revises and withdraws what the unit can give."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, DEFAULT_PAGE, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cobuild_agreements.http.answers import (
    PersonalDataWarning,
    ResourceDetail,
    ResourceMatch,
    ResourceOffer,
    ResourceOut,
    ranked,
    warnings_of,
)
from cobuild_agreements.http.bulk import OfferRoute, bulk_refusal
from cobuild_agreements.http.uploads import read_upload
from cobuild_agreements.settings import RuntimeDep
from cobuild_agreements.usecases import bulk_resources, imports, resources
from cobuild_agreements.usecases.bulk import BulkRejected
from cobuild_agreements.usecases.bulk_resources import BulkResourcesIn
from cobuild_agreements.usecases.imports import ImportRejected
from cobuild_agreements.usecases.needs import WithdrawIn
from cobuild_agreements.usecases.resources import ResourceFields, ResourceIn

router = APIRouter(tags=["resources"], responses=AUTHENTICATED)


@router.post("/resources", status_code=201)
async def offer(body: ResourceIn, actor: ActorDep, rt: RuntimeDep) -> ResourceOffer:
    """A new resource (version 1) and the needs it suits; `warnings` names personal data in
    its text (kept as typed, published masked)."""
    row, found, personal = await resources.offer(rt, actor, body)
    return ResourceOffer.of(row, found, personal)


@router.put("/resources/{resource_id}", responses=refusals(404, 409))
async def revise(
    resource_id: UUID, body: ResourceFields, actor: ActorDep, rt: RuntimeDep
) -> ResourceOffer:
    row, found, personal = await resources.revise(rt, actor, resource_id, body)
    return ResourceOffer.of(row, found, personal)


@router.post("/resources/{resource_id}/withdraw", responses=refusals(404, 409))
async def withdraw(
    resource_id: UUID, body: WithdrawIn, actor: ActorDep, rt: RuntimeDep
) -> ResourceOut:
    row = await resources.withdraw(rt, actor, resource_id, body.reason)
    return ResourceOut.model_validate(dict(row))


@router.get("/resources/{resource_id}", responses=refusals(404))
async def show(resource_id: UUID, actor: ActorDep, rt: RuntimeDep) -> ResourceDetail:
    """The resource and every version of it; 404 also for one the actor may not see."""
    row, history = await resources.show(rt, actor, resource_id)
    return ResourceDetail.of(row, history)


@router.get("/resources/{resource_id}/matches", responses=refusals(404))
async def resource_matches(
    resource_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[ResourceMatch]:
    """The needs suggested for the resource, best first (rank 1)."""
    rows, total = await resources.matches_of(rt, actor, resource_id, limit, offset)
    return page_of(ranked(ResourceMatch, rows, offset), limit=limit, offset=offset, total=total)


@router.get("/resources")
async def of_unit(
    unit_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    status: str | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[ResourceOut]:
    """The unit's resource list, soonest ending first; `status` picks offered or withdrawn
    ones. For the unit's admins, the supervisors above it, and community admins."""
    rows, total = await resources.of_unit(rt, actor, unit_id, status, limit, offset)
    items = [ResourceOut.model_validate(dict(r)) for r in rows]
    return page_of(items, limit=limit, offset=offset, total=total)


class ResourcesImported(BaseModel):
    imported: int
    resource_ids: list[UUID]
    warnings: list[PersonalDataWarning] = Field(
        description="personal data found in a row's text (`row`, `field`: the column); "
        "published masked"
    )


@router.post(
    "/units/{unit_id}/resources/import",
    status_code=201,
    response_model=ResourcesImported,
    responses=refusals(404, 409, 413),
)
async def import_resources(
    unit_id: UUID, actor: ActorDep, rt: RuntimeDep, file: Annotated[UploadFile, File()]
) -> ResourcesImported | JSONResponse:
    """CSV or XLSX, one resource a row, columns named as the fields of POST /resources
    (`community_ids` separated by commas). All rows or none: a file with a bad row is
    refused with 422, `error` "import_rejected" and `rows`, each `{row, field, message}`."""
    await imports.may_import_resources(rt, actor, unit_id)  # authority first: parsing is not free
    rows = await read_upload(file, imports.RESOURCE_COLUMNS, rt.settings.max_import_rows)
    try:
        offered, personal = await imports.import_resources(rt, actor, unit_id, rows)
    except ImportRejected as rejected:
        return JSONResponse(rejected.body(), status_code=422)
    return ResourcesImported(
        imported=len(offered),
        resource_ids=[e.resource_id for e in offered],
        warnings=[PersonalDataWarning.of(f.finding, f.row) for f in personal],
    )


# --- bulk ------------------------------------------------------------------------------


class BulkResourceOut(BaseModel):
    index: int = Field(description="the item's place in the request, from 0")
    resource_id: UUID
    version: int
    warnings: list[PersonalDataWarning] = Field(
        description="personal data found in the item's text (published masked)"
    )


class BulkResourcesOut(BaseModel):
    items: list[BulkResourceOut]


bulk_router = APIRouter(tags=["resources"], responses=AUTHENTICATED, route_class=OfferRoute)


@bulk_router.post(
    "/units/{unit_id}/resources/bulk",
    status_code=201,
    response_model=BulkResourcesOut,
    responses=refusals(404, 409, 413),
)
async def offer_resources(
    unit_id: UUID, body: BulkResourcesIn, actor: ActorDep, rt: RuntimeDep
) -> BulkResourcesOut | JSONResponse:
    """Offer up to 1,000 resources of the unit at once, each as POST /resources would (without
    `unit_id`), all or none. A refusal writes nothing and lists every refused item in `items`,
    each `{index, field, message}`: 422 for bad items, 409 when every refused item names a
    `resource_id` that exists with other content. An item with a `resource_id` of the
    client's own that was already offered from the same item is answered as it stands."""
    try:
        done = await bulk_resources.offer_resources(rt, actor, unit_id, body.items)
    except BulkRejected as rejected:
        status = 409 if rejected.conflict else 422
        return bulk_refusal(rejected.refusals, len(body.items), status=status, verb="offered")
    return BulkResourcesOut(
        items=[
            BulkResourceOut(
                index=p.index,
                resource_id=p.item_id,
                version=p.version,
                warnings=warnings_of(p.personal),
            )
            for p in done
        ]
    )
