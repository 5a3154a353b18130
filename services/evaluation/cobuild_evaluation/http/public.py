"""The public board: one page per street and per community (no token, rate-limited)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from cobuild_kit.service import PublicRateLimit, RuntimeDep
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from cobuild_evaluation.http.board import render
from cobuild_evaluation.usecases.board import board
from cobuild_evaluation.usecases.scopes import ScopeKind

router = APIRouter(tags=["public"], dependencies=[PublicRateLimit])


@router.get("/public/streets/{street_id}", response_class=HTMLResponse)
async def street_page(
    street_id: UUID, rt: RuntimeDep, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> HTMLResponse:
    return HTMLResponse(render(await board(rt, ScopeKind.STREET, street_id, year)))


@router.get("/public/communities/{community_id}", response_class=HTMLResponse)
async def community_page(
    community_id: UUID, rt: RuntimeDep, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> HTMLResponse:
    return HTMLResponse(render(await board(rt, ScopeKind.COMMUNITY, community_id, year)))
