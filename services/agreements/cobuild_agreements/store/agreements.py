"""Agreements, every negotiation round, signatures and the commitments in force."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_contracts import AgreementOrigin, CommitmentItem
from cobuild_kit.errors import NotFound

from cobuild_agreements.domain.negotiation import AgreementState, Negotiation, Round
from cobuild_agreements.store.paging import TOTAL, page


def _round(row: asyncpg.Record) -> Round:
    return Round(
        version=row["version"],
        round=row["round"],
        proposed_by=row["proposed_by"],
        counters_version=row["counters_version"],
        term_start=row["term_start"],
        term_end=row["term_end"],
        items=[CommitmentItem.model_validate(i) for i in row["items"]],
        reason=row["reason"],
        proposed_at=row["proposed_at"],
    )


async def create(
    conn: asyncpg.Connection,
    *,
    agreement_id: UUID,
    negotiation: Negotiation,
    origin: AgreementOrigin,
    street_id: UUID | None,
    district_id: UUID | None,
    need_id: UUID | None,
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO agreement (agreement_id, community_id, unit_id, street_id, district_id,
               origin, state, version, proposed_by, signed_version, need_id, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        agreement_id,
        negotiation.community_id,
        negotiation.unit_id,
        street_id,
        district_id,
        origin.value,
        negotiation.state.value,
        negotiation.version,
        negotiation.proposed_by,
        negotiation.signed_version,
        need_id,
        at,
    )


async def load(
    conn: asyncpg.Connection, agreement_id: UUID, *, lock: bool = False
) -> tuple[asyncpg.Record, Negotiation]:
    """The agreement row and its negotiation; `lock` holds the row until the transaction ends,
    so concurrent signatures and counters on one agreement take turns."""
    row = await conn.fetchrow(
        "SELECT * FROM agreement WHERE agreement_id = $1" + (" FOR UPDATE" if lock else ""),
        agreement_id,
    )
    if row is None:
        raise NotFound(f"agreement {agreement_id} does not exist")
    signers = await conn.fetch(
        "SELECT party_id FROM signature WHERE agreement_id = $1 AND version = $2",
        agreement_id,
        row["version"],
    )
    negotiation = Negotiation(
        community_id=row["community_id"],
        unit_id=row["unit_id"],
        state=AgreementState(row["state"]),
        version=row["version"],
        proposed_by=row["proposed_by"],
        signed_version=row["signed_version"],
        signers=frozenset(r["party_id"] for r in signers),
    )
    return row, negotiation


async def update(
    conn: asyncpg.Connection, agreement_id: UUID, n: Negotiation, *, at: datetime | None = None
) -> None:
    """Store the negotiation's new state; `at` stamps signing or termination when it changes."""
    await conn.execute(
        """UPDATE agreement SET state = $2, version = $3, proposed_by = $4, signed_version = $5,
               signed_at = CASE WHEN $2 = 'signed' AND $6::timestamptz IS NOT NULL
                                THEN coalesce(signed_at, $6) ELSE signed_at END,
               terminated_at = CASE WHEN $2 = 'terminated' THEN $6 ELSE terminated_at END
           WHERE agreement_id = $1""",
        agreement_id,
        n.state.value,
        n.version,
        n.proposed_by,
        n.signed_version,
        at,
    )


async def set_termination_reason(conn: asyncpg.Connection, agreement_id: UUID, reason: str) -> None:
    await conn.execute(
        "UPDATE agreement SET termination_reason = $2 WHERE agreement_id = $1",
        agreement_id,
        reason,
    )


async def add_round(
    conn: asyncpg.Connection,
    agreement_id: UUID,
    r: Round,
    actor_subject: str,
) -> None:
    await conn.execute(
        """INSERT INTO proposal (agreement_id, version, round, proposed_by, proposed_by_actor,
               counters_version, term_start, term_end, items, reason, proposed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        agreement_id,
        r.version,
        r.round,
        r.proposed_by,
        actor_subject,
        r.counters_version,
        r.term_start,
        r.term_end,
        [i.model_dump(mode="json") for i in r.items],
        r.reason,
        r.proposed_at,
    )


async def round_of(conn: asyncpg.Connection, agreement_id: UUID, version: int) -> Round:
    row = await conn.fetchrow(
        "SELECT * FROM proposal WHERE agreement_id = $1 AND version = $2", agreement_id, version
    )
    if row is None:
        raise NotFound(f"agreement {agreement_id} has no version {version}")
    return _round(row)


async def rounds(conn: asyncpg.Connection, agreement_id: UUID) -> list[Round]:
    rows = await conn.fetch(
        "SELECT * FROM proposal WHERE agreement_id = $1 ORDER BY version", agreement_id
    )
    return [_round(r) for r in rows]


async def add_signature(
    conn: asyncpg.Connection,
    agreement_id: UUID,
    version: int,
    party_id: UUID,
    by: str,
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO signature (agreement_id, version, party_id, signed_by, signed_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        agreement_id,
        version,
        party_id,
        by,
        at,
    )


async def signatures(conn: asyncpg.Connection, agreement_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT version, party_id, signed_by, signed_at FROM signature WHERE agreement_id = $1 "
        "ORDER BY version, signed_at",
        agreement_id,
    )
    return rows


async def open_commitments(
    conn: asyncpg.Connection, agreement_id: UUID, items: Sequence[CommitmentItem], version: int
) -> None:
    await conn.executemany(
        "INSERT INTO commitment (commitment_id, agreement_id, item, since_version) "
        "VALUES ($1, $2, $3, $4)",
        [(i.commitment_id, agreement_id, i.model_dump(mode="json"), version) for i in items],
    )


async def cancel_commitments(
    conn: asyncpg.Connection, ids: Sequence[UUID], version: int, at: datetime
) -> None:
    await conn.execute(
        """UPDATE commitment SET cancelled_in_version = $2, cancelled_at = $3
           WHERE commitment_id = ANY($1::uuid[]) AND cancelled_at IS NULL""",
        list(ids),
        version,
        at,
    )


async def in_force(conn: asyncpg.Connection, agreement_id: UUID) -> list[CommitmentItem]:
    rows = await conn.fetch(
        "SELECT item FROM commitment WHERE agreement_id = $1 AND cancelled_at IS NULL "
        "ORDER BY since_version, commitment_id",
        agreement_id,
    )
    return [CommitmentItem.model_validate(r["item"]) for r in rows]


async def of_party(
    conn: asyncpg.Connection, party_id: UUID, *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    return await page(
        conn,
        f"""SELECT *, {TOTAL} FROM agreement WHERE community_id = $1 OR unit_id = $1
            ORDER BY created_at DESC, agreement_id""",
        party_id,
        limit=limit,
        offset=offset,
    )


async def signed_of_community(
    conn: asyncpg.Connection, community_id: UUID, *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    return await page(
        conn,
        f"""SELECT a.*, u.name AS unit_name, {TOTAL}
            FROM agreement a JOIN party u ON u.party_id = a.unit_id
            WHERE a.community_id = $1 AND a.state IN ('signed', 'amending')
            ORDER BY a.signed_at DESC, a.agreement_id""",
        community_id,
        limit=limit,
        offset=offset,
    )
