"""The public board: one page per street and per community (no token, rate-limited).

The same address answers JSON to a client that asks for it (`Accept: application/json`):
the board with names, which the console's public pages (/board/...) show. HTML stays the
default, so a browser pointed here still reads a page: the console's, when the setting
`board_url` names it (a link printed before it existed keeps working), else this one."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from cobuild_contracts import Grade
from cobuild_kit.api import refusals
from cobuild_kit.service import PublicRateLimit
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from cobuild_evaluation.http.board import render
from cobuild_evaluation.http.models import Figures, Score
from cobuild_evaluation.settings import EvaluationRuntime, RuntimeDep
from cobuild_evaluation.usecases.board import Board, board
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


class BoardPlace(BaseModel):
    kind: Literal["district", "street"]
    id: UUID
    name: str


class BoardChild(BaseModel):
    """A street's community, or a community's unit (its agreements with the community summed:
    the units' figures sum to the community's)."""

    id: UUID
    name: str
    agreements: int | None = Field(None, description="a unit's agreements with the community")
    figures: Figures


class BoardAgreement(BaseModel):
    agreement_id: UUID
    community_id: UUID
    community: str
    unit_id: UUID
    unit: str
    commitments: int
    term_start: date
    term_end: date


class HonouredUnit(BaseModel):
    unit_id: UUID
    name: str
    score: Score
    grade: Grade


class MemberRoll(BaseModel):
    """A community whose member honour roll the points service serves for the board's year
    (GET /public/communities/{id}/honour-roll?year= there, names masked)."""

    id: UUID
    name: str


class PublicBoard(BaseModel):
    """A street's or a community's board, with names; no personal data."""

    kind: Literal["street", "community"]
    id: UUID
    name: str
    parent: BoardPlace | None = Field(description="a community's street, a street's district")
    as_of: date = Field(description="today's business date: the figures are as of its end")
    figures: Figures
    children: list[BoardChild] = Field(
        description="a street's communities; a community's units, by name"
    )
    agreements: list[BoardAgreement] = Field(description="signed, in signing order")
    year: int | None = Field(description="the year of the honour rolls; null: none published")
    state: Literal["publicised", "final"] | None = Field(
        description="the year's publication: 公示中 (objections open) or final (已定档)"
    )
    objection_deadline: date | None = Field(description="while publicised: the last day")
    honour_units: list[HonouredUnit] = Field(description="the policy's honoured units, by rank")
    member_rolls: list[MemberRoll] = Field(
        description="empty when the year's policy keeps no member honour roll"
    )


def _public(b: Board) -> dict[str, Any]:
    return PublicBoard(
        kind=b.kind,
        id=UUID(b.id),
        name=b.name,
        parent=BoardPlace.model_validate(b.parent) if b.parent else None,
        as_of=date.fromisoformat(b.as_of),
        figures=Figures.model_validate(b.figures),
        children=[BoardChild.model_validate(c) for c in b.children],
        agreements=[BoardAgreement.model_validate(a) for a in b.agreements],
        year=b.year,
        state=b.state,
        objection_deadline=date.fromisoformat(b.objection_deadline)
        if b.objection_deadline
        else None,
        honour_units=[HonouredUnit.model_validate(u) for u in b.honour_units],
        member_rolls=[MemberRoll.model_validate(r) for r in b.member_rolls],
    ).model_dump(mode="json")


def _wants_json(request: Request) -> bool:
    """JSON only when asked for before HTML (a browser's Accept names text/html first)."""
    accept = request.headers.get("accept", "")
    kinds = [part.split(";")[0].strip() for part in accept.split(",")]
    return "application/json" in kinds and (
        "text/html" not in kinds or kinds.index("application/json") < kinds.index("text/html")
    )


def _answer(request: Request, rt: EvaluationRuntime, b: Board) -> Response:
    if _wants_json(request):
        return JSONResponse(_public(b), headers={"vary": "accept"})
    if rt.settings.board_url:  # the console's page, with names and a large-type mode
        query = f"?{request.url.query}" if request.url.query else ""
        where = {"street": "streets", "community": "communities"}[b.kind]
        target = f"{rt.settings.board_url.rstrip('/')}/board/{where}/{b.id}{query}"
        return RedirectResponse(target, status_code=307, headers={"vary": "accept"})
    return HTMLResponse(render(b), headers={"vary": "accept"})


# No token; 429 when a client asks too often.
router = APIRouter(tags=["public"], dependencies=[PublicRateLimit])
PAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the board's HTML page; with `Accept: application/json`, its JSON",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    **_json_refusals(404, 422, 429),
}


@router.get("/public/streets/{street_id}", response_model=PublicBoard, responses=PAGE)
async def street_page(
    request: Request,
    street_id: UUID,
    rt: RuntimeDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    """A street's board: its rates and its communities', the signed agreements, the honour
    roll of units of `year` (default: this year, or the latest published before it)."""
    return _answer(request, rt, await board(rt, ScopeKind.STREET, street_id, year))


@router.get("/public/communities/{community_id}", response_model=PublicBoard, responses=PAGE)
async def community_page(
    request: Request,
    community_id: UUID,
    rt: RuntimeDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    """A community's board: its rates and its units', the signed agreements, the honour roll
    of units of `year` (default: this year, or the latest published before it)."""
    return _answer(request, rt, await board(rt, ScopeKind.COMMUNITY, community_id, year))
