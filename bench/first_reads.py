"""What the first read of freshly written rows costs, and why: time and WAL per query.

    .venv/bin/python -m bench.first_reads [--ids 100000]

It starts its own embedded PostgreSQL (durable settings, data checksums as initdb leaves
them), writes a table shaped like `ledger_daily` in many small transactions, checkpoints,
and runs the same as-of sum for a few hundred ids: first after the ingest, again for the same
ids, and for other ids after a VACUUM. The reader of a row whose transaction has committed
sets the row's hint bits. With data checksums on, the first change to a page after a
checkpoint is written to the WAL as a full page image, so a read-only query writes WAL: the
likely cause of the tail `GET /ledger` shows at 10^6 commitments as the pipeline left the
ledger (bench/RESULTS-large.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import asyncpg
from cobuild_stack.postgres import EmbeddedPostgres

from bench.probe import percentile

DAYS = 20
ROWS_PER_TX = 1_000
_QUERY = (
    "SELECT sum(signed), sum(fulfilled), sum(fen) FROM d "
    "WHERE kind = 'agreement' AND sid = $1 AND day <= $2"
)


async def _round(conn: asyncpg.Connection, ids: list[uuid.UUID], label: str) -> None:
    times: list[float] = []
    wal = 0
    for sid in ids:
        lsn = await conn.fetchval("SELECT pg_current_wal_insert_lsn()")
        t0 = time.perf_counter()
        await conn.fetchrow(_QUERY, sid, date(2026, 1, 15))
        times.append((time.perf_counter() - t0) * 1000)
        wal += await conn.fetchval("SELECT pg_current_wal_insert_lsn() - $1::pg_lsn", lsn)
    print(
        f"{label}: p50 {percentile(times, 50):.2f} ms, p99 {percentile(times, 99):.2f} ms, "
        f"WAL written {wal / len(ids) / 1024:.1f} KiB per query",
        flush=True,
    )


async def _ingest(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> None:
    await conn.execute(
        "CREATE TABLE d (kind text, sid uuid, day date, signed bigint, fulfilled bigint, "
        "fen bigint, PRIMARY KEY (kind, sid, day)) WITH (fillfactor = 70, "
        "autovacuum_enabled = false)"
    )
    start = date(2026, 1, 1)
    rows = [
        ("agreement", i, start + timedelta(days=k), 1, 1, 100) for k in range(DAYS) for i in ids
    ]
    random.Random(1).shuffle(rows)  # each transaction touches pages all over the table
    t0 = time.perf_counter()
    for j in range(0, len(rows), ROWS_PER_TX):
        await conn.copy_records_to_table("d", records=rows[j : j + ROWS_PER_TX])
    took = time.perf_counter() - t0
    print(f"ingest: {len(rows):,} rows in {len(rows) // ROWS_PER_TX:,} transactions, {took:.1f} s")


async def run(n_ids: int, sample: int) -> None:
    with tempfile.TemporaryDirectory(prefix="cobuild-first-reads-") as tmp:
        os.chmod(tmp, 0o755)  # run as root, the server runs as nobody and must enter it
        pg = EmbeddedPostgres(Path(tmp) / "pg", test_mode=False, settings={"shared_buffers": "1GB"})
        await pg.start()
        try:
            conn = await asyncpg.connect(await pg.ensure_database("first_reads"))
            admin = await asyncpg.connect(pg.admin_url)  # CHECKPOINT needs pg_checkpoint
            print("data_checksums:", await conn.fetchval("SHOW data_checksums"))
            ids = [uuid.uuid4() for _ in range(n_ids)]
            await _ingest(conn, ids)
            await admin.execute("CHECKPOINT")
            rng = random.Random(2)
            first, other = rng.sample(ids, sample), rng.sample(ids, sample)
            await _round(conn, first, "first reads after the ingest")
            await _round(conn, first, "the same ids again")
            await conn.execute("VACUUM d")
            await admin.execute("CHECKPOINT")
            await _round(conn, other, "first reads of other ids after VACUUM")
            await conn.close()
            await admin.close()
        finally:
            await pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.first_reads")
    parser.add_argument("--ids", type=int, default=100_000, help="scope ids, 20 days each")
    parser.add_argument("--sample", type=int, default=300, help="queries per round")
    args = parser.parse_args()
    asyncio.run(run(args.ids, args.sample))


if __name__ == "__main__":
    main()
