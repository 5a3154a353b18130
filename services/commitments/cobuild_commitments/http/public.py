"""What anyone may read of a fulfilled commitment, without a token: what was promised and what
was done, for the resident who rates it from the QR code the community shows (issue 36). No
personal data: no members, no notes (a note may name people), no payment reference, no
evidence (a photo may show faces). A commitment not fulfilled answers 404, as an unknown id."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from cobuild_kit.api import refusals
from cobuild_kit.service import PublicRateLimit
from fastapi import APIRouter
from pydantic import BaseModel

from cobuild_commitments.settings import RuntimeDep
from cobuild_commitments.usecases import queries

router = APIRouter(tags=["public"])


class PublicCommitment(BaseModel):
    commitment_id: UUID
    community_id: UUID
    unit_id: UUID
    title: str
    kind: str
    category: str
    quantity: int
    quantity_unit: str
    actual_quantity: int
    funds_fen: int
    paid_fen: int
    deadline: date
    done_date: date
    on_time: bool
    confirmed_at: datetime


@router.get(
    "/public/commitments/{commitment_id}",
    dependencies=[PublicRateLimit],
    responses=refusals(404, 429),
)
async def fulfilled(commitment_id: UUID, rt: RuntimeDep) -> PublicCommitment:
    """A fulfilled commitment as the public may see it: what, how much, by when, when done."""
    c = await queries.fulfilled(rt, commitment_id)
    assert c.done_date is not None and c.confirmed_at is not None  # fulfilled
    return PublicCommitment(
        commitment_id=c.commitment_id,
        community_id=c.community_id,
        unit_id=c.unit_id,
        title=c.title,
        kind=c.kind,
        category=c.category,
        quantity=c.quantity,
        quantity_unit=c.quantity_unit,
        actual_quantity=c.delivered_quantity,
        funds_fen=c.funds_fen,
        paid_fen=c.paid_fen,
        deadline=c.deadline,
        done_date=c.done_date,
        on_time=c.on_time,
        confirmed_at=c.confirmed_at,
    )
