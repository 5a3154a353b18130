"""The deadlines worker: flags overdue commitments and sends reminders, each once.

Business time comes from `rt.clock`, so a test clock can run a year in seconds. Each scan runs
in one transaction under a transaction-scoped advisory lock: one replica scans at a time, and a
flag is raised by a conditional UPDATE in the same transaction as its outbox row, so a restart
neither misses nor repeats an event.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import cast

from cobuild_contracts import CommitmentOverdue, CommitmentReminderDue
from cobuild_kit.clock import business_date
from cobuild_kit.logging import get_logger
from cobuild_kit.service import Runtime, UnitOfWork

from cobuild_commitments import store
from cobuild_commitments.domain.commitment import Commitment
from cobuild_commitments.settings import CommitmentsSettings

log = get_logger(__name__)
_SCAN_LOCK = 0x0C0B_4D01  # this database's deadlines scanner
_BATCH = 500


def settings_of(rt: Runtime) -> CommitmentsSettings:
    return cast(CommitmentsSettings, rt.settings)


async def raise_overdue(uow: UnitOfWork, c: Commitment, now: datetime) -> bool:
    """Flag `c` overdue and emit commitment.overdue, unless it was flagged already."""
    if not await store.flag_overdue(uow.conn, c.commitment_id, now):
        return False
    event = CommitmentOverdue(
        commitment_id=c.commitment_id,
        agreement_id=c.agreement_id,
        deadline=c.deadline,
        detected_at=now,
    )
    await store.record(uow.conn, uow.emit, event)
    return True


async def _remind(uow: UnitOfWork, c: Commitment, now: datetime) -> bool:
    if not await store.flag_reminded(uow.conn, c.commitment_id, now):
        return False
    event = CommitmentReminderDue(
        commitment_id=c.commitment_id,
        obligor_party_id=c.obligor_party_id,
        deadline=c.deadline,
        days_left=c.days_left(business_date(now)),
        due_at=now,
    )
    await store.record(uow.conn, uow.emit, event)
    return True


async def scan_deadlines(rt: Runtime) -> tuple[int, int, int]:
    """One pass: (candidates, overdue flagged, reminders sent); zeros when another replica
    holds the scan."""
    now = rt.clock.now()
    today = business_date(now)
    days = settings_of(rt).reminder_days
    overdue = reminders = 0
    async with rt.unit_of_work() as uow:
        if not await uow.conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _SCAN_LOCK):
            return 0, 0, 0
        horizon = today + timedelta(days=days)
        candidates = await store.deadline_candidates(uow.conn, today, horizon, _BATCH)
        for c in candidates:
            if c.reminder_due(today, days) and await _remind(uow, c, now):
                reminders += 1
            if c.overdue_due(today) and await raise_overdue(uow, c, now):
                overdue += 1
    if len(candidates) < _BATCH:  # everything due by `now` is flagged
        rt.progress["deadlines_scanned_through"] = now.isoformat()
    if overdue or reminders:
        log.info(
            "deadlines.scanned", business_date=str(today), overdue=overdue, reminders=reminders
        )
    return len(candidates), overdue, reminders


async def watch_deadlines(rt: Runtime) -> None:
    """Forever: scan, then sleep the configured interval (the kit restarts it on a crash)."""
    interval = settings_of(rt).deadline_scan_interval_s
    while True:
        candidates, _, _ = await scan_deadlines(rt)
        if candidates < _BATCH:  # a full batch: more may be waiting, go again
            await asyncio.sleep(interval)
