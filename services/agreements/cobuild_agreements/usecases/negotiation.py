"""Negotiation and signing: propose, counter, sign, amend and terminate an agreement.

Each command runs in one transaction: load the agreement under its row lock, find the side the
actor acts for, ask the `Negotiation` for the next state, store the round and the state, emit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import asyncpg
from cobuild_contracts import (
    AgreementAmended,
    AgreementOrigin,
    AgreementSigned,
    AgreementTerminated,
    PartyKind,
    ProposalCountered,
    ProposalMade,
    uuid7,
)
from cobuild_contracts.base import MAX_FEN, MAX_QUANTITY, MAX_VERSION, BusinessDate
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Invalid
from cobuild_kit.service import UnitOfWork
from pydantic import BaseModel, ConfigDict, Field

from cobuild_agreements.domain.drafts import (
    Amendment,
    DraftItem,
    carry_ids,
    check_cancellations,
    diff,
)
from cobuild_agreements.domain.negotiation import AgreementState, Negotiation, Round, SignOutcome
from cobuild_agreements.settings import AgreementsRuntime
from cobuild_agreements.store import agreements, lists, parties
from cobuild_agreements.usecases.access import acting_side
from cobuild_agreements.usecases.agreements import AgreementView, view
from cobuild_agreements.usecases.reference import CategoryIn, ItemKindCode
from cobuild_agreements.usecases.rules import draft_rules, now_and_today


class DraftItemIn(BaseModel):
    """One commitment with the four fixes (四定). Name `commitment_id` to keep an earlier item."""

    model_config = ConfigDict(extra="forbid")

    commitment_id: UUID | None = None
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    kind: ItemKindCode
    category: CategoryIn
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


# --- shared steps ----------------------------------------------------------------------


def _check_terms(body: Terms, today: date) -> None:
    if body.term_end < body.term_start:
        raise Invalid("term_end is before term_start", field="body.term_end")
    if body.term_end < today:
        raise Invalid(f"term_end {body.term_end} is before today ({today})", field="body.term_end")


async def ancestry(conn: asyncpg.Connection, community_id: UUID) -> tuple[UUID | None, UUID | None]:
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
        if await lists.need_community(conn, item.need_id) != community_id:
            raise Invalid(
                f"need {item.need_id} is not a need of community {community_id}",
                field=f"{prefix}.{n}.need_id",
            )


def _proposed(agreement_id: UUID, n: Negotiation, r: Round) -> ProposalMade | ProposalCountered:
    """The event of a new draft: proposal.countered when it answers a version, else made."""
    common = {
        "agreement_id": agreement_id,
        "version": r.version,
        "proposed_by": r.proposed_by,
        "community_id": n.community_id,
        "unit_id": n.unit_id,
        "term_start": r.term_start,
        "term_end": r.term_end,
        "items": r.items,
        "proposed_at": r.proposed_at,
    }
    if r.counters_version is None:
        return ProposalMade(**common)
    return ProposalCountered(**common, counters_version=r.counters_version)


async def signed(
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


async def _amended(uow: UnitOfWork, agreement_id: UUID, version: int, now: datetime) -> None:
    """A signed amendment: cancel what it drops, open what it adds, publish the change."""
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


# --- commands --------------------------------------------------------------------------


async def propose(rt: AgreementsRuntime, actor: Actor, body: ProposalIn) -> AgreementView:
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
        street_id, district_id = await ancestry(uow.conn, body.community_id)
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
        await uow.emit(_proposed(agreement_id, negotiation, r))
        return await view(uow.conn, agreement_id)


async def counter(
    rt: AgreementsRuntime, actor: Actor, agreement_id: UUID, body: CounterIn
) -> AgreementView:
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
        await uow.emit(_proposed(agreement_id, n, r))
        return await view(uow.conn, agreement_id)


async def sign(
    rt: AgreementsRuntime, actor: Actor, agreement_id: UUID, version: int
) -> tuple[SignOutcome, AgreementView]:
    """Sign the current draft for the actor's party. Signed when both parties signed the same
    version; the row lock makes simultaneous or repeated signatures yield one agreement.signed."""
    now, _ = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        row, n = await agreements.load(uow.conn, agreement_id, lock=True)
        side = acting_side(actor, n.community_id, n.unit_id, "sign this agreement")
        after, outcome = n.sign(side, version)
        if outcome is not SignOutcome.ALREADY_SIGNED:
            await agreements.add_signature(
                uow.conn, agreement_id, version, side, actor.subject, now
            )
            await agreements.update(uow.conn, agreement_id, after, at=now)
        if outcome is SignOutcome.SIGNED:
            r = await agreements.round_of(uow.conn, agreement_id, version)
            await signed(uow, row, version, r, AgreementOrigin(row["origin"]), now)
        elif outcome is SignOutcome.AMENDED:
            await _amended(uow, agreement_id, version, now)
        return outcome, await view(uow.conn, agreement_id)


async def amend(
    rt: AgreementsRuntime, actor: Actor, agreement_id: UUID, body: AmendIn
) -> AgreementView:
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
        await uow.emit(_proposed(agreement_id, n, r))
        return await view(uow.conn, agreement_id)


async def terminate(
    rt: AgreementsRuntime, actor: Actor, agreement_id: UUID, reason: str
) -> AgreementView:
    """Either party ends a signed agreement; what is still open is cancelled downstream."""
    now, _ = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        _row, n = await agreements.load(uow.conn, agreement_id, lock=True)
        side = acting_side(actor, n.community_id, n.unit_id, "terminate this agreement")
        after = n.terminate(side)
        await agreements.update(uow.conn, agreement_id, after, at=now)
        await agreements.set_termination_reason(uow.conn, agreement_id, reason)
        await uow.emit(
            AgreementTerminated(
                agreement_id=agreement_id,
                version=n.signed_version or n.version,
                reason=reason,
                terminated_at=now,
            )
        )
        return await view(uow.conn, agreement_id)
