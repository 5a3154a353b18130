"""The ledger at 10^6 commitments: topped up by COPY (bench/ledger_fill.py), its aggregates
rebuilt from the journal (`POST /ops/ledger/rebuild`), then queried again."""

from __future__ import annotations

import asyncio
import time

from bench import ledger_fill
from bench.probe import rss_mb
from bench.report import Row
from bench.steps import ledger_queries
from bench.suite import Suite


async def measure(s: Suite) -> None:
    """Top the ledger up to 10^6 commitments, rebuild its aggregates from the journal (the
    rebuild figures), then query it again (the query figures at 10^6)."""
    want = 1_000_000 // (50 if s.smoke else 1)
    t0 = time.perf_counter()
    added, entries = await ledger_fill.top_up(s.dsn("evaluation"), want)
    s.section("Rebuild and replay").append(
        f"- before the rebuild, the ledger was topped up to {want:,} commitments: "
        f"{added:,} commitments ({entries:,} journal entries, a third of them fulfilled) "
        f"cloned from the terms of those the pipeline opened, by COPY in "
        f"{time.perf_counter() - t0:.1f} s (bench/ledger_fill.py)"
    )
    await _rebuild(s)
    await ledger_queries.measure(s, when=", after the rebuild")


async def _rebuild(s: Suite) -> None:
    tok = s.token("operator", s.district.district_id)  # the rebuild is operators' work
    pid = s.stack.services["evaluation"].pid
    before = rss_mb(pid)
    s.rss.mark("rebuild")
    profile = asyncio.create_task(s.profile("rebuild", 10))
    t0 = time.perf_counter()
    r = await s.http.post(
        f"{s.url('evaluation')}/ops/ledger/rebuild",
        headers={"Authorization": f"Bearer {tok}"},
        timeout=900,
    )
    took = time.perf_counter() - t0
    await profile
    if r.status_code != 200:
        raise RuntimeError(f"rebuild: {r.status_code} {r.text[:300]}")
    out = r.json()
    entries = out["journal_entries"]
    peak = s.rss.peak("rebuild", "evaluation")
    scaled = took * 1_000_000 / entries
    ref_s = entries / s.refs["pg_copy"]
    s.report.add(
        Row(
            f"rebuild of the fulfilment aggregates, {entries:,} journal entries",
            took,
            "s",
            ref_s,
            "s to COPY as many rows",
            "",
            None,
            "POST /ops/ledger/rebuild",
        )
    )
    s.report.add(
        Row(
            "rebuild, scaled linearly to 10^6 entries"
            if entries < 900_000
            else f"rebuild, per 10^6 entries (measured on {entries:,})",
            scaled,
            "s",
            ref_s * 1_000_000 / entries,
            "s to COPY 10^6 rows",
            "≤ 60 s",
            scaled <= 60,
            "",
        )
    )
    s.report.add(
        Row(
            "rebuild: peak RSS of evaluation",
            peak,
            "MB",
            before,
            "MB before",
            "≤ 300 MB",
            peak <= 300,
            "",
        )
    )
    s.section("Rebuild and replay").extend(
        [
            f"- rebuild: {out} in {took:.1f} s ({entries / took:,.0f} entries/s); evaluation RSS "
            f"{before:.0f} → peak {peak:.0f} MB.",
        ]
    )
