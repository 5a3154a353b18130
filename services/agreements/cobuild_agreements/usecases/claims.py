"""Direct claims: a unit takes on a published need as a one-commitment agreement, signed at once.

It publishes need.claimed and then agreement.signed; downstream acts on agreement.signed only
(ARCHITECTURE.md, "The event flow").
"""

from __future__ import annotations

from uuid import UUID

from cobuild_contracts import (
    AgreementOrigin,
    CommitmentItem,
    ItemKind,
    NeedClaimed,
    PartyKind,
    uuid7,
)
from cobuild_contracts.base import BusinessDate
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Invalid
from pydantic import BaseModel, ConfigDict, Field

from cobuild_agreements.domain.lists import check_claimable, claim_deadline
from cobuild_agreements.domain.negotiation import Negotiation, Round
from cobuild_agreements.domain.privacy import mask
from cobuild_agreements.settings import AgreementsRuntime
from cobuild_agreements.store import agreements, lists, parties
from cobuild_agreements.usecases.access import may_claim_needs
from cobuild_agreements.usecases.agreements import AgreementView, view
from cobuild_agreements.usecases.negotiation import ancestry, signed
from cobuild_agreements.usecases.rules import now_and_today


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_id: UUID
    responsible_title: str = Field(min_length=1, max_length=100)
    responsible_member_id: UUID | None = None
    deadline: BusinessDate | None = None  # default: the need's wanted-by date


async def claim(rt: AgreementsRuntime, actor: Actor, need_id: UUID, body: ClaimIn) -> AgreementView:
    """A unit claims a published need: a one-commitment agreement, signed at once."""
    now, today = now_and_today(rt)
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        await may_claim_needs(conn, actor, body.unit_id)
        need = await lists.get_need(conn, need_id, lock=True)
        unit = await parties.get(conn, body.unit_id)
        if unit is None or unit.kind is not PartyKind.UNIT:
            raise Invalid(f"{body.unit_id} is not a registered unit", field="body.unit_id")
        community_id = need["community_id"]
        check_claimable(
            need_id, need["status"], need["visibility"], community_id, unit.paired_community_ids
        )
        deadline = claim_deadline(body.deadline, need["wanted_by"], today)
        item = CommitmentItem(
            commitment_id=uuid7(),
            title=mask(need["title"]),  # the agreement and its events: no personal data
            description=mask(need["description"]),
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
        n = Negotiation.claimed(community_id, body.unit_id)
        street_id, district_id = await ancestry(conn, community_id)
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
        await signed(uow, row, 1, r, AgreementOrigin.CLAIM, now)
        return await view(conn, agreement_id)
