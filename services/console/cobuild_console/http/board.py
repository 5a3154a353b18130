"""The public board (上墙公示), for residents on a phone, with no account: /board/streets/{id}
and /board/communities/{id} (the rates with the drill-down by name, a chart with the same
figures in a table beside it, the signed agreements, the year's assessment with its 公示
state and the honour roll of units), and /board/communities/{id}/honour-roll (the member
honour roll, names masked as the points service serves them). Every link is a path of this
site, so the pages work on any host and port.

For older readers (the MIIT 适老化 rules): no pop-ups, a large-type and a high-contrast mode
kept in a cookie (/board/display, a plain GET form: no script needed), full keyboard use,
visible focus. The chart is drawn by ECharts from /static/vendor when scripts run; the table
beside it reads without."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from cobuild_console import i18n
from cobuild_console.domain import board as shown
from cobuild_console.domain.rates import RATES
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.assessment_labels import grade_name
from cobuild_console.http.rates import RATE_NAMES
from cobuild_console.http.web import render, runtime_of, safe_next
from cobuild_console.usecases import board as boards

router = APIRouter()
# The display modes, each a cookie of its own ("1": on), kept a year.
MODES = {"large": "cobuild_large_text", "contrast": "cobuild_high_contrast"}
YEAR = Annotated[int | None, Query(ge=2000, le=2100)]


def _id(value: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise HTTPException(404) from None


def _modes(request: Request) -> dict[str, bool]:
    return {mode: request.cookies.get(cookie) == "1" for mode, cookie in MODES.items()}


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _rate_names() -> dict[str, str]:
    return {k: i18n.gettext(v) for k, v in RATE_NAMES.items()}


def _page(request: Request, template: str, **context: Any) -> Response:
    return render(
        request,
        template,
        modes=_modes(request),
        here=_here(request),
        grade_name=grade_name,
        rate_names=_rate_names(),
        rate_keys=RATES,
        **context,
    )


async def _read(request: Request, kind: str, party_id: str, year: int | None) -> dict[str, Any]:
    try:
        return await boards.board(runtime_of(request), kind, _id(party_id), year)
    except ServiceRefusal as refused:
        if refused.status in (404, 422):
            raise HTTPException(404) from None
        raise


def _board_page(request: Request, board: dict[str, Any]) -> Response:
    rows = shown.rows(board)
    street = board["kind"] == "street"
    names = _rate_names()
    chart = shown.chart(rows, names["fulfilment_rate"], i18n.gettext("no figure yet"))
    return _page(
        request,
        "board/street.html" if street else "board/community.html",
        b=board,
        rows=rows,
        rates=shown.scope_rates(board),
        chart_data=json.dumps(chart, ensure_ascii=False),
        year_query=urlencode({"year": board["year"]}) if board["year"] else "",
    )


@router.get("/board/streets/{street_id}")
async def street_board(request: Request, street_id: str, year: YEAR = None) -> Response:
    return _board_page(request, await _read(request, "streets", street_id, year))


@router.get("/board/communities/{community_id}")
async def community_board(request: Request, community_id: str, year: YEAR = None) -> Response:
    return _board_page(request, await _read(request, "communities", community_id, year))


@router.get("/board/communities/{community_id}/honour-roll")
async def member_honour_roll(
    request: Request,
    community_id: str,
    year: YEAR = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    try:
        found = await boards.honour_roll(runtime_of(request), _id(community_id), year, offset)
    except ServiceRefusal as refused:
        if refused.status in (404, 422):
            raise HTTPException(404) from None
        raise
    roll = found.roll
    pages: dict[str, str] = {}
    if roll is not None:
        query = {"year": found.board["year"]}
        if roll["next_offset"] is not None:
            pages["next"] = urlencode({**query, "offset": roll["next_offset"]})
        if offset > 0:
            pages["previous"] = urlencode({**query, "offset": max(0, offset - boards.ROLL_PAGE)})
    return _page(request, "board/honour_roll.html", b=found.board, roll=roll, pages=pages)


@router.get("/board/display")
async def display(
    request: Request,
    back: str = "/",
    large: Annotated[str | None, Query(pattern="^[01]$")] = None,
    contrast: Annotated[str | None, Query(pattern="^[01]$")] = None,
) -> Response:
    """Turns a display mode on or off (a GET form of the page: works with no script) and
    goes back to the page; the choice stays in a cookie for a year."""
    answer = RedirectResponse(safe_next(back), status_code=303)
    secure = runtime_of(request).settings.secure_cookies
    for mode, value in (("large", large), ("contrast", contrast)):
        if value is None:
            continue
        answer.set_cookie(
            MODES[mode],
            value,
            max_age=0 if value == "0" else 365 * 24 * 3600,
            path="/",
            httponly=True,
            samesite="lax",
            secure=secure,
        )
    return answer
