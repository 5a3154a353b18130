"""Negotiation and signing: propose, counter, sign, amend, terminate; and direct claims."""

from __future__ import annotations

from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, DEFAULT_PAGE, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter

from cobuild_agreements.http.answers import AgreementOut, AgreementSummary, SignOut
from cobuild_agreements.settings import RuntimeDep
from cobuild_agreements.usecases import agreements, claims, negotiation
from cobuild_agreements.usecases.claims import ClaimIn
from cobuild_agreements.usecases.negotiation import (
    AmendIn,
    CounterIn,
    ProposalIn,
    SignIn,
    TerminateIn,
)

router = APIRouter(tags=["agreements"], responses=AUTHENTICATED)
# The commands on one agreement: it may not exist (404), and its state may refuse them (409).
_ON_ONE = refusals(404, 409, 413)


@router.post("/agreements", status_code=201, responses=refusals(404, 413))
async def propose(body: ProposalIn, actor: ActorDep, rt: RuntimeDep) -> AgreementOut:
    """Either party's admin opens a negotiation with a first draft (version 1)."""
    return AgreementOut.of(await negotiation.propose(rt, actor, body))


@router.post("/agreements/{agreement_id}/counters", status_code=201, responses=_ON_ONE)
async def counter(
    agreement_id: UUID, body: CounterIn, actor: ActorDep, rt: RuntimeDep
) -> AgreementOut:
    """The other side answers the current draft with a new version (every round is kept)."""
    return AgreementOut.of(await negotiation.counter(rt, actor, agreement_id, body))


@router.post("/agreements/{agreement_id}/signatures", responses=_ON_ONE)
async def sign(agreement_id: UUID, body: SignIn, actor: ActorDep, rt: RuntimeDep) -> SignOut:
    """Sign the current draft for your party. Signed when both parties signed the same version;
    the row lock makes simultaneous or repeated signatures yield one agreement.signed."""
    outcome, view = await negotiation.sign(rt, actor, agreement_id, body.version)
    return SignOut(outcome=outcome, agreement=AgreementOut.of(view))


@router.post("/agreements/{agreement_id}/amendments", status_code=201, responses=_ON_ONE)
async def amend(agreement_id: UUID, body: AmendIn, actor: ActorDep, rt: RuntimeDep) -> AgreementOut:
    """Propose adding and cancelling commitments of a signed agreement (or counter a pending
    amendment); it takes effect when both parties sign the new version."""
    return AgreementOut.of(await negotiation.amend(rt, actor, agreement_id, body))


@router.post("/agreements/{agreement_id}/termination", responses=_ON_ONE)
async def terminate(
    agreement_id: UUID, body: TerminateIn, actor: ActorDep, rt: RuntimeDep
) -> AgreementOut:
    """Either party ends a signed agreement; what is still open is cancelled downstream."""
    return AgreementOut.of(await negotiation.terminate(rt, actor, agreement_id, body.reason))


@router.get("/agreements/{agreement_id}", responses=refusals(404))
async def show(agreement_id: UUID, actor: ActorDep, rt: RuntimeDep) -> AgreementOut:
    """Every round, signature and commitment in force; 404 also for an agreement the actor
    may not see."""
    return AgreementOut.of(await agreements.show(rt, actor, agreement_id))


@router.get("/agreements")
async def of_party(
    party_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[AgreementSummary]:
    """The party's agreements, newest first."""
    rows, total = await agreements.of_party(rt, actor, party_id, limit, offset)
    items = [AgreementSummary.model_validate(dict(r)) for r in rows]
    return page_of(items, limit=limit, offset=offset, total=total)


@router.post("/needs/{need_id}/claims", status_code=201, responses=_ON_ONE)
async def claim(need_id: UUID, body: ClaimIn, actor: ActorDep, rt: RuntimeDep) -> AgreementOut:
    """A unit claims a published need: a one-commitment agreement, signed at once."""
    return AgreementOut.of(await claims.claim(rt, actor, need_id, body))
