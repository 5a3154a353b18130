"""The references, measured first on the same PostgreSQL cluster and broker as the services,
before any service load: every other figure is held against one of them."""

from __future__ import annotations

import asyncio
import time

from bench import path_floor, references
from bench.cpu import CpuReading
from bench.report import Row, fmt
from bench.suite import Suite


async def measure(s: Suite) -> None:
    dsn = await s.stack.postgres.ensure_database("bench_raw")
    bootstrap = s.stack.broker.bootstrap
    r = s.refs
    r["pg_commits"] = await references.pg_single_row_commits(dsn)
    flush = await asyncio.to_thread(references.disk_flush_tail, s.stack.postgres.data_dir.parent)
    trip = await references.pg_round_trip(dsn)
    r["pg_trip_us"], r["pg_trip_client_us"], r["pg_trip_server_us"] = trip
    r["pg_copy"] = await references.pg_batch_rows(dsn, copy=True)
    r["pg_executemany"] = await references.pg_batch_rows(dsn, copy=False)
    r["kafka_produce"], r["kafka_consume"] = await references.kafka_produce_consume(
        bootstrap, 50_000
    )
    cpu0: CpuReading = {}
    cpu1: CpuReading = {}
    r["raw_pipeline"] = await references.raw_pipeline(
        bootstrap,
        dsn,
        30_000,
        on_start=lambda: cpu0.update(s.cpu.read()),
        on_end=lambda: cpu1.update(s.cpu.read()),
    )
    s.cpu_row(
        "ref: raw pipeline, 30,000 events (the driver runs it; its feed not counted)",
        cpu0,
        30_000,
        30_000 / r["raw_pipeline"],
        after=cpu1,
    )
    await _path_floor(s, bootstrap)
    add = s.report.add
    add(Row("ref: PostgreSQL single-row commits, one connection", r["pg_commits"], "commits/s"))
    add(
        Row(
            "ref: PostgreSQL round trip (SELECT 1), CPU of client + backend",
            r["pg_trip_client_us"] + r["pg_trip_server_us"],
            "µs",
        )
    )
    add(Row("ref: disk flush of 8 KiB (fdatasync), p99.9", flush.p999_ms, "ms"))
    add(Row("ref: disk flush of 8 KiB (fdatasync), slowest", flush.max_ms, "ms"))
    add(Row("ref: PostgreSQL rows in batches of 500 (COPY)", r["pg_copy"], "rows/s"))
    add(
        Row(
            "ref: PostgreSQL rows in batches of 500 (executemany)",
            r["pg_executemany"],
            "rows/s",
        )
    )
    add(Row("ref: aiokafka produce, 500 B, acks=all", r["kafka_produce"], "msgs/s"))
    add(Row("ref: aiokafka consume, 500 B", r["kafka_consume"], "msgs/s"))
    add(
        Row(
            "ref: raw pipeline (batch → inbox+upsert+outbox tx → offsets)",
            r["raw_pipeline"],
            "events/s",
        )
    )
    add(
        Row(
            "ref: the fulfilment path's floor (its 3 hops + relay as raw units of work)",
            r["path_floor"],
            "events/s",
            r["raw_pipeline"],
            "raw pipeline events/s",
        )
    )
    s.section("References").extend(
        [
            "Measured first, on the same PostgreSQL cluster and broker as the services, before any "
            "service load:",
            f"- single-row INSERT commits on one connection (fsync on): {fmt(r['pg_commits'])}/s, "
            f"i.e. {1000 / r['pg_commits']:.2f} ms per commit;",
            f"- the disk alone: 8 KiB written and flushed (`fdatasync`, as a commit flushes "
            f"the WAL) {flush.n:,} times in {flush.seconds:.0f} s on the file system that "
            f"holds the cluster: p50 {flush.p50_ms:.2f} ms, p99.9 {flush.p999_ms:.1f} ms, "
            f"slowest {flush.max_ms:.0f} ms; {flush.stalls} flushes over "
            f"{references.STALL_MS:.0f} ms ({60 * flush.stalls / flush.seconds:.1f} a "
            "minute). Every commit waits for such a flush, and commits that arrive during a "
            "slow one wait together;",
            f"- one round trip (`SELECT 1`, one connection, 5,000 in a row): "
            f"{r['pg_trip_us']:.0f} µs of wall time, {r['pg_trip_client_us']:.0f} µs of CPU in "
            f"the client (this driver, plain asyncio) and {r['pg_trip_server_us']:.0f} µs in "
            "the backend. Every BEGIN, statement, COMMIT and pool reset pays it before its "
            "work;",
            f"- 500-row transactions: COPY {fmt(r['pg_copy'])} rows/s, executemany "
            f"{fmt(r['pg_executemany'])} rows/s;",
            f"- aiokafka, 50,000 messages of 500 bytes, 4 partitions: produce {fmt(r['kafka_produce'])}"
            f"/s, consume {fmt(r['kafka_consume'])}/s;",
            f"- raw pipeline, 30,000 events: `getmany(500)` → one transaction (executemany inbox "
            f"insert, upsert, outbox insert) → commit offsets: {fmt(r['raw_pipeline'])} events/s. "
            "This is the ceiling the services are held against;",
            f"- the fulfilment path's floor, 30,000 events (`bench/path_floor.py`): the three "
            "hops and the relay a fed `commitment.fulfilled` takes, each hop the raw "
            "pipeline's unit of work (without the outbox insert where the service emits "
            "nothing), in two worker processes with a database each, as points and "
            f"evaluation are: {fmt(r['path_floor'])} events/s, "
            f"{r['path_floor'] / r['raw_pipeline']:.2f} of the raw pipeline. What the shape "
            "allows before any domain work.",
        ]
    )


async def _path_floor(s: Suite, bootstrap: str) -> None:
    n = 30_000
    dsns = {
        w: await s.stack.postgres.ensure_database(f"bench_floor_{w}") for w in path_floor.WORKERS
    }
    cpu0: CpuReading = {}
    cpu1: CpuReading = {}
    window = [0.0, 0.0]  # from "go" to the last hop's report, the span the CPU covers

    def started(pids: dict[str, int]) -> None:
        s.floor_workers.update(pids)
        cpu0.update(s.cpu.read())
        window[0] = time.perf_counter()

    def ended() -> None:
        cpu1.update(s.cpu.read())
        window[1] = time.perf_counter()

    try:
        s.refs["path_floor"] = await path_floor.fulfilment_floor(bootstrap, dsns, n, started, ended)
    finally:
        s.floor_workers.clear()
    s.cpu_row(
        f"ref: the fulfilment path's floor, {n:,} events (its feed not counted; the "
        "window includes the consumers joining their groups)",
        cpu0,
        n,
        window[1] - window[0],
        after=cpu1,
    )
