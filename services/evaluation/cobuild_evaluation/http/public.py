"""The public board: one page per street and per community (no token, rate-limited)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from cobuild_kit.api import refusals
from cobuild_kit.service import PublicRateLimit
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from cobuild_evaluation.http.board import render
from cobuild_evaluation.settings import RuntimeDep
from cobuild_evaluation.usecases.board import board
from cobuild_evaluation.usecases.scopes import ScopeKind


def _json_refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    # The pages are HTML, so FastAPI would file a refusal's model under text/html; a
    # refusal is the kit's JSON body, and says so.
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    return {
        status: {
            "description": answer["description"],
            "content": {"application/json": {"schema": ref}},
        }
        for status, answer in refusals(*statuses).items()
    }


# No token; 429 when a client asks too often.
router = APIRouter(tags=["public"], dependencies=[PublicRateLimit])
PAGE: dict[int | str, dict[str, Any]] = {
    200: {"description": "the board's HTML page", "content": {"text/html": {}}},
    **_json_refusals(404, 422, 429),
}


@router.get("/public/streets/{street_id}", response_class=HTMLResponse, responses=PAGE)
async def street_page(
    street_id: UUID, rt: RuntimeDep, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> HTMLResponse:
    return HTMLResponse(render(await board(rt, ScopeKind.STREET, street_id, year)))


@router.get("/public/communities/{community_id}", response_class=HTMLResponse, responses=PAGE)
async def community_page(
    community_id: UUID, rt: RuntimeDep, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> HTMLResponse:
    return HTMLResponse(render(await board(rt, ScopeKind.COMMUNITY, community_id, year)))
