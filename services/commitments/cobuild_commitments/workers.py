"""The deadlines worker: flags overdue commitments and sends reminders, each once.

Business time comes from `rt.clock`, so a test clock can run a year in seconds; the scan itself
is `usecases.deadlines.scan`.
"""

from __future__ import annotations

import asyncio

from cobuild_commitments.settings import CommitmentsRuntime
from cobuild_commitments.usecases import deadlines


async def watch_deadlines(rt: CommitmentsRuntime) -> None:
    """Forever: scan, then sleep the configured interval (the kit restarts it on a crash)."""
    interval = rt.settings.deadline_scan_interval_s
    while True:
        candidates, _, _ = await deadlines.scan(rt)
        if candidates < deadlines.BATCH:  # a full batch: more may be waiting, go again
            await asyncio.sleep(interval)
