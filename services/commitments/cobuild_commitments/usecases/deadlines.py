"""Deadlines: the one-time overdue flag and the one reminder before a deadline.

Each scan runs in one transaction under a transaction-scoped advisory lock: one replica scans at
a time, and a flag is raised by a conditional UPDATE in the same transaction as its outbox row,
so a restart neither misses nor repeats an event (ARCHITECTURE.md, "Overdue").
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
from cobuild_kit.clock import business_date
from cobuild_kit.logging import get_logger

from cobuild_commitments.domain import events
from cobuild_commitments.domain.commitment import Commitment
from cobuild_commitments.settings import CommitmentsRuntime
from cobuild_commitments.store import deadlines, history
from cobuild_commitments.store.history import Emit

log = get_logger(__name__)
# A scan's most candidates; a full batch means more may be waiting.
BATCH = 500


async def raise_overdue(conn: asyncpg.Connection, emit: Emit, c: Commitment, now: datetime) -> bool:
    """Flag `c` overdue and emit commitment.overdue, unless it was flagged already."""
    if not await deadlines.flag_overdue(conn, c.commitment_id, now):
        return False
    await history.record(conn, emit, events.overdue(c, now))
    return True


async def _remind(conn: asyncpg.Connection, emit: Emit, c: Commitment, now: datetime) -> bool:
    if not await deadlines.flag_reminded(conn, c.commitment_id, now):
        return False
    await history.record(conn, emit, events.reminder_due(c, now))
    return True


async def scan(rt: CommitmentsRuntime) -> tuple[int, int, int]:
    """One pass: (candidates, overdue flagged, reminders sent); zeros when another replica
    holds the scan."""
    now = rt.clock.now()
    today = business_date(now)
    days = rt.settings.reminder_days
    overdue = reminders = 0
    async with rt.unit_of_work() as uow:
        if not await deadlines.try_scan_lock(uow.conn):
            return 0, 0, 0
        horizon = today + timedelta(days=days)
        candidates = await deadlines.deadline_candidates(uow.conn, today, horizon, BATCH)
        for c in candidates:
            if c.reminder_due(today, days) and await _remind(uow.conn, uow.emit, c, now):
                reminders += 1
            if c.overdue_due(today) and await raise_overdue(uow.conn, uow.emit, c, now):
                overdue += 1
    if len(candidates) < BATCH:  # everything due by `now` is flagged
        rt.progress["deadlines_scanned_through"] = now.isoformat()
    if overdue or reminders:
        log.info(
            "deadlines.scanned", business_date=str(today), overdue=overdue, reminders=reminders
        )
    return len(candidates), overdue, reminders
