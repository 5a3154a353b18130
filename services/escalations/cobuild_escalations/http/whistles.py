"""Whistles: raise, the receiver's response (报到), hand-on and resolution, the raiser's
confirmation or reopening; one whistle, its history, and the boxes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, DEFAULT_PAGE, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, Query

from cobuild_escalations.domain.whistle import State
from cobuild_escalations.http.models import (
    HandOnIn,
    HistoryEntry,
    RaiseIn,
    ReopenIn,
    ResolveIn,
    RespondIn,
    WhistleOut,
)
from cobuild_escalations.settings import RuntimeDep
from cobuild_escalations.usecases import commands, queries, raising
from cobuild_escalations.usecases.queries import Box

router = APIRouter(tags=["whistles"], responses=AUTHENTICATED)
_COMMAND = refusals(403, 404, 409)


@router.post("/whistles", status_code=201, responses=refusals(403, 422))
async def raise_whistle(body: RaiseIn, actor: ActorDep, rt: RuntimeDep) -> WhistleOut:
    """吹哨: a community worker (`community_admin`) for her community or a grid/compound in
    it, or a street admin for the street or a place in it, raises a matter. It is routed at
    once by the district's routing table (`routing_version`; 0 is the built-in table: the
    level above) to a department or to the level above, with its limits to respond and to
    resolve counted in working time from now. A limit that reaches past the working
    calendar's known years is counted Monday to Friday and marked provisional. Photos go up
    next, at `POST /whistles/{id}/evidence`."""
    cmd = raising.Raise(
        title=body.title,
        description=body.description,
        category=body.category,
        urgency=body.urgency,
        place_id=body.place_id,
    )
    return WhistleOut.of(await raising.raise_whistle(rt, actor, cmd))


@router.post("/whistles/{whistle_id}/respond", responses=_COMMAND)
async def respond(whistle_id: UUID, body: RespondIn, actor: ActorDep, rt: RuntimeDep) -> WhistleOut:
    """报到: the receiver's admin accepts the matter and names who comes (from `routed`).
    `responded_in_time` compares the moment with `respond_by`."""
    now = rt.clock.now()
    return WhistleOut.of(
        await commands.respond(rt, actor, whistle_id, body.who_comes, body.note, now)
    )


@router.post("/whistles/{whistle_id}/hand-on", responses=_COMMAND)
async def hand_on(whistle_id: UUID, body: HandOnIn, actor: ActorDep, rt: RuntimeDep) -> WhistleOut:
    """The receiver, or the street or district above the place, hands the matter on to
    another department with a reason, before anyone responded. Its limits do not restart;
    the history keeps each receiver and each reason."""
    now = rt.clock.now()
    return WhistleOut.of(
        await commands.hand_on(rt, actor, whistle_id, body.to_party_id, body.reason, now)
    )


@router.post("/whistles/{whistle_id}/resolve", responses=_COMMAND)
async def resolve(whistle_id: UUID, body: ResolveIn, actor: ActorDep, rt: RuntimeDep) -> WhistleOut:
    """The receiver reports the matter resolved (from `responded`), naming the evidence it
    uploaded; the raiser confirms or reopens it next."""
    now = rt.clock.now()
    after = await commands.resolve(rt, actor, whistle_id, body.note, tuple(body.evidence_ids), now)
    return WhistleOut.of(after)


@router.post("/whistles/{whistle_id}/confirm", responses=_COMMAND)
async def confirm(whistle_id: UUID, actor: ActorDep, rt: RuntimeDep) -> WhistleOut:
    """The raiser accepts the resolution: the whistle is closed, and residents' codes work."""
    return WhistleOut.of(await commands.confirm(rt, actor, whistle_id, rt.clock.now()))


@router.post("/whistles/{whistle_id}/reopen", responses=_COMMAND)
async def reopen(whistle_id: UUID, body: ReopenIn, actor: ActorDep, rt: RuntimeDep) -> WhistleOut:
    """The raiser does not accept the resolution: back to the receiver (`responded`), and
    the resolution no longer counts. Past its limit to resolve, it is escalated."""
    now = rt.clock.now()
    return WhistleOut.of(await commands.reopen(rt, actor, whistle_id, body.reason, now))


@router.get("/whistles", responses=refusals(403))
async def list_whistles(
    actor: ActorDep,
    rt: RuntimeDep,
    box: Annotated[
        Box,
        Query(
            description="raised: my community's or street's matters; received: my "
            "department's, street's or district's queue; supervised: every matter in my "
            "street or district"
        ),
    ],
    state: Annotated[list[State] | None, Query(description="any of these states")] = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[WhistleOut]:
    """Ordered by time left: the limit the receiver works against now (to respond while
    routed, to resolve once responded), soonest first; resolved and closed ones last."""
    states = tuple(state) if state else None
    found, total = await queries.box(rt, actor, box, states, limit, offset)
    return page_of([WhistleOut.of(w) for w in found], limit=limit, offset=offset, total=total)


@router.get("/whistles/{whistle_id}", responses=refusals(404))
async def get_whistle(whistle_id: UUID, actor: ActorDep, rt: RuntimeDep) -> WhistleOut:
    """One whistle, for its raiser, its receiver and the street and district of its place."""
    return WhistleOut.of(await queries.whistle(rt, actor, whistle_id))


@router.get("/whistles/{whistle_id}/history", responses=refusals(404))
async def history(
    whistle_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[HistoryEntry]:
    """Every step in order: raised, routed, each hand-on with its reason, the response and
    who comes, escalations, resolutions, reopenings, the closing and the ratings."""
    found, total = await queries.history_of(rt, actor, whistle_id, limit, offset)
    items = [HistoryEntry.model_validate(r) for r in found]
    return page_of(items, limit=limit, offset=offset, total=total)
