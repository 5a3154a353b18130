"""`make bench-large`'s pipeline at 10^6: commitment.opened, then commitment.fulfilled, fed
straight into commitments.events.v1 (as a producing service would)."""

from __future__ import annotations

import time

from bench import feed
from bench.steps.pipeline import (
    baselines,
    fulfil_fed,
    fulfilled_rows,
    throughput_row,
    wait_effects,
)
from bench.suite import Suite, partial


async def measure(s: Suite, n: int) -> None:
    batch = feed.Batch(s.district, "direct", n, members=max(10_000, n // 20))
    s.remember(batch)
    events = feed.encode_all((batch.opened(i) for i in range(n)), "commitments")
    s.rss.mark(f"open {n}")
    base = await baselines(s)
    cpu0 = s.cpu.read()
    t0 = time.perf_counter()
    await s.produce(events)
    del events
    opened_s, opened_n, _ = await wait_effects(
        s, batch, "opened", base, points=False, t0=t0, timeout=s.phase_cap_s
    )
    opened_us = s.cpu_row(f"open {n}: commitment.opened → ledger", cpu0, opened_n, opened_s)
    throughput_row(
        s,
        f"pipeline {n:,}: opened → ledger{partial(opened_n, n)}",
        opened_n,
        opened_s,
        "commitment.opened fed to the topic → evaluation consumer",
        opened_us,
    )
    fulfilled_s, fulfilled_n, fulfilled_us = await fulfil_fed(s, batch)
    fulfilled_rows(s, n, fulfilled_n, fulfilled_s, fulfilled_us)
    throughput_row(
        s,
        f"pipeline {n:,}: sustained, opened + fulfilled",
        opened_n + fulfilled_n,
        opened_s + fulfilled_s,
        "both phases above, ledger facts per second",
    )
