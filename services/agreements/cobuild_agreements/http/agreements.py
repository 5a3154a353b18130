"""Negotiation and signing: propose, counter, sign, amend, terminate; and direct claims."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter, Query

from cobuild_agreements.usecases import agreements, claims, negotiation
from cobuild_agreements.usecases.agreements import AgreementView
from cobuild_agreements.usecases.claims import ClaimIn
from cobuild_agreements.usecases.negotiation import (
    AmendIn,
    CounterIn,
    ProposalIn,
    SignIn,
    TerminateIn,
)

router = APIRouter(tags=["agreements"])


def _out(v: AgreementView) -> dict[str, Any]:
    return {
        **dict(v.row),
        "awaiting": sorted(str(p) for p in v.negotiation.awaiting),
        "rounds": [
            {**r.__dict__, "items": [i.model_dump(mode="json") for i in r.items]} for r in v.rounds
        ],
        "signatures": [dict(s) for s in v.signatures],
        "commitments": [i.model_dump(mode="json") for i in v.commitments],
    }


@router.post("/agreements", status_code=201)
async def propose(body: ProposalIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """Either party's admin opens a negotiation with a first draft (version 1)."""
    return _out(await negotiation.propose(rt, actor, body))


@router.post("/agreements/{agreement_id}/counters", status_code=201)
async def counter(
    agreement_id: UUID, body: CounterIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """The other side answers the current draft with a new version (every round is kept)."""
    return _out(await negotiation.counter(rt, actor, agreement_id, body))


@router.post("/agreements/{agreement_id}/signatures")
async def sign(agreement_id: UUID, body: SignIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """Sign the current draft for your party. Signed when both parties signed the same version;
    the row lock makes simultaneous or repeated signatures yield one agreement.signed."""
    outcome, view = await negotiation.sign(rt, actor, agreement_id, body.version)
    return {"outcome": outcome.value, "agreement": _out(view)}


@router.post("/agreements/{agreement_id}/amendments", status_code=201)
async def amend(
    agreement_id: UUID, body: AmendIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Propose adding and cancelling commitments of a signed agreement (or counter a pending
    amendment); it takes effect when both parties sign the new version."""
    return _out(await negotiation.amend(rt, actor, agreement_id, body))


@router.post("/agreements/{agreement_id}/termination")
async def terminate(
    agreement_id: UUID, body: TerminateIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Either party ends a signed agreement; what is still open is cancelled downstream."""
    return _out(await negotiation.terminate(rt, actor, agreement_id, body.reason))


@router.get("/agreements/{agreement_id}")
async def show(agreement_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    return _out(await agreements.show(rt, actor, agreement_id))


@router.get("/agreements")
async def of_party(
    party_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    return [dict(r) for r in await agreements.of_party(rt, actor, party_id, limit)]


@router.post("/needs/{need_id}/claims", status_code=201)
async def claim(need_id: UUID, body: ClaimIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """A unit claims a published need: a one-commitment agreement, signed at once."""
    return _out(await claims.claim(rt, actor, need_id, body))
