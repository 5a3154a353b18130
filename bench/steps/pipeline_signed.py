"""`make bench`'s pipeline at 10^4 and 10^5: agreement.signed fed (the commitments service
opens the commitments and publishes them through its outbox), then commitment.fulfilled fed
straight into commitments.events.v1, as the commitments service would publish it."""

from __future__ import annotations

from bench import feed
from bench.steps.pipeline import fulfil_fed, fulfilled_rows, open_by_signing, throughput_row
from bench.suite import Suite, partial


async def measure(s: Suite, n: int) -> None:
    batch = feed.Batch(s.district, f"fed{n}", n, members=max(10_000, n // 20))
    s.remember(batch)
    opened_s, opened_n, opened_us = await open_by_signing(s, batch, f"open {n}")
    throughput_row(
        s,
        f"pipeline {n:,}: opened, signed → commitments → ledger{partial(opened_n, n)}",
        opened_n,
        opened_s,
        "agreement.signed fed; commitments service opens; relay; evaluation ledger",
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
