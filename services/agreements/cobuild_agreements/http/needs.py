"""Needs lists: a community's admin publishes, revises, withdraws and imports its needs."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse

from cobuild_agreements.domain.matching import Suggestion
from cobuild_agreements.http.uploads import read_upload
from cobuild_agreements.usecases import imports, needs
from cobuild_agreements.usecases.imports import ImportRejected
from cobuild_agreements.usecases.needs import NeedFields, NeedIn, WithdrawIn
from cobuild_agreements.usecases.rules import settings

router = APIRouter(tags=["needs"])


def _suggestion(s: Suggestion) -> dict[str, Any]:
    return {
        "need_id": s.need_id,
        "resource_id": s.resource_id,
        "unit_id": s.unit_id,
        "score": s.score,
        "reasons": list(s.reasons),
    }


@router.post("/needs", status_code=201)
async def publish(body: NeedIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    row, found = await needs.publish(rt, actor, body)
    return {**dict(row), "matches": [_suggestion(s) for s in found]}


@router.put("/needs/{need_id}")
async def revise(
    need_id: UUID, body: NeedFields, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """A new version (history kept), published with version + 1."""
    row, found = await needs.revise(rt, actor, need_id, body)
    return {**dict(row), "matches": [_suggestion(s) for s in found]}


@router.post("/needs/{need_id}/withdraw")
async def withdraw(
    need_id: UUID, body: WithdrawIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    return dict(await needs.withdraw(rt, actor, need_id, body.reason))


@router.get("/needs/{need_id}")
async def show(need_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    row, history = await needs.show(rt, actor, need_id)
    return {**dict(row), "history": [dict(h) for h in history]}


@router.get("/needs")
async def of_community(
    community_id: UUID, actor: ActorDep, rt: RuntimeDep, status: str | None = None
) -> list[dict[str, Any]]:
    return [dict(r) for r in await needs.of_community(rt, actor, community_id, status)]


@router.get("/needs/{need_id}/matches")
async def need_matches(need_id: UUID, actor: ActorDep, rt: RuntimeDep) -> list[dict[str, Any]]:
    rows = await needs.matches_of(rt, actor, need_id)
    return [{"rank": n, **dict(r)} for n, r in enumerate(rows, start=1)]


@router.post(
    "/communities/{community_id}/needs/import",
    status_code=201,
    responses={422: {"description": "row report: nothing imported"}},
)
async def import_needs(
    community_id: UUID, actor: ActorDep, rt: RuntimeDep, file: Annotated[UploadFile, File()]
) -> Any:
    """CSV or XLSX, one need a row, columns named as the fields of POST /needs. All or none."""
    await imports.may_import_needs(rt, actor, community_id)  # authority first: parsing is not free
    rows = await read_upload(file, imports.NEED_COLUMNS, settings(rt).max_import_rows)
    try:
        published = await imports.import_needs(rt, actor, community_id, rows)
    except ImportRejected as rejected:
        return JSONResponse(rejected.body(), status_code=422)
    return {"imported": len(published), "need_ids": [e.need_id for e in published]}
