"""The escalation worker: flags each missed limit once and raises the whistle a level.

Business time comes from `rt.clock`, so a test clock can run a year in seconds; the scan itself
is `usecases.escalation.scan`.
"""

from __future__ import annotations

import asyncio

from cobuild_escalations.settings import EscalationsRuntime
from cobuild_escalations.usecases import escalation


async def watch_limits(rt: EscalationsRuntime) -> None:
    """Forever: scan, then sleep the configured interval (the kit restarts it on a crash)."""
    while True:
        candidates, _ = await escalation.scan(rt)
        if candidates < escalation.BATCH:  # a full batch: more may be waiting, go again
            await asyncio.sleep(rt.settings.escalation_scan_interval_s)
