"""Needs lists: a community's admin publishes, revises, withdraws, imports and bulk-publishes
its needs."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, DEFAULT_PAGE, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse

from cobuild_agreements.http.answers import (
    BulkNeedOut,
    BulkNeedsOut,
    NeedDetail,
    NeedMatch,
    NeedOut,
    NeedPublishedOut,
    NeedsImported,
    PersonalDataWarning,
    ranked,
    warnings_of,
)
from cobuild_agreements.http.bulk import BulkRoute, bulk_refusal
from cobuild_agreements.http.uploads import read_upload
from cobuild_agreements.settings import RuntimeDep
from cobuild_agreements.usecases import bulk, imports, needs
from cobuild_agreements.usecases.bulk import BulkNeedsIn, BulkRejected
from cobuild_agreements.usecases.imports import ImportRejected
from cobuild_agreements.usecases.needs import NeedFields, NeedIn, WithdrawIn

router = APIRouter(tags=["needs"], responses=AUTHENTICATED)


@router.post("/needs", status_code=201)
async def publish(body: NeedIn, actor: ActorDep, rt: RuntimeDep) -> NeedPublishedOut:
    """A new need (version 1) and the resources that suit it. Phone and ID numbers in the
    title or description are kept as typed, shown masked on the public board and in events,
    and named in `warnings`."""
    row, found, personal = await needs.publish(rt, actor, body)
    return NeedPublishedOut.of(row, found, personal)


@router.put("/needs/{need_id}", responses=refusals(404, 409))
async def revise(
    need_id: UUID, body: NeedFields, actor: ActorDep, rt: RuntimeDep
) -> NeedPublishedOut:
    """A new version (history kept), published with version + 1."""
    row, found, personal = await needs.revise(rt, actor, need_id, body)
    return NeedPublishedOut.of(row, found, personal)


@router.post("/needs/{need_id}/withdraw", responses=refusals(404, 409))
async def withdraw(need_id: UUID, body: WithdrawIn, actor: ActorDep, rt: RuntimeDep) -> NeedOut:
    return NeedOut.model_validate(dict(await needs.withdraw(rt, actor, need_id, body.reason)))


@router.get("/needs/{need_id}", responses=refusals(404))
async def show(need_id: UUID, actor: ActorDep, rt: RuntimeDep) -> NeedDetail:
    """The need and every version of it; 404 also for a need the actor may not see."""
    row, history = await needs.show(rt, actor, need_id)
    return NeedDetail.of(row, history)


@router.get("/needs")
async def of_community(
    community_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    status: str | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[NeedOut]:
    """The community's needs, soonest wanted first; `status` picks published, withdrawn or
    claimed ones."""
    rows, total = await needs.of_community(rt, actor, community_id, status, limit, offset)
    items = [NeedOut.model_validate(dict(r)) for r in rows]
    return page_of(items, limit=limit, offset=offset, total=total)


@router.get("/needs/{need_id}/matches", responses=refusals(404))
async def need_matches(
    need_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[NeedMatch]:
    """The resources suggested for the need, best first (rank 1)."""
    rows, total = await needs.matches_of(rt, actor, need_id, limit, offset)
    return page_of(ranked(NeedMatch, rows, offset), limit=limit, offset=offset, total=total)


@router.post(
    "/communities/{community_id}/needs/import",
    status_code=201,
    response_model=NeedsImported,
    responses=refusals(404, 409, 413),
)
async def import_needs(
    community_id: UUID, actor: ActorDep, rt: RuntimeDep, file: Annotated[UploadFile, File()]
) -> NeedsImported | JSONResponse:
    """CSV or XLSX, one need a row, columns named as the fields of POST /needs. All rows or
    none: a file with a bad row is refused with 422, `error` "import_rejected" and `rows`,
    each `{row, field, message}`."""
    await imports.may_import_needs(rt, actor, community_id)  # authority first: parsing is not free
    rows = await read_upload(file, imports.NEED_COLUMNS, rt.settings.max_import_rows)
    try:
        published, personal = await imports.import_needs(rt, actor, community_id, rows)
    except ImportRejected as rejected:
        return JSONResponse(rejected.body(), status_code=422)
    return NeedsImported(
        imported=len(published),
        need_ids=[e.need_id for e in published],
        warnings=[PersonalDataWarning.of(f.finding, f.row) for f in personal],
    )


# --- bulk ------------------------------------------------------------------------------


bulk_router = APIRouter(tags=["needs"], responses=AUTHENTICATED, route_class=BulkRoute)


@bulk_router.post(
    "/communities/{community_id}/needs/bulk",
    status_code=201,
    response_model=BulkNeedsOut,
    responses=refusals(404, 409, 413),
)
async def publish_needs(
    community_id: UUID, body: BulkNeedsIn, actor: ActorDep, rt: RuntimeDep
) -> BulkNeedsOut | JSONResponse:
    """Publish up to 1,000 needs of the community at once, each as POST /needs would (without
    `community_id`), all or none. A refusal writes nothing and lists every refused item in
    `items`, each `{index, field, message}`: 422 for bad items, 409 when every refused item
    names a `need_id` that exists with other content. An item with a `need_id` of the
    client's own that was already published from the same item is answered as it stands."""
    try:
        done = await bulk.publish_needs(rt, actor, community_id, body.items)
    except BulkRejected as rejected:
        status = 409 if rejected.conflict else 422
        return bulk_refusal(rejected.refusals, len(body.items), status=status)
    return BulkNeedsOut(
        items=[
            BulkNeedOut(
                index=p.index,
                need_id=p.item_id,
                version=p.version,
                warnings=warnings_of(p.personal),
            )
            for p in done
        ]
    )
