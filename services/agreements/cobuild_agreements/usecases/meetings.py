"""Joint meetings (联席会议): recording one with its chair, attendance, agenda, minutes and
decisions; each decision (研究确定事项) becomes a commitment through the agreement flow.

A decision is an agreement of origin `meeting` between the responsible unit (the obligor) and
the beneficiary community, with one commitment, signed at once by the meeting's authority: the
admin who records the meeting for the alliance's host (ARCHITECTURE.md, "Alliances and the
joint meeting"). As with a direct claim, `decision.made` goes out first and then
`agreement.signed`; downstream acts on the agreement, so the commitments service opens the
commitment and the fulfilment ledger counts it under the unit and the community.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import asyncpg
from cobuild_contracts import AgreementOrigin, CommitmentItem, ItemKind, PartyKind, uuid7
from cobuild_contracts.base import MAX_FEN, MAX_QUANTITY, BusinessDate
from cobuild_contracts.events.alliances import MAX_UNITS, DecisionMade, MeetingHeld
from cobuild_contracts.reference import valid_codes
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Invalid, NotFound
from cobuild_kit.service import UnitOfWork
from pydantic import BaseModel, ConfigDict, Field

from cobuild_agreements.domain.alliances import (
    Rotation,
    Turn,
    check_after_last_meeting,
    check_present,
)
from cobuild_agreements.domain.negotiation import AgreementState, Negotiation, Round
from cobuild_agreements.settings import AgreementsRuntime
from cobuild_agreements.store import agreements, alliances, parties
from cobuild_agreements.usecases import access
from cobuild_agreements.usecases.alliances import locked, readable
from cobuild_agreements.usecases.negotiation import ancestry, signed
from cobuild_agreements.usecases.reference import CategoryIn, ItemKindCode
from cobuild_agreements.usecases.rules import now_and_today

# The position that answers for a decision when the meeting names none (a position, not a name).
LEAD_TITLE = "牵头单位党组织书记"
AgendaItem = Annotated[str, Field(min_length=1, max_length=500)]


class DecisionIn(BaseModel):
    """A decision with the four fixes (四定): what, who leads it, by when, with what funds."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    kind: ItemKindCode = ItemKind.TASK
    category: CategoryIn
    responsible_unit_id: UUID | None = Field(
        default=None, description="a member unit; default: the meeting's chair"
    )
    beneficiary_community_id: UUID | None = Field(
        default=None,
        description="a community of the alliance's street (or the alliance's own community, "
        "the default for a community's alliance)",
    )
    responsible_title: str = Field(default=LEAD_TITLE, min_length=1, max_length=100)
    deadline: BusinessDate
    funds_fen: int = Field(default=0, ge=0, le=MAX_FEN)
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    quantity_unit: str = Field(default="item", min_length=1, max_length=40)


class MeetingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    held_on: BusinessDate | None = Field(default=None, description="default: today")
    title: str = Field(min_length=1, max_length=200)
    place: str = Field(default="", max_length=200)
    chair_unit_id: UUID | None = Field(
        default=None,
        description="the rotation decides the chair; naming it checks the page was current "
        "(409 when it is not the unit whose turn it is)",
    )
    agenda: list[AgendaItem] = Field(default_factory=list, max_length=50)
    present_unit_ids: list[UUID] = Field(default_factory=list, max_length=MAX_UNITS)
    minutes: str = Field(default="", max_length=20_000)
    decisions: list[DecisionIn] = Field(default_factory=list, max_length=50)


@dataclass(frozen=True)
class MeetingView:
    row: asyncpg.Record
    absent: list[UUID]  # members on the day who did not attend
    decisions: list[asyncpg.Record]


@dataclass(frozen=True)
class RotationView:
    alliance: asyncpg.Record
    rotation: Rotation
    versions: list[asyncpg.Record]
    history: list[asyncpg.Record]  # meetings: number, date, chair
    next_chair: UUID | None
    upcoming: list[Turn]
    periods: list[Turn]  # per period: every period so far with its chair


# --- recording a meeting ------------------------------------------------------------------


async def _beneficiary(
    conn: asyncpg.Connection, alliance: asyncpg.Record, given: UUID | None, field: str
) -> UUID:
    host: UUID = alliance["host_party_id"]
    host_kind = PartyKind(alliance["host_kind"])
    if given is None:
        if host_kind is PartyKind.COMMUNITY:
            return host
        raise Invalid("a street's alliance names the community each decision serves", field=field)
    community = await parties.get(conn, given)
    if community is None or community.kind is not PartyKind.COMMUNITY:
        raise Invalid(f"{given} is not a registered community", field=field)
    if given != host and community.parent_id != host:
        raise Invalid(
            f"community {given} is not in the alliance's {host_kind.value} {host}", field=field
        )
    return given


async def _decision_items(
    rt: AgreementsRuntime,
    conn: asyncpg.Connection,
    alliance: asyncpg.Record,
    rotation: Rotation,
    body: MeetingIn,
    held_on: date,
    chair: UUID,
    today: date,
) -> list[CommitmentItem]:
    """Each decision as the commitment it becomes, checked; the ids minted here."""
    categories = frozenset(rt.settings.categories)
    items = []
    for n, d in enumerate(body.decisions):
        where = f"body.decisions.{n}"
        unit = d.responsible_unit_id or chair
        if not rotation.membership.is_member(unit, held_on):
            raise Invalid(
                f"unit {unit} is not a member on {held_on}", field=f"{where}.responsible_unit_id"
            )
        community = await _beneficiary(
            conn, alliance, d.beneficiary_community_id, f"{where}.beneficiary_community_id"
        )
        if d.category not in categories:
            raise Invalid(
                f"unknown category {d.category!r}; {valid_codes(categories)}",
                field=f"{where}.category",
            )
        if d.deadline < max(held_on, today):
            raise Invalid(
                f"deadline {d.deadline} is before the meeting ({held_on}) or today ({today})",
                field=f"{where}.deadline",
            )
        items.append(
            CommitmentItem(
                commitment_id=uuid7(),
                title=d.title,
                description=d.description,
                kind=d.kind,
                category=d.category,
                obligor_party_id=unit,
                beneficiary_party_id=community,
                responsible_title=d.responsible_title,
                deadline=d.deadline,
                funds_fen=d.funds_fen,
                quantity=d.quantity,
                quantity_unit=d.quantity_unit,
            )
        )
    return items


async def _commit(
    uow: UnitOfWork,
    actor: Actor,
    alliance: asyncpg.Record,
    meeting_id: UUID,
    decision_id: UUID,
    number: int,
    item: CommitmentItem,
    held_on: date,
    now: datetime,
) -> None:
    """A decision becomes a one-commitment agreement, signed at once by the meeting's
    authority (the host, for whom the recording admin acts)."""
    conn = uow.conn
    host = alliance["host_party_id"]
    agreement_id = uuid7()
    community, unit = item.beneficiary_party_id, item.obligor_party_id
    n = Negotiation(community, unit, AgreementState.SIGNED, 1, host, 1, frozenset({host}))
    street_id, district_id = await ancestry(conn, community)
    await agreements.create(
        conn,
        agreement_id=agreement_id,
        negotiation=n,
        origin=AgreementOrigin.MEETING,
        street_id=street_id,
        district_id=district_id,
        need_id=None,
        at=now,
    )
    await agreements.update(conn, agreement_id, n, at=now)
    await alliances.link_agreement(conn, agreement_id, meeting_id, decision_id)
    r = Round(1, "decision", host, None, held_on, item.deadline, [item], None, now)
    await agreements.add_round(conn, agreement_id, r, actor.subject)
    await agreements.add_signature(conn, agreement_id, 1, host, actor.subject, now)
    await alliances.add_decision(
        conn,
        decision_id=decision_id,
        meeting_id=meeting_id,
        alliance_id=alliance["alliance_id"],
        number=number,
        agreement_id=agreement_id,
        item=item,
        at=now,
    )
    await uow.emit(
        DecisionMade(
            alliance_id=alliance["alliance_id"],
            meeting_id=meeting_id,
            decision_id=decision_id,
            responsible_unit_id=unit,
            beneficiary_community_id=community,
            deadline=item.deadline,
            funds_fen=item.funds_fen,
            agreement_id=agreement_id,
            commitment_id=item.commitment_id,
            made_on=held_on,
            made_at=now,
        )
    )
    row, _ = await agreements.load(conn, agreement_id)
    await signed(uow, row, 1, r, AgreementOrigin.MEETING, now)


def _next_chair(rotation: Rotation, chair: UUID, held_on: date) -> UUID | None:
    """The chair of the turn after this meeting's: per meeting, the next meeting's; per
    period, the next period's."""
    if rotation.period_months is None:
        return rotation.successor(chair, held_on)
    following = rotation.period_of(held_on) + 1
    return rotation.period_chairs(following)[-1]


async def hold(
    rt: AgreementsRuntime, actor: Actor, alliance_id: UUID, body: MeetingIn
) -> MeetingView:
    """Record a joint meeting chaired by the unit whose turn it is, with its decisions."""
    now, today = now_and_today(rt)
    held_on = body.held_on or today
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        alliance, last = await locked(uow, actor, alliance_id, "record this alliance's meetings")
        if held_on > today:
            raise Invalid(f"must not be after today ({today})", field="body.held_on")
        if held_on < alliance["formed_on"]:
            raise Invalid(
                f"must not be before the alliance was formed ({alliance['formed_on']})",
                field="body.held_on",
            )
        check_after_last_meeting(held_on, last["held_on"] if last else None, "body.held_on")
        rotation = await alliances.rotation(conn, alliance)
        chair = rotation.chair_for(held_on, last["chair_unit_id"] if last else None)
        if chair is None:
            raise Conflict(f"no unit of the rotation is a member on {held_on}; no one can chair")
        if body.chair_unit_id is not None and body.chair_unit_id != chair:
            raise Conflict(
                f"it is unit {chair}'s turn to chair on {held_on}, not {body.chair_unit_id}",
                field="body.chair_unit_id",
            )
        present = check_present(
            body.present_unit_ids, rotation.membership, held_on, "body.present_unit_ids"
        )
        items = await _decision_items(rt, conn, alliance, rotation, body, held_on, chair, today)
        meeting_id = uuid7()
        number = (last["number"] if last else 0) + 1
        decision_ids = [uuid7() for _ in items]
        await alliances.add_meeting(
            conn,
            meeting_id=meeting_id,
            alliance_id=alliance_id,
            number=number,
            held_on=held_on,
            title=body.title,
            place=body.place,
            chair_unit_id=chair,
            present_unit_ids=present,
            agenda=list(body.agenda),
            minutes=body.minutes,
            recorded_by=actor.subject,
            recorded_at=now,
        )
        await uow.emit(
            MeetingHeld(
                alliance_id=alliance_id,
                meeting_id=meeting_id,
                number=number,
                held_on=held_on,
                chair_unit_id=chair,
                present_unit_ids=present,
                decision_ids=decision_ids,
                next_chair_unit_id=_next_chair(rotation, chair, held_on),
                recorded_at=now,
            )
        )
        for k, (decision_id, item) in enumerate(zip(decision_ids, items, strict=True)):
            await _commit(uow, actor, alliance, meeting_id, decision_id, k + 1, item, held_on, now)
        return await _meeting_view(conn, meeting_id, rotation)


# --- reading ----------------------------------------------------------------------------


async def _meeting_view(
    conn: asyncpg.Connection, meeting_id: UUID, rotation: Rotation | None = None
) -> MeetingView:
    row = await alliances.meeting(conn, meeting_id, field="path.meeting_id")
    if rotation is None:
        alliance = await alliances.load(conn, row["alliance_id"])
        rotation = await alliances.rotation(conn, alliance)
    present = set(row["present_unit_ids"])
    absent = [u for u in rotation.membership.members_on(row["held_on"]) if u not in present]
    return MeetingView(row, absent, await alliances.decisions_of_meeting(conn, meeting_id))


async def show(rt: AgreementsRuntime, actor: Actor, meeting_id: UUID) -> MeetingView:
    async with rt.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT alliance_id FROM meeting WHERE meeting_id = $1", meeting_id
        )
        missing = f"meeting {meeting_id} does not exist"
        if row is None:
            raise NotFound(missing, field="path.meeting_id")
        with access.hidden(missing, "path.meeting_id"):
            await readable(conn, actor, row["alliance_id"])
        return await _meeting_view(conn, meeting_id)


async def of_alliance(
    rt: AgreementsRuntime, actor: Actor, alliance_id: UUID, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    async with rt.pool.acquire() as conn:
        await readable(conn, actor, alliance_id)
        return await alliances.meetings(conn, alliance_id, limit=limit, offset=offset)


async def decisions(
    rt: AgreementsRuntime, actor: Actor, alliance_id: UUID, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    async with rt.pool.acquire() as conn:
        await readable(conn, actor, alliance_id)
        return await alliances.decisions(conn, alliance_id, limit=limit, offset=offset)


async def rotation(rt: AgreementsRuntime, actor: Actor, alliance_id: UUID) -> RotationView:
    """The rotation: its orders, who chaired when, whose turn is next and the turns after."""
    _, today = now_and_today(rt)
    async with rt.pool.acquire() as conn:
        alliance = await readable(conn, actor, alliance_id)
        rule = await alliances.rotation(conn, alliance)
        history = await alliances.chairs(conn, alliance_id)
        last = history[-1] if history else None
        previous = last["chair_unit_id"] if last else None
        periods: list[Turn] = []
        if rule.period_months is not None:
            current = rule.period_of(today)
            chairs = rule.period_chairs(current)
            periods = [Turn(k + 1, rule.period_start(k), c) for k, c in enumerate(chairs)]
        return RotationView(
            alliance=alliance,
            rotation=rule,
            versions=await alliances.orders(conn, alliance_id),
            history=history,
            next_chair=rule.chair_for(today, previous),
            upcoming=rule.upcoming(today, previous, (last["number"] if last else 0) + 1),
            periods=periods,
        )
