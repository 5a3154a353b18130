"""Alliances (党建联盟) and their joint meetings (联席会议): forming, membership, the rotating
chair, meetings with their decisions, and reading them.

Commands are for the host's admins (the street's, or the community's) and the supervisors
above the host; anyone else gets 403 with the reason. Reads are also open to the admins of
member units and, for a street's alliance, of the street's communities; to anyone else an
alliance or meeting answers 404, as one that does not exist.
"""

from __future__ import annotations

from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, DEFAULT_PAGE, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter

from cobuild_agreements.http.alliance_answers import (
    AllianceOut,
    AllianceSummary,
    DecisionOut,
    MeetingOut,
    MeetingSummary,
    RotationOut,
)
from cobuild_agreements.settings import RuntimeDep
from cobuild_agreements.usecases import alliances, meetings
from cobuild_agreements.usecases.alliances import AllianceIn, JoinIn, LeaveIn, OrderIn
from cobuild_agreements.usecases.meetings import MeetingIn

router = APIRouter(tags=["alliances"], responses=AUTHENTICATED)
# Commands on one alliance: it may not exist (404), a member may already be one (409).
_ON_ONE = refusals(404, 409, 413)


@router.post("/alliances", status_code=201, responses=refusals(413))
async def form(body: AllianceIn, actor: ActorDep, rt: RuntimeDep) -> AllianceOut:
    """Form a street's or a community's alliance with its member units and the order in which
    they chair (per meeting, or per period of `period_months`)."""
    return AllianceOut.of(await alliances.form(rt, actor, body))


@router.get("/alliances", responses=refusals(404))
async def of_party(
    party_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[AllianceSummary]:
    """A unit's alliances (those it is or was a member of); a community's own and its
    street's; a street's own and its communities'; a district's, of every street and
    community in it. Newest first."""
    rows, total = await alliances.of_party(rt, actor, party_id, limit, offset)
    items = [AllianceSummary.model_validate(dict(r)) for r in rows]
    return page_of(items, limit=limit, offset=offset, total=total)


@router.get("/alliances/{alliance_id}", responses=refusals(404))
async def show(alliance_id: UUID, actor: ActorDep, rt: RuntimeDep) -> AllianceOut:
    """The alliance, its members with their dates, and whose turn it is to chair."""
    return AllianceOut.of(await alliances.show(rt, actor, alliance_id))


@router.post("/alliances/{alliance_id}/members", status_code=201, responses=_ON_ONE)
async def join(alliance_id: UUID, body: JoinIn, actor: ActorDep, rt: RuntimeDep) -> AllianceOut:
    """A unit joins (from `joined_on`, not before the last meeting); it takes its turn last
    in the rotation."""
    return AllianceOut.of(await alliances.join(rt, actor, alliance_id, body))


@router.post("/alliances/{alliance_id}/members/{unit_id}/departure", responses=_ON_ONE)
async def leave(
    alliance_id: UUID, unit_id: UUID, body: LeaveIn, actor: ActorDep, rt: RuntimeDep
) -> AllianceOut:
    """A unit leaves (from `left_on`): it stays in the history, and its turns are skipped."""
    return AllianceOut.of(await alliances.leave(rt, actor, alliance_id, unit_id, body))


@router.get("/alliances/{alliance_id}/rotation", responses=refusals(404))
async def rotation(alliance_id: UUID, actor: ActorDep, rt: RuntimeDep) -> RotationOut:
    """The rotation: every order with its date, who chaired each meeting, whose turn is next
    and the turns after it."""
    return RotationOut.of(await meetings.rotation(rt, actor, alliance_id))


@router.put("/alliances/{alliance_id}/rotation", responses=_ON_ONE)
async def set_order(
    alliance_id: UUID, body: OrderIn, actor: ActorDep, rt: RuntimeDep
) -> AllianceOut:
    """A new order of the chairing units (members or former members), in force from
    `effective_from` (not before the last meeting)."""
    return AllianceOut.of(await alliances.set_order(rt, actor, alliance_id, body))


@router.post("/alliances/{alliance_id}/meetings", status_code=201, responses=_ON_ONE)
async def hold(alliance_id: UUID, body: MeetingIn, actor: ActorDep, rt: RuntimeDep) -> MeetingOut:
    """Record a joint meeting, chaired by the unit whose turn it is, with its attendance,
    agenda, minutes and decisions. Each decision becomes a signed agreement (origin
    `meeting`) with one commitment of the responsible unit (the chair by default) to the
    beneficiary community; the fulfilment ledger counts it like any other."""
    return MeetingOut.of(await meetings.hold(rt, actor, alliance_id, body))


@router.get("/alliances/{alliance_id}/meetings", responses=refusals(404))
async def meetings_of(
    alliance_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[MeetingSummary]:
    """The alliance's meetings, latest first."""
    rows, total = await meetings.of_alliance(rt, actor, alliance_id, limit, offset)
    items = [MeetingSummary.model_validate(dict(r)) for r in rows]
    return page_of(items, limit=limit, offset=offset, total=total)


@router.get("/alliances/{alliance_id}/decisions", responses=refusals(404))
async def decisions_of(
    alliance_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[DecisionOut]:
    """The alliance's decisions, latest meeting first, each with its agreement and
    commitment ids (the ledger reads a commitment's fulfilment by its id)."""
    rows, total = await meetings.decisions(rt, actor, alliance_id, limit, offset)
    return page_of([DecisionOut.of(r) for r in rows], limit=limit, offset=offset, total=total)


@router.get("/meetings/{meeting_id}", responses=refusals(404))
async def meeting(meeting_id: UUID, actor: ActorDep, rt: RuntimeDep) -> MeetingOut:
    """One meeting with its attendance, agenda, minutes and decisions."""
    return MeetingOut.of(await meetings.show(rt, actor, meeting_id))
