"""Escalation: each limit that passes unmet flags the whistle once and raises it a level.

Each scan runs in one transaction under a transaction-scoped advisory lock: one replica scans
at a time, and a flag is raised by a conditional UPDATE in the same transaction as its outbox
row, so a restart neither misses nor repeats an escalation (the commitments service's
deadlines worker is the model; ARCHITECTURE.md, "Overdue").

Every command on a whistle flags a missed limit too, in its own transaction and before its
transition (`flag_missed`): whether a reopened matter past its limit is flagged must not depend
on a scan happening to fall between the reopening and the confirmation a moment later.
"""

from __future__ import annotations

from datetime import datetime

from cobuild_contracts.events.escalations import TimeLimit
from cobuild_kit.logging import get_logger
from cobuild_kit.service import UnitOfWork

from cobuild_escalations.domain import events
from cobuild_escalations.domain.whistle import Whistle
from cobuild_escalations.settings import EscalationsRuntime
from cobuild_escalations.store import escalation, history

log = get_logger(__name__)
BATCH = 500  # a scan's most candidates; a full batch means more may be waiting


async def scan(rt: EscalationsRuntime) -> tuple[int, int]:
    """One pass: (candidates, escalations); zeros when another replica holds the scan."""
    now = rt.clock.now()
    raised = 0
    async with rt.unit_of_work() as uow:
        if not await escalation.try_scan_lock(uow.conn):
            return 0, 0
        candidates = await escalation.candidates(uow.conn, now, BATCH)
        for w in candidates:
            raised += (await flag_missed(uow, w, now))[1]
    if len(candidates) < BATCH:  # everything past its limit by `now` is flagged
        rt.progress["escalations_scanned_through"] = now.isoformat()
    if raised:
        log.info("escalations.scanned", escalated=raised)
    return len(candidates), raised


async def flag_missed(uow: UnitOfWork, w: Whistle, now: datetime) -> tuple[Whistle, int]:
    """Flag each limit `w` has missed by `now` and raise it a level, in `uow`: the whistle as
    flagged and how many flags were raised (0 when none was missed or a flag was there)."""
    raised = 0
    for limit in (TimeLimit.RESPOND, TimeLimit.RESOLVE):
        missed = w.response_missed(now) if limit is TimeLimit.RESPOND else w.resolution_missed(now)
        if not missed:
            continue
        flagged, e = w.escalate(limit, now)
        if await escalation.flag(uow.conn, w.whistle_id, limit, now, e.to_level):
            await history.record(uow.conn, uow.emit, events.escalated(w, e, now))
            raised += 1
            w = flagged
    return w, raised
