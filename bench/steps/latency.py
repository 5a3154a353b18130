"""Latency under steady load: confirms at a steady rate over HTTP, each timed from the
commitments service accepting it to the commit of the evaluation transaction that wrote its
fulfilled journal entry (the moment readers can see it); the hops between, and the kit's
timings of the units of work on the way."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import asyncpg

from bench import feed, histograms
from bench.probe import percentile
from bench.report import Row
from bench.steps.http_commands import confirm
from bench.suite import Suite

# The kit's timings of units of work, read from the services on a confirm's path.
DB_HISTOGRAMS = {
    "cobuild_db_commit_seconds": "COMMITs (each waits for the WAL's flush to disk)",
    "cobuild_db_pool_wait_seconds": "waits for a pooled connection",
}
DB_SERVICES = ("commitments", "evaluation")
# Where a confirm's time goes, between the marks `hop_ms` reads.
HOPS = ("handler → its transaction", "→ relay claim", "→ evaluation transaction", "→ its commit")


async def measure(s: Suite, batch: feed.Batch, rate: int, seconds: int) -> None:
    """Confirms of `batch` (claimed and done: steps/http_commands) at `rate` for `seconds`."""
    n = min(batch.n, rate * seconds)
    index = {batch.spot(i).commitment_id: i for i in range(n)}
    accepted: dict[int, float] = {}  # wall clock, as the timestamps PostgreSQL gives
    sent: dict[int, float] = {}
    conn = await asyncpg.connect(s.dsn("evaluation"))
    last_id = await conn.fetchval("SELECT coalesce(max(id), 0) FROM ledger_journal")

    async def one(i: int, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        sent[i] = time.time()
        with contextlib.suppress(Exception):
            await confirm(s, batch.spot(i))
            accepted[i] = time.time()

    s.rss.mark("latency")
    db_before = await _db_histograms(s)
    cpu0, read_at = s.cpu.read(), time.perf_counter()
    t0 = read_at + 0.5
    await asyncio.gather(*(one(i, t0 + i / rate) for i in range(n)))
    db_lines = _db_lines(db_before, await _db_histograms(s))
    s.cpu_row(
        f"latency at {rate}/s: per confirm, over the {seconds} s of confirms",
        cpu0,
        n,
        time.perf_counter() - read_at,  # the window the reading covers, lead-in included
    )
    achieved = n / (max(accepted.values(), default=sent[0] + 1) - sent[0])
    seen = await _commits_seen(conn, last_id, index, deadline=time.perf_counter() + 60)
    await conn.close()
    # "Accepted" is the service's own confirmed_at (taken when the handler starts, before its
    # commit): the HTTP response can arrive after the ledger already shows the entry.
    cm = await asyncpg.connect(s.dsn("commitments"))
    rows = await cm.fetch(
        "SELECT commitment_id, confirmed_at FROM commitments WHERE commitment_id = ANY($1)",
        list(index),
    )
    await cm.close()
    took_at = {index[r[0]]: r[1].timestamp() for r in rows if r[1] is not None}
    hops = await _latency_hops(s, index, took_at, seen)
    lat = [(seen[i] - took_at[i]) * 1000 for i in took_at if i in seen]
    lat_resp = [(seen[i] - accepted[i]) * 1000 for i in accepted if i in seen]
    lat_sent = [(seen[i] - sent[i]) * 1000 for i in accepted if i in seen]
    http = [(accepted[i] - sent[i]) * 1000 for i in accepted]
    missing = n - len(lat)
    p50, p99, mx = percentile(lat, 50), percentile(lat, 99), max(lat, default=float("nan"))
    ref_ms = 1000 / s.refs["pg_commits"]
    s.report.add(
        Row(
            f"latency at {rate} commands/s: confirm accepted → ledger, p50",
            p50,
            "ms",
            ref_ms,
            "ms per raw commit",
            "",
            None,
            "HTTP",
        )
    )
    s.report.add(
        Row(
            f"latency at {rate} commands/s: confirm accepted → ledger, p99",
            p99,
            "ms",
            ref_ms,
            "ms per raw commit",
            "≤ 100 ms",
            p99 <= 100,
            "HTTP",
        )
    )
    s.report.add(
        Row(
            f"latency at {rate} commands/s: confirm accepted → ledger, max",
            mx,
            "ms",
            ref_ms,
            "ms per raw commit",
            "",
            None,
            "HTTP",
        )
    )
    s.section("Latency under steady load").extend(
        [
            f"{n} confirms (`POST /commitments/{{id}}/confirm`) scheduled at {rate}/s for "
            f"{seconds} s (achieved {achieved:.0f}/s); each commitment was claimed and marked done "
            "over HTTP beforehand. Latency runs from the moment the commitments service "
            "accepted the command (its `confirmed_at`, taken as the handler starts, before its "
            "commit) to the commit of the evaluation transaction that wrote its `fulfilled` "
            "journal entry, the moment a reader can see it (PostgreSQL's commit timestamp, "
            "`track_commit_timestamp` on for the bench; no poller loads the machine).",
            f"- accepted → ledger: p50 {p50:.1f} ms, p90 {percentile(lat, 90):.1f} ms, "
            f"p99 {p99:.1f} ms, max {mx:.1f} ms; {missing} not in the ledger within 60 s",
            f"- the HTTP confirm itself (sent → response): p50 {percentile(http, 50):.1f} ms, "
            f"p99 {percentile(http, 99):.1f} ms",
            f"- sent → ledger: p50 {percentile(lat_sent, 50):.1f} ms, p99 "
            f"{percentile(lat_sent, 99):.1f} ms; response → ledger: p50 "
            f"{percentile(lat_resp, 50):.1f} ms, p99 {percentile(lat_resp, 99):.1f} ms "
            "(negative: the ledger showed it before the client had the response)",
            "- the consumers' fetch wait is the kit's `consumer_fetch_max_wait_ms` = 20 ms "
            "(Tansu does not wake a waiting fetch), the relay is woken by LISTEN/NOTIFY.",
            "- the hops, from the services' own timestamps (PostgreSQL's `now()` is the "
            "start of a transaction): "
            + "; ".join(
                f"{hop} p50 {percentile(ms, 50):.1f} / p99 {percentile(ms, 99):.1f} ms"
                for hop, ms in hops.items()
            ),
            *db_lines,
        ]
    )


async def _db_histograms(s: Suite) -> dict[tuple[str, str], histograms.Buckets]:
    """The kit's timings of units of work (`cobuild_kit.db.transaction`) in the services on
    the confirm's path: one read of each service's /metrics."""
    operator = s.token("operator", uuid.UUID(int=0))
    reads = {
        svc: await histograms.read(s.http, s.url(svc), DB_HISTOGRAMS, operator)
        for svc in DB_SERVICES
    }
    return {(svc, name): h for svc, found in reads.items() for name, h in found.items()}


def _db_lines(
    before: dict[tuple[str, str], histograms.Buckets],
    after: dict[tuple[str, str], histograms.Buckets],
) -> list[str]:
    bounds_ms = (50, 100)
    return [
        f"- the units of work's {label} during the confirms (`{name}`): "
        + "; ".join(
            f"{svc} {histograms.added(before[svc, name], after[svc, name], bounds_ms).line()}"
            for svc in DB_SERVICES
        )
        for name, label in DB_HISTOGRAMS.items()
    ]


def hop_ms(marks: list[float]) -> dict[str, float]:
    """One confirm's hops, in ms, from its marks (epoch seconds): the handler's start, its
    transaction's start (the outbox row's `created_at`), the relay's claim (`published_at`),
    the evaluation transaction's start (its inbox row) and that transaction's commit."""
    return {hop: (b - a) * 1000 for hop, a, b in zip(HOPS, marks, marks[1:], strict=False)}


async def _latency_hops(
    s: Suite, index: dict[uuid.UUID, int], took_at: dict[int, float], seen: dict[int, float]
) -> dict[str, list[float]]:
    """Where the time went, per confirm: its outbox row (written in the command's
    transaction, claimed by the relay) and the evaluation consumer's inbox row."""
    cm = await asyncpg.connect(s.dsn("commitments"))
    rows = await cm.fetch(
        """SELECT key, event_id, created_at, published_at FROM outbox
           WHERE event_type = 'commitment.fulfilled' AND key = ANY($1::text[])""",
        [str(c) for c in index],
    )
    await cm.close()
    ev = await asyncpg.connect(s.dsn("evaluation"))
    applied = dict(
        await ev.fetch(
            "SELECT event_id, processed_at FROM inbox WHERE event_id = ANY($1::uuid[])",
            [r["event_id"] for r in rows],
        )
    )
    await ev.close()
    hops: dict[str, list[float]] = {hop: [] for hop in HOPS}
    for r in rows:
        i = index[uuid.UUID(r["key"])]
        if i not in took_at or i not in seen or r["event_id"] not in applied:
            continue
        marks = [
            took_at[i],
            r["created_at"].timestamp(),
            r["published_at"].timestamp(),
            applied[r["event_id"]].timestamp(),
            seen[i],
        ]
        for hop, ms in hop_ms(marks).items():
            hops[hop].append(ms)
    return hops


async def _commits_seen(
    conn: asyncpg.Connection, after_id: int, index: dict[uuid.UUID, int], deadline: float
) -> dict[int, float]:
    """For each commitment of `index` (until all are in, or the deadline): the commit time
    (epoch seconds) of the transaction that journalled its fulfilment. A slow poll is enough:
    the time comes from PostgreSQL's commit timestamp, not from when the poll saw the row."""
    seen: dict[int, float] = {}
    while True:
        rows = await conn.fetch(
            """SELECT id, commitment_id, pg_xact_commit_timestamp(xmin) AS committed_at
               FROM ledger_journal WHERE id > $1 AND fact = 'fulfilled' ORDER BY id""",
            after_id,
        )
        for r in rows:
            after_id = r["id"]
            i = index.get(r["commitment_id"])
            if i is not None:
                seen.setdefault(i, r["committed_at"].timestamp())
        if len(seen) >= len(index) or time.perf_counter() >= deadline:
            return seen
        await asyncio.sleep(0.2)
