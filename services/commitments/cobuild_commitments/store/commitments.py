"""The commitment rows, table `commitments`: opening, loading, saving a transition with its
history entry, and the lists and task inboxes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import Envelope, Event, new_event_id
from cobuild_contracts.events.agreements import CommitmentItem

from cobuild_commitments.domain.commitment import Commitment, Participation, Status
from cobuild_commitments.domain.listing import Filters
from cobuild_commitments.store.agreements import AgreementParties
from cobuild_commitments.store.history import Emit

# The columns a Commitment is read from (`from_row`); the deadlines scan reads them too.
COLUMNS = """commitment_id, agreement_id, community_id, unit_id, obligor_party_id,
beneficiary_party_id, title, kind, category, deadline, funds_fen, quantity, quantity_unit,
opened_at, status, claimed_by, claimed_at, member_ids, percent, note, paid_fen, payment_ref,
done_at, participants, actual_quantity, confirmed_at, cancelled_at, cancel_reason,
overdue_at, reminded_at"""


def from_row(row: asyncpg.Record) -> Commitment:
    data = dict(row)
    data["status"] = Status(data["status"])
    data["member_ids"] = tuple(data["member_ids"])
    data["participants"] = tuple(
        Participation(UUID(p["member_id"]), Decimal(p["hours"])) for p in data["participants"]
    )
    return Commitment(**data)


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
RETURNING {COLUMNS}
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
    opened = {r["commitment_id"]: from_row(r) for r in rows}
    return [opened[cid] for cid in first if cid in opened]


async def load(conn: asyncpg.Connection, commitment_id: UUID, *, lock: bool) -> Commitment | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM commitments WHERE commitment_id = $1{suffix}", commitment_id
    )
    return from_row(row) if row else None


async def load_open_of_agreement(
    conn: asyncpg.Connection, agreement_id: UUID, ids: Sequence[UUID] | None = None
) -> list[Commitment]:
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM commitments
            WHERE agreement_id = $1 AND status NOT IN ('fulfilled', 'cancelled')
              AND ($2::uuid[] IS NULL OR commitment_id = ANY($2))
            ORDER BY commitment_id FOR UPDATE""",
        agreement_id,
        list(ids) if ids is not None else None,
    )
    return [from_row(r) for r in rows]


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
    """Write the state a transition produced (the one-time flags are `store.deadlines`') and
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


# Overdue first, then work still owed, then awaiting confirmation, then finished.
_INBOX_RANK = """CASE WHEN status IN ('fulfilled', 'cancelled') THEN 3
     WHEN overdue_at IS NOT NULL THEN 0
     WHEN status = 'done_pending_confirmation' THEN 2 ELSE 1 END"""


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
        f"SELECT {COLUMNS} FROM commitments{where} ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}",
        *args,
        limit,
        offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM commitments{where}", *args)
    return [from_row(r) for r in rows], int(total)
