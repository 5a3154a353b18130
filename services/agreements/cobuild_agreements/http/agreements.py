"""Negotiation and signing: propose, counter, sign, amend, terminate; and direct claims."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from cobuild_contracts import (
    AgreementAmended,
    AgreementOrigin,
    AgreementSigned,
    AgreementTerminated,
    CommitmentItem,
    ItemKind,
    NeedClaimed,
    PartyKind,
    ProposalCountered,
    ProposalMade,
    Role,
    Visibility,
    uuid7,
)
from cobuild_contracts.base import MAX_FEN, MAX_QUANTITY, MAX_VERSION, BusinessDate
from cobuild_kit.errors import Conflict, Forbidden, Invalid
from cobuild_kit.parties import authorize
from cobuild_kit.service import ActorDep, RuntimeDep, UnitOfWork
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from cobuild_agreements.domain.drafts import (
    Amendment,
    DraftItem,
    carry_ids,
    check_cancellations,
    diff,
)
from cobuild_agreements.domain.negotiation import AgreementState, Negotiation, SignOutcome
from cobuild_agreements.http.common import (
    acting_side,
    draft_rules,
    may_read_pair,
    now_and_today,
    plain,
)
from cobuild_agreements.http.needs import CATEGORY
from cobuild_agreements.store import agreements, lists, parties
from cobuild_agreements.store.agreements import Round

router = APIRouter(tags=["agreements"])


class DraftItemIn(BaseModel):
    """One commitment with the four fixes (四定). Name `commitment_id` to keep an earlier item."""

    model_config = ConfigDict(extra="forbid")

    commitment_id: UUID | None = None
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    kind: ItemKind
    category: str = Field(pattern=CATEGORY)
    obligor_party_id: UUID
    beneficiary_party_id: UUID
    responsible_title: str = Field(min_length=1, max_length=100)  # a position, not a name
    responsible_member_id: UUID | None = None
    deadline: BusinessDate
    funds_fen: int = Field(default=0, ge=0, le=MAX_FEN)
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    quantity_unit: str = Field(default="item", min_length=1, max_length=40)
    need_id: UUID | None = None

    def draft(self) -> DraftItem:
        return DraftItem(**self.model_dump())


Items = Annotated[list[DraftItemIn], Field(min_length=1, max_length=200)]


class Terms(BaseModel):
    model_config = ConfigDict(extra="forbid")

    term_start: BusinessDate
    term_end: BusinessDate
    items: Items


class ProposalIn(Terms):
    community_id: UUID
    unit_id: UUID
    need_id: UUID | None = None


class CounterIn(Terms):
    counters_version: int = Field(ge=1, le=MAX_VERSION)


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=MAX_VERSION)


class AmendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    added_items: list[DraftItemIn] = Field(default_factory=list, max_length=200)
    cancelled_commitment_ids: list[UUID] = Field(default_factory=list, max_length=200)
    reason: str = Field(min_length=1, max_length=500)
    counters_version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class TerminateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_id: UUID
    responsible_title: str = Field(min_length=1, max_length=100)
    responsible_member_id: UUID | None = None
    deadline: BusinessDate | None = None  # default: the need's wanted-by date


# --- shared steps ----------------------------------------------------------------------


def _check_terms(body: Terms, today: date) -> None:
    if body.term_end < body.term_start:
        raise Invalid("term_end is before term_start", field="body.term_end")
    if body.term_end < today:
        raise Invalid(f"term_end {body.term_end} is before today ({today})", field="body.term_end")


async def _ancestry(
    conn: asyncpg.Connection, community_id: UUID
) -> tuple[UUID | None, UUID | None]:
    """(street, district) of a community, for agreement.signed."""
    by_kind = {p.kind: p.party_id for p in await parties.lineage(conn, community_id)}
    return by_kind.get(PartyKind.STREET), by_kind.get(PartyKind.DISTRICT)


async def _pair_exists(conn: asyncpg.Connection, community_id: UUID, unit_id: UUID) -> None:
    for party_id, kind, field in (
        (community_id, PartyKind.COMMUNITY, "body.community_id"),
        (unit_id, PartyKind.UNIT, "body.unit_id"),
    ):
        party = await parties.get(conn, party_id)
        if party is None or party.kind is not kind:
            raise Invalid(f"{party_id} is not a registered {kind.value}", field=field)


async def _check_needs(
    conn: asyncpg.Connection, community_id: UUID, items: list[DraftItemIn], prefix: str
) -> None:
    for n, item in enumerate(items):
        if item.need_id is None:
            continue
        row = await conn.fetchrow("SELECT community_id FROM need WHERE need_id = $1", item.need_id)
        if row is None or row["community_id"] != community_id:
            raise Invalid(
                f"need {item.need_id} is not a need of community {community_id}",
                field=f"{prefix}.{n}.need_id",
            )


async def _view(conn: asyncpg.Connection, agreement_id: UUID) -> dict[str, Any]:
    row, n = await agreements.load(conn, agreement_id)
    return {
        **plain(row),
        "awaiting": sorted(str(p) for p in n.parties - n.signers)
        if n.state in (AgreementState.NEGOTIATING, AgreementState.AMENDING)
        else [],
        "rounds": [_round_out(r) for r in await agreements.rounds(conn, agreement_id)],
        "signatures": [dict(s) for s in await agreements.signatures(conn, agreement_id)],
        "commitments": [
            i.model_dump(mode="json") for i in await agreements.in_force(conn, agreement_id)
        ],
    }


def _round_out(r: Round) -> dict[str, Any]:
    return {**r.__dict__, "items": [i.model_dump(mode="json") for i in r.items]}


async def _signed(
    uow: UnitOfWork,
    row: asyncpg.Record,
    version: int,
    r: Round,
    origin: AgreementOrigin,
    now: datetime,
) -> None:
    """The agreement is in force: open its commitments and publish them in full."""
    await agreements.open_commitments(uow.conn, row["agreement_id"], r.items, version)
    await uow.emit(
        AgreementSigned(
            agreement_id=row["agreement_id"],
            version=version,
            community_id=row["community_id"],
            unit_id=row["unit_id"],
            street_id=row["street_id"],
            district_id=row["district_id"],
            term_start=r.term_start,
            term_end=r.term_end,
            origin=origin,
            items=r.items,
            signed_at=now,
        )
    )


# --- negotiation -----------------------------------------------------------------------


@router.post("/agreements", status_code=201)
async def propose(body: ProposalIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """Either party's admin opens a negotiation with a first draft (version 1)."""
    now, today = now_and_today(rt)
    side = acting_side(actor, body.community_id, body.unit_id, "propose this agreement")
    agreement_id = uuid7()
    async with rt.unit_of_work() as uow:
        await _pair_exists(uow.conn, body.community_id, body.unit_id)
        _check_terms(body, today)
        drafts = [i.draft() for i in body.items]
        draft_rules(rt, body.community_id, body.unit_id).check(drafts)
        await _check_needs(uow.conn, body.community_id, body.items, "body.items")
        if body.need_id is not None:
            need = await lists.get_need(uow.conn, body.need_id)
            if need["community_id"] != body.community_id:
                raise Invalid("the need belongs to another community", field="body.need_id")
        items = carry_ids(drafts, [])
        negotiation = Negotiation.open(body.community_id, body.unit_id, side)
        street_id, district_id = await _ancestry(uow.conn, body.community_id)
        await agreements.create(
            uow.conn,
            agreement_id=agreement_id,
            negotiation=negotiation,
            origin=AgreementOrigin.NEGOTIATED,
            street_id=street_id,
            district_id=district_id,
            need_id=body.need_id,
            at=now,
        )
        r = Round(1, "proposal", side, None, body.term_start, body.term_end, items, None, now)
        await agreements.add_round(uow.conn, agreement_id, r, actor.subject)
        await uow.emit(
            ProposalMade(
                agreement_id=agreement_id,
                version=1,
                proposed_by=side,
                community_id=body.community_id,
                unit_id=body.unit_id,
                term_start=body.term_start,
                term_end=body.term_end,
                items=items,
                proposed_at=now,
            )
        )
        return await _view(uow.conn, agreement_id)


@router.post("/agreements/{agreement_id}/counters", status_code=201)
async def counter(
    agreement_id: UUID, body: CounterIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """The other side answers the current draft with a new version (every round is kept)."""
    now, today = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        _row, n = await agreements.load(uow.conn, agreement_id, lock=True)
        side = acting_side(actor, n.community_id, n.unit_id, "counter this agreement")
        after = n.counter(side, body.counters_version)
        _check_terms(body, today)
        drafts = [i.draft() for i in body.items]
        draft_rules(rt, n.community_id, n.unit_id).check(drafts)
        await _check_needs(uow.conn, n.community_id, body.items, "body.items")
        previous = await agreements.round_of(uow.conn, agreement_id, n.version)
        items = carry_ids(drafts, previous.items)
        r = Round(
            after.version,
            "counter",
            side,
            n.version,
            body.term_start,
            body.term_end,
            items,
            None,
            now,
        )
        await agreements.add_round(uow.conn, agreement_id, r, actor.subject)
        await agreements.update(uow.conn, agreement_id, after)
        await uow.emit(
            ProposalCountered(
                agreement_id=agreement_id,
                version=after.version,
                counters_version=n.version,
                proposed_by=side,
                community_id=n.community_id,
                unit_id=n.unit_id,
                term_start=body.term_start,
                term_end=body.term_end,
                items=items,
                proposed_at=now,
            )
        )
        return await _view(uow.conn, agreement_id)


@router.post("/agreements/{agreement_id}/signatures")
async def sign(agreement_id: UUID, body: SignIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """Sign the current draft for your party. Signed when both parties signed the same version;
    the row lock makes simultaneous or repeated signatures yield one agreement.signed."""
    now, _ = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        row, n = await agreements.load(uow.conn, agreement_id, lock=True)
        side = acting_side(actor, n.community_id, n.unit_id, "sign this agreement")
        after, outcome = n.sign(side, body.version)
        if outcome is not SignOutcome.ALREADY_SIGNED:
            await agreements.add_signature(
                uow.conn, agreement_id, body.version, side, actor.subject, now
            )
            await agreements.update(uow.conn, agreement_id, after, at=now)
        if outcome is SignOutcome.SIGNED:
            r = await agreements.round_of(uow.conn, agreement_id, body.version)
            await _signed(uow, row, body.version, r, AgreementOrigin(row["origin"]), now)
        elif outcome is SignOutcome.AMENDED:
            await _amended(uow, agreement_id, body.version, now)
        return {"outcome": outcome.value, "agreement": await _view(uow.conn, agreement_id)}


async def _amended(uow: UnitOfWork, agreement_id: UUID, version: int, now: datetime) -> None:
    r = await agreements.round_of(uow.conn, agreement_id, version)
    change = diff(await agreements.in_force(uow.conn, agreement_id), r.items)
    await agreements.cancel_commitments(uow.conn, change.cancelled, version, now)
    await agreements.open_commitments(uow.conn, agreement_id, change.added, version)
    await uow.emit(
        AgreementAmended(
            agreement_id=agreement_id,
            version=version,
            added_items=change.added,
            cancelled_commitment_ids=change.cancelled,
            reason=r.reason or "amendment",
            amended_at=now,
        )
    )


@router.post("/agreements/{agreement_id}/amendments", status_code=201)
async def amend(
    agreement_id: UUID, body: AmendIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Propose adding and cancelling commitments of a signed agreement (or counter a pending
    amendment); it takes effect when both parties sign the new version."""
    now, _ = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        _row, n = await agreements.load(uow.conn, agreement_id, lock=True)
        side = acting_side(actor, n.community_id, n.unit_id, "amend this agreement")
        after = n.amend(side, body.counters_version)
        current = await agreements.in_force(uow.conn, agreement_id)
        drafts = [i.draft() for i in body.added_items]
        if drafts:
            draft_rules(rt, n.community_id, n.unit_id).check(drafts, "body.added_items")
        await _check_needs(uow.conn, n.community_id, body.added_items, "body.added_items")
        check_cancellations(body.cancelled_commitment_ids, current, len(drafts))
        latest = await agreements.round_of(uow.conn, agreement_id, n.version)
        in_force = {i.commitment_id for i in current}
        pending = [i for i in latest.items if i.commitment_id not in in_force]
        added = carry_ids(drafts, pending, prefix="body.added_items")
        items = Amendment(added, list(body.cancelled_commitment_ids)).apply(current)
        countering = n.state is AgreementState.AMENDING
        r = Round(
            after.version,
            "amendment",
            side,
            n.version if countering else None,
            latest.term_start,
            latest.term_end,
            items,
            body.reason,
            now,
        )
        await agreements.add_round(uow.conn, agreement_id, r, actor.subject)
        await agreements.update(uow.conn, agreement_id, after)
        common = {
            "agreement_id": agreement_id,
            "version": after.version,
            "proposed_by": side,
            "community_id": n.community_id,
            "unit_id": n.unit_id,
            "term_start": r.term_start,
            "term_end": r.term_end,
            "items": items,
            "proposed_at": now,
        }
        await uow.emit(
            ProposalCountered(**common, counters_version=n.version)
            if countering
            else ProposalMade(**common)
        )
        return await _view(uow.conn, agreement_id)


@router.post("/agreements/{agreement_id}/termination")
async def terminate(
    agreement_id: UUID, body: TerminateIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Either party ends a signed agreement; what is still open is cancelled downstream."""
    now, _ = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        _row, n = await agreements.load(uow.conn, agreement_id, lock=True)
        side = acting_side(actor, n.community_id, n.unit_id, "terminate this agreement")
        after = n.terminate(side)
        await agreements.update(uow.conn, agreement_id, after, at=now)
        await uow.conn.execute(
            "UPDATE agreement SET termination_reason = $2 WHERE agreement_id = $1",
            agreement_id,
            body.reason,
        )
        await uow.emit(
            AgreementTerminated(
                agreement_id=agreement_id,
                version=n.signed_version or n.version,
                reason=body.reason,
                terminated_at=now,
            )
        )
        return await _view(uow.conn, agreement_id)


@router.get("/agreements/{agreement_id}")
async def show(agreement_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row, _ = await agreements.load(conn, agreement_id)
        await may_read_pair(conn, actor, row["community_id"], row["unit_id"], "this agreement")
        return await _view(conn, agreement_id)


@router.get("/agreements")
async def of_party(
    party_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        await authorize(
            conn,
            actor,
            party_id,
            roles={Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN},
            supervisors_may=True,
            action="read this party's agreements",
        )
        rows = await agreements.of_party(conn, party_id, limit)
    return [plain(r) for r in rows]


# --- direct claim ----------------------------------------------------------------------


@router.post("/needs/{need_id}/claims", status_code=201)
async def claim(need_id: UUID, body: ClaimIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """A unit claims a published need: a one-commitment agreement, signed at once."""
    now, today = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        await authorize(conn, actor, body.unit_id, roles={Role.UNIT_ADMIN}, action="claim needs")
        need = await lists.get_need(conn, need_id, lock=True)
        unit = await parties.get(conn, body.unit_id)
        if unit is None or unit.kind is not PartyKind.UNIT:
            raise Invalid(f"{body.unit_id} is not a registered unit", field="body.unit_id")
        if need["status"] != "published":
            raise Conflict(f"need {need_id} is {need['status']}; only a published need is claimed")
        _claimable(need, unit.paired_community_ids)
        deadline = body.deadline or need["wanted_by"]
        if deadline < today:
            raise Invalid(f"deadline {deadline} is before today ({today})", field="body.deadline")
        community_id = need["community_id"]
        item = CommitmentItem(
            commitment_id=uuid7(),
            title=need["title"],
            description=need["description"],
            kind=ItemKind(need["kind"]),
            category=need["category"],
            obligor_party_id=body.unit_id,
            beneficiary_party_id=community_id,
            responsible_title=body.responsible_title,
            responsible_member_id=body.responsible_member_id,
            deadline=deadline,
            funds_fen=need["funds_fen"],
            quantity=need["quantity"],
            quantity_unit=need["quantity_unit"],
            need_id=need_id,
        )
        agreement_id = uuid7()
        n = Negotiation(
            community_id,
            body.unit_id,
            AgreementState.SIGNED,
            1,
            body.unit_id,
            1,
            frozenset({body.unit_id}),
        )
        street_id, district_id = await _ancestry(conn, community_id)
        await agreements.create(
            conn,
            agreement_id=agreement_id,
            negotiation=n,
            origin=AgreementOrigin.CLAIM,
            street_id=street_id,
            district_id=district_id,
            need_id=need_id,
            at=now,
        )
        await agreements.update(conn, agreement_id, n, at=now)
        r = Round(1, "claim", body.unit_id, None, today, deadline, [item], None, now)
        await agreements.add_round(conn, agreement_id, r, actor.subject)
        await agreements.add_signature(conn, agreement_id, 1, body.unit_id, actor.subject, now)
        await lists.set_need_status(conn, need_id, "claimed", now)
        claimed = NeedClaimed(
            need_id=need_id,
            community_id=community_id,
            unit_id=body.unit_id,
            agreement_id=agreement_id,
            claimed_at=now,
        )
        await lists.record_need_version(
            conn, need_id, need["version"], claimed.EVENT_TYPE, claimed.model_dump(mode="json"), now
        )
        await uow.emit(claimed)
        row, _ = await agreements.load(conn, agreement_id)
        await _signed(uow, row, 1, r, AgreementOrigin.CLAIM, now)
        return await _view(conn, agreement_id)


def _claimable(need: asyncpg.Record, paired: tuple[UUID, ...]) -> None:
    if need["visibility"] == Visibility.PRIVATE.value:
        raise Forbidden(f"need {need['need_id']} is private to its community; it cannot be claimed")
    if need["visibility"] == Visibility.PAIRED_UNITS.value and need["community_id"] not in paired:
        raise Forbidden(f"need {need['need_id']} is open to the community's paired units only")
