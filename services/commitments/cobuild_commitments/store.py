"""Commitments, their history and evidence rows in PostgreSQL (asyncpg)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import Envelope, Event, new_event_id
from cobuild_contracts.events.agreements import AgreementSigned, CommitmentItem
from cobuild_kit.db import dumps

from cobuild_commitments.domain.commitment import Commitment, Participation, Status

Emit = Callable[[Event], Awaitable[Envelope]]

_COLUMNS = """commitment_id, agreement_id, community_id, unit_id, obligor_party_id,
beneficiary_party_id, title, kind, category, deadline, funds_fen, quantity, quantity_unit,
opened_at, status, claimed_by, claimed_at, member_ids, percent, note, paid_fen, payment_ref,
done_at, participants, actual_quantity, confirmed_at, cancelled_at, cancel_reason,
overdue_at, reminded_at"""


def _from_row(row: asyncpg.Record) -> Commitment:
    data = dict(row)
    data["status"] = Status(data["status"])
    data["member_ids"] = tuple(data["member_ids"])
    data["participants"] = tuple(
        Participation(UUID(p["member_id"]), Decimal(p["hours"])) for p in data["participants"]
    )
    return Commitment(**data)


async def record(conn: asyncpg.Connection, emit: Emit, event: Event) -> Envelope:
    """Emit through the outbox and append to the commitment's history, in one transaction."""
    env = await emit(event)
    await conn.execute(
        """INSERT INTO commitment_history (commitment_id, event_id, event_type, occurred_at, payload)
           VALUES ($1, $2, $3, $4, $5)""",
        UUID(env.key),
        env.event_id,
        env.event_type,
        env.occurred_at,
        env.payload,
    )
    return env


async def record_many(conn: asyncpg.Connection, envelopes: Sequence[Envelope]) -> None:
    """`record`'s history rows for events already emitted, in order, in one statement."""
    await conn.execute(
        """INSERT INTO commitment_history (commitment_id, event_id, event_type, occurred_at, payload)
           SELECT c, e, t, o, p::jsonb
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[])
                WITH ORDINALITY AS r(c, e, t, o, p, n)
           ORDER BY n""",
        [UUID(env.key) for env in envelopes],
        [env.event_id for env in envelopes],
        [env.event_type for env in envelopes],
        [env.occurred_at for env in envelopes],
        [dumps(env.payload) for env in envelopes],
    )


# --- agreements ------------------------------------------------------------------------


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


# --- commitments -----------------------------------------------------------------------


@dataclass(frozen=True)
class NewItem:
    """An agreement item to open, with the agreement it belongs to and the time it opens."""

    agreement_id: UUID
    parties: AgreementParties
    item: CommitmentItem
    at: datetime

    def row(self) -> tuple[Any, ...]:
        i = self.item
        return (
            i.commitment_id, self.agreement_id, self.parties.community_id, self.parties.unit_id,
            i.obligor_party_id, i.beneficiary_party_id, i.title, i.kind.value, i.category,
            i.deadline, i.funds_fen, i.quantity, i.quantity_unit, self.at,
        )  # fmt: skip


_OPEN = f"""
INSERT INTO commitments (commitment_id, agreement_id, community_id, unit_id, obligor_party_id,
    beneficiary_party_id, title, kind, category, deadline, funds_fen, quantity, quantity_unit,
    status, opened_at)
SELECT c, a, cm, u, o, b, t, k, cat, d, f, q, qu, 'opened', at
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[],
            $8::text[], $9::text[], $10::date[], $11::bigint[], $12::int[], $13::text[],
            $14::timestamptz[]) WITH ORDINALITY
     AS r(c, a, cm, u, o, b, t, k, cat, d, f, q, qu, at, n)
ORDER BY n
ON CONFLICT (commitment_id) DO NOTHING
RETURNING {_COLUMNS}
"""


async def open_items(conn: asyncpg.Connection, items: Sequence[NewItem]) -> list[Commitment]:
    """Insert the items' commitments in one statement; the ones new here, in the items' order.
    An item already open (a replay, a repeat, or earlier in `items`) is left as it is."""
    first: dict[UUID, NewItem] = {}
    for new in items:
        first.setdefault(new.item.commitment_id, new)
    if not first:
        return []
    columns = list(zip(*(new.row() for new in first.values()), strict=True))
    rows = await conn.fetch(_OPEN, *(list(c) for c in columns))
    opened = {r["commitment_id"]: _from_row(r) for r in rows}
    return [opened[cid] for cid in first if cid in opened]


async def load(conn: asyncpg.Connection, commitment_id: UUID, *, lock: bool) -> Commitment | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM commitments WHERE commitment_id = $1{suffix}", commitment_id
    )
    return _from_row(row) if row else None


async def load_open_of_agreement(
    conn: asyncpg.Connection, agreement_id: UUID, ids: Sequence[UUID] | None = None
) -> list[Commitment]:
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM commitments
            WHERE agreement_id = $1 AND status NOT IN ('fulfilled', 'cancelled')
              AND ($2::uuid[] IS NULL OR commitment_id = ANY($2))
            ORDER BY commitment_id FOR UPDATE""",
        agreement_id,
        list(ids) if ids is not None else None,
    )
    return [_from_row(r) for r in rows]


_SAVE_SET = """status = $2, claimed_by = $3, claimed_at = $4, member_ids = $5, percent = $6,
note = $7, paid_fen = $8, payment_ref = $9, done_at = $10, participants = $11,
actual_quantity = $12, confirmed_at = $13, cancelled_at = $14, cancel_reason = $15,
updated_at = now()"""
# A command's state and its history entry in one round trip (the CTE's UPDATE always runs).
_SAVE_WITH_HISTORY = f"""
WITH saved AS (UPDATE commitments SET {_SAVE_SET} WHERE commitment_id = $1)
INSERT INTO commitment_history (commitment_id, event_id, event_type, occurred_at, payload, published)
VALUES ($16, $17, $18, $19, $20, $21)
"""


def _state_args(c: Commitment) -> tuple[Any, ...]:
    return (
        c.commitment_id,
        c.status.value,
        c.claimed_by,
        c.claimed_at,
        list(c.member_ids),
        c.percent,
        c.note,
        c.paid_fen,
        c.payment_ref,
        c.done_at,
        [{"member_id": str(p.member_id), "hours": str(p.hours)} for p in c.participants],
        c.actual_quantity,
        c.confirmed_at,
        c.cancelled_at,
        c.cancel_reason,
    )


async def save_and_record(
    conn: asyncpg.Connection, emit: Emit, c: Commitment, event: Event
) -> Envelope:
    """Write the state a transition produced (the one-time flags have their own updates) and
    emit its event: the outbox row, then the state and its history entry in one statement."""
    env = await emit(event)
    await conn.execute(
        _SAVE_WITH_HISTORY,
        *_state_args(c),
        UUID(env.key),
        env.event_id,
        env.event_type,
        env.occurred_at,
        env.payload,
        True,
    )
    return env


async def save_and_note(
    conn: asyncpg.Connection, c: Commitment, kind: str, at: datetime, payload: dict[str, Any]
) -> None:
    """Write the state of a step that publishes no event (marking done), with its history
    entry, in one round trip."""
    await conn.execute(
        _SAVE_WITH_HISTORY,
        *_state_args(c),
        c.commitment_id,
        new_event_id(),
        kind,
        at,
        payload,
        False,
    )


async def flag_overdue(conn: asyncpg.Connection, commitment_id: UUID, at: datetime) -> bool:
    """Raise the overdue flag; True only for the one caller that actually raised it."""
    status = await conn.execute(
        "UPDATE commitments SET overdue_at = $2, updated_at = now() "
        "WHERE commitment_id = $1 AND overdue_at IS NULL",
        commitment_id,
        at,
    )
    return bool(status == "UPDATE 1")


async def flag_reminded(conn: asyncpg.Connection, commitment_id: UUID, at: datetime) -> bool:
    status = await conn.execute(
        "UPDATE commitments SET reminded_at = $2, updated_at = now() "
        "WHERE commitment_id = $1 AND reminded_at IS NULL",
        commitment_id,
        at,
    )
    return bool(status == "UPDATE 1")


async def deadline_candidates(
    conn: asyncpg.Connection, today: date, horizon: date, limit: int
) -> list[Commitment]:
    """Commitments that may need a reminder (due by `horizon`) or the overdue flag (past
    their deadline), locked for this scan. A prefilter: the domain makes the decision."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM commitments
            WHERE (reminded_at IS NULL AND deadline <= $2
                   AND status IN ('opened', 'claimed', 'in_progress'))
               OR (overdue_at IS NULL AND deadline < $1
                   AND (status IN ('opened', 'claimed', 'in_progress')
                        OR (status = 'done_pending_confirmation'
                            AND (done_at AT TIME ZONE 'Asia/Shanghai')::date > deadline)))
            ORDER BY deadline, commitment_id LIMIT $3 FOR UPDATE SKIP LOCKED""",
        today,
        horizon,
        limit,
    )
    return [_from_row(r) for r in rows]


# --- queries ---------------------------------------------------------------------------

# Overdue first, then work still owed, then awaiting confirmation, then finished.
_INBOX_RANK = """CASE WHEN status IN ('fulfilled', 'cancelled') THEN 3
     WHEN overdue_at IS NOT NULL THEN 0
     WHEN status = 'done_pending_confirmation' THEN 2 ELSE 1 END"""


@dataclass(frozen=True)
class Filters:
    agreement_id: UUID | None = None
    unit_id: UUID | None = None
    community_id: UUID | None = None
    obligor_party_id: UUID | None = None
    status: Status | None = None
    overdue: bool | None = None
    deadline_from: date | None = None
    deadline_to: date | None = None
    # Visibility: only commitments touching one of these parties (None: no restriction).
    visible_to: Sequence[UUID] | None = None


def _where(f: Filters) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if f.agreement_id is not None:
        add("agreement_id = ?", f.agreement_id)
    if f.unit_id is not None:
        add("unit_id = ?", f.unit_id)
    if f.community_id is not None:
        add("community_id = ?", f.community_id)
    if f.obligor_party_id is not None:
        add("obligor_party_id = ?", f.obligor_party_id)
    if f.status is not None:
        add("status = ?", f.status.value)
    if f.overdue is not None:
        clauses.append("overdue_at IS NOT NULL" if f.overdue else "overdue_at IS NULL")
    if f.deadline_from is not None:
        add("deadline >= ?", f.deadline_from)
    if f.deadline_to is not None:
        add("deadline <= ?", f.deadline_to)
    if f.visible_to is not None:
        add("(unit_id = ANY(?::uuid[]) OR community_id = ANY(?::uuid[]))", list(f.visible_to))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


async def search(
    conn: asyncpg.Connection, f: Filters, *, limit: int, offset: int, inbox_order: bool
) -> tuple[list[Commitment], int]:
    where, args = _where(f)
    order = f"{_INBOX_RANK}, deadline, commitment_id" if inbox_order else "deadline, commitment_id"
    n = len(args)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM commitments{where} ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}",
        *args,
        limit,
        offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM commitments{where}", *args)
    return [_from_row(r) for r in rows], int(total)


async def history(conn: asyncpg.Connection, commitment_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT seq, event_id, event_type, occurred_at, payload, published
           FROM commitment_history
           WHERE commitment_id = $1 ORDER BY seq""",
        commitment_id,
    )
    return rows


# --- evidence --------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceRow:
    evidence_id: UUID
    commitment_id: UUID
    sha256: str
    content_type: str
    size_bytes: int
    filename: str
    uploaded_by: str
    uploaded_at: datetime


async def insert_evidence(conn: asyncpg.Connection, e: EvidenceRow) -> None:
    await conn.execute(
        """INSERT INTO evidence (evidence_id, commitment_id, sha256, content_type, size_bytes,
                                 filename, uploaded_by, uploaded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        e.evidence_id,
        e.commitment_id,
        e.sha256,
        e.content_type,
        e.size_bytes,
        e.filename,
        e.uploaded_by,
        e.uploaded_at,
    )


async def evidence_of(conn: asyncpg.Connection, commitment_id: UUID) -> list[EvidenceRow]:
    rows = await conn.fetch(
        "SELECT * FROM evidence WHERE commitment_id = $1 ORDER BY uploaded_at, evidence_id",
        commitment_id,
    )
    return [EvidenceRow(**dict(r)) for r in rows]


async def evidence_by_id(conn: asyncpg.Connection, evidence_id: UUID) -> EvidenceRow | None:
    row = await conn.fetchrow("SELECT * FROM evidence WHERE evidence_id = $1", evidence_id)
    return EvidenceRow(**dict(row)) if row else None


async def sha_in_use(conn: asyncpg.Connection, sha256: str) -> bool:
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM evidence WHERE sha256 = $1)", sha256)
    )
