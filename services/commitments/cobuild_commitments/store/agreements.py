"""The agreement-level facts a signing brings (parties, termination), in table `agreements`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_contracts.events.agreements import AgreementSigned


@dataclass(frozen=True)
class AgreementParties:
    community_id: UUID
    unit_id: UUID


async def save_agreements(conn: asyncpg.Connection, events: Sequence[AgreementSigned]) -> None:
    """The agreement-level facts of a run of signings, in one statement (a repeat is a no-op)."""
    await conn.execute(
        """INSERT INTO agreements (agreement_id, community_id, unit_id, street_id, district_id)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[])
           ON CONFLICT (agreement_id) DO NOTHING""",
        [e.agreement_id for e in events],
        [e.community_id for e in events],
        [e.unit_id for e in events],
        [e.street_id for e in events],
        [e.district_id for e in events],
    )


async def agreement_parties(conn: asyncpg.Connection, agreement_id: UUID) -> AgreementParties:
    row = await conn.fetchrow(
        "SELECT community_id, unit_id FROM agreements WHERE agreement_id = $1", agreement_id
    )
    if row is None:
        # Ordering per agreement key makes this a poison message: retries, then the DLQ.
        raise LookupError(f"agreement {agreement_id} was never signed here")
    return AgreementParties(row["community_id"], row["unit_id"])


async def mark_terminated(conn: asyncpg.Connection, agreement_id: UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE agreements SET terminated_at = $2 WHERE agreement_id = $1", agreement_id, at
    )
