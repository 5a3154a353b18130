"""Reading agreements: one as its parties see it (every round, signature and commitment in
force), and a party's list."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg
from cobuild_contracts import CommitmentItem
from cobuild_kit.auth import Actor

from cobuild_agreements.domain.negotiation import Negotiation, Round
from cobuild_agreements.settings import AgreementsRuntime
from cobuild_agreements.store import agreements
from cobuild_agreements.usecases import access


@dataclass(frozen=True)
class AgreementView:
    row: asyncpg.Record
    negotiation: Negotiation
    rounds: list[Round]
    signatures: list[asyncpg.Record]
    commitments: list[CommitmentItem]  # in force


async def view(conn: asyncpg.Connection, agreement_id: UUID) -> AgreementView:
    """Read in the caller's transaction, so a command shows what it just wrote."""
    row, n = await agreements.load(conn, agreement_id)
    return AgreementView(
        row=row,
        negotiation=n,
        rounds=await agreements.rounds(conn, agreement_id),
        signatures=await agreements.signatures(conn, agreement_id),
        commitments=await agreements.in_force(conn, agreement_id),
    )


async def show(rt: AgreementsRuntime, actor: Actor, agreement_id: UUID) -> AgreementView:
    async with rt.pool.acquire() as conn:
        with access.hidden(f"agreement {agreement_id} does not exist", "path.agreement_id"):
            row, _ = await agreements.load(conn, agreement_id)
            await access.may_read_pair(
                conn, actor, row["community_id"], row["unit_id"], "this agreement"
            )
        return await view(conn, agreement_id)


async def of_party(
    rt: AgreementsRuntime, actor: Actor, party_id: UUID, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """A page of the party's agreements, newest first, and how many there are."""
    async with rt.pool.acquire() as conn:
        await access.may_read_agreements_of(conn, actor, party_id)
        return await agreements.of_party(conn, party_id, limit=limit, offset=offset)
