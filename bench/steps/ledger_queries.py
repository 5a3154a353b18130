"""Ledger queries: `GET /ledger` for every scope as of a past date, sequentially, against the
same as-of sum straight on the database; with autovacuum's state before and after."""

from __future__ import annotations

import random
import time
import uuid
from datetime import date

import asyncpg

from bench.probe import Counter, percentile
from bench.report import Row
from bench.suite import Suite

AS_OF_PAST = date(2026, 9, 30)

# Is autovacuum at work, and how much has it left (the ledger as a pipeline just left it)?
_VACUUM_STATE = """
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'),
       (SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables WHERE relname = 'ledger_daily'),
       (SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables
        WHERE relname = 'ledger_commitments')
"""


async def measure(s: Suite, per_scope: int = 200, when: str = "") -> None:
    """p50/p99 per scope; `when` tells apart two measurements at one size."""
    d = s.district
    tok = s.token("district_admin", d.district_id)
    operator = s.token("operator", d.district_id)  # 'all' (every district) is operators' only
    batch = s.loaded[-1]
    rng = random.Random(7)
    picks: dict[str, list[uuid.UUID | None]] = {
        "all": [None],
        "district": [d.district_id],
        "street": [d.street(i) for i in range(d.streets)],
        "community": [d.community(i) for i in range(d.communities)],
        "unit": [d.unit(i) for i in range(d.units)],
        "agreement": [batch.spot(rng.randrange(batch.n)).agreement_id for _ in range(200)],
        "commitment": [batch.spot(rng.randrange(batch.n)).commitment_id for _ in range(200)],
    }
    counter = Counter(s.dsn("evaluation"))
    journal = await counter.value("SELECT count(*) FROM ledger_journal")
    commitments = await counter.value("SELECT count(*) FROM ledger_commitments")
    vacuum_before = await counter.row(_VACUUM_STATE)
    s.rss.mark("ledger queries")
    per: dict[str, list[float]] = {}
    for scope, ids in picks.items():
        times: list[float] = []
        for k in range(per_scope):
            params: dict[str, str] = {"scope": scope, "as_of": AS_OF_PAST.isoformat()}
            sid = ids[k % len(ids)]
            if sid is not None:
                params["id"] = str(sid)
            t0 = time.perf_counter()
            r = await s.http.get(
                f"{s.url('evaluation')}/ledger",
                params=params,
                headers={"Authorization": f"Bearer {operator if scope == 'all' else tok}"},
            )
            times.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"GET /ledger {scope}: {r.status_code} {r.text[:200]}")
        per[scope] = times
    vacuum_after = await counter.row(_VACUUM_STATE)
    await counter.close()
    every = [t for ts in per.values() for t in ts]
    # Reference: the same as-of sum straight on the database, no HTTP, no auth, no drill-down.
    conn = await asyncpg.connect(s.dsn("evaluation"))
    ref_times = []
    for k in range(per_scope):
        cid = picks["community"][k % d.communities]
        t0 = time.perf_counter()
        await conn.fetchrow(
            "SELECT sum(signed), sum(fulfilled), sum(fulfilled_fen) FROM ledger_daily "
            "WHERE scope_kind = 'community' AND scope_id = $1 AND day <= $2",
            cid,
            AS_OF_PAST,
        )
        ref_times.append((time.perf_counter() - t0) * 1000)
    await conn.close()
    ref99 = percentile(ref_times, 99)
    label = f"{commitments:,} commitments, {journal:,} journal entries{when}"
    s.report.add(
        Row(
            f"ledger query p50, every scope, as of a past date ({label})",
            percentile(every, 50),
            "ms",
            percentile(ref_times, 50),
            "ms raw SQL p50",
            "",
            None,
            "GET /ledger",
        )
    )
    s.report.add(
        Row(
            f"ledger query p99, every scope, as of a past date ({label})",
            percentile(every, 99),
            "ms",
            ref99,
            "ms raw SQL p99",
            "≤ 20 ms",
            percentile(every, 99) <= 20,
            "GET /ledger",
        )
    )
    lines = s.section("Ledger queries")
    lines.append(
        f"`GET /ledger?scope=…&id=…&as_of={AS_OF_PAST}` as the district admin, {per_scope} "
        f"sequential queries per scope, with the ledger holding {journal:,} journal entries "
        f"({commitments:,} commitments). Each answer includes the drill-down one level "
        "below (e.g. the district's streets, a community's agreements), a page of at most "
        "100 children (the API's default page)."
    )
    lines.append("")
    lines.append(
        "| scope | p50 ms | p99 ms | max ms | first query of each id: p99 ms | "
        "the queries after: p99 ms |"
    )
    lines.append("|---|---|---|---|---|---|")
    for scope, ts in per.items():
        lines.append(scope_line(scope, ts, len(picks[scope])))
    lines.append(
        f"| reference: one community's as-of sum, raw SQL | {percentile(ref_times, 50):.2f} "
        f"| {ref99:.2f} | {max(ref_times):.2f} | | |"
    )
    lines.append(
        "\nAutovacuum workers running (all databases) and dead rows in ledger_daily and "
        f"ledger_commitments: {vacuum_before[0]}, {vacuum_before[1]:,} and "
        f"{vacuum_before[2]:,} before the queries; {vacuum_after[0]}, {vacuum_after[1]:,} "
        f"and {vacuum_after[2]:,} after."
    )


def scope_line(scope: str, ts: list[float], ids: int) -> str:
    """One scope's row of the table: the queries cycle through `ids` ids, so the first `ids`
    are each id's first read and the rest repeats."""
    first, again = ts[:ids], ts[ids:]
    return (
        f"| {scope} | {percentile(ts, 50):.1f} | {percentile(ts, 99):.1f} | "
        f"{max(ts):.1f} | {percentile(first, 99):.1f} | "
        f"{percentile(again, 99):.1f} |".replace("| nan |", "| — |")
    )
