"""References measured first in every run, on the same machine, PostgreSQL and broker:
raw PostgreSQL, raw aiokafka, and a raw consume → transaction → commit pipeline."""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cobuild_kit.kafka import MAX_BATCH_BYTES
from cobuild_stack.topics import create_topics

from bench.cpu import pid_cpu_seconds
from bench.probe import percentile

MSG_BYTES = 500
LINGER_MS = 2  # the reference producer's linger
FETCH_WAIT_MS = 20  # the reference consumer's fetch wait: the services' default


async def pg_single_row_commits(dsn: str, seconds: float = 3.0) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "DROP TABLE IF EXISTS ref_rows; CREATE TABLE ref_rows (id bigserial PRIMARY KEY, v text)"
        )
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            await conn.execute("INSERT INTO ref_rows (v) VALUES ($1)", "x" * 100)
            n += 1
        return n / (time.perf_counter() - t0)
    finally:
        await conn.close()


async def pg_round_trip(dsn: str, n: int = 5_000) -> tuple[float, float, float]:
    """One `SELECT 1` after another on one connection: microseconds per round trip of wall
    time, of this process's CPU and of the backend's CPU (from /proc). What every statement,
    BEGIN, COMMIT and reset costs before it does any work."""
    conn = await asyncpg.connect(dsn)
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        for _ in range(n // 10):  # warm: the statement prepared, the caches filled
            await conn.fetchval("SELECT 1")
        server0, client0, t0 = pid_cpu_seconds(backend), time.process_time(), time.perf_counter()
        for _ in range(n):
            await conn.fetchval("SELECT 1")
        wall = time.perf_counter() - t0
        client, server = time.process_time() - client0, pid_cpu_seconds(backend) - server0
        return 1e6 * wall / n, 1e6 * client / n, 1e6 * server / n
    finally:
        await conn.close()


@dataclass(frozen=True)
class FlushTail:
    """How long the disk takes to make 8 KiB durable, one write after another."""

    n: int
    p50_ms: float
    p999_ms: float
    max_ms: float
    stalls: int  # flushes over STALL_MS
    seconds: float


STALL_MS = 50.0


def disk_flush_tail(directory: Path, seconds: float = 15.0) -> FlushTail:
    """8 KiB written and `fdatasync`ed in a loop, as PostgreSQL flushes its WAL at a commit,
    on the file system that holds the cluster. Blocking: run it in a thread."""
    path = directory / f"flush-tail-{os.getpid()}.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        size, block = 16 << 20, os.urandom(8192)
        os.ftruncate(fd, size)
        os.fsync(fd)  # the file's blocks allocated first: the loop flushes data only
        times: list[float] = []
        offset, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            os.pwrite(fd, block, offset)
            offset = (offset + len(block)) % size
            start = time.perf_counter()
            os.fdatasync(fd)
            times.append((time.perf_counter() - start) * 1000)
            time.sleep(0.002)  # about the pace of a busy service's commits, not a flood
        return FlushTail(
            n=len(times),
            p50_ms=percentile(times, 50),
            p999_ms=percentile(times, 99.9),
            max_ms=max(times),
            stalls=sum(t > STALL_MS for t in times),
            seconds=time.perf_counter() - t0,
        )
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)


async def pg_batch_rows(dsn: str, seconds: float = 3.0, *, copy: bool) -> float:
    """Rows per second, 500 rows per transaction (COPY or executemany)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "DROP TABLE IF EXISTS ref_batch; CREATE TABLE ref_batch (id uuid PRIMARY KEY, v text)"
        )
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            rows = [(uuid.uuid4(), "x" * 100) for _ in range(500)]
            async with conn.transaction():
                if copy:
                    await conn.copy_records_to_table("ref_batch", records=rows)
                else:
                    await conn.executemany("INSERT INTO ref_batch VALUES ($1, $2)", rows)
            n += len(rows)
        return n / (time.perf_counter() - t0)
    finally:
        await conn.close()


def raw_producer(bootstrap: str) -> AIOKafkaProducer:
    """The reference producer: `acks=all`, a 2 ms linger, the services' batch bound."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=LINGER_MS,
        max_batch_size=MAX_BATCH_BYTES,
    )


def from_start(bootstrap: str, topic: str, group: str = "") -> AIOKafkaConsumer:
    """A new group (default `<topic>.g`) reading `topic` from its first record, with the
    services' fetch wait."""
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group or f"{topic}.g",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_WAIT_MS,
    )


async def kafka_produce_consume(bootstrap: str, n: int) -> tuple[float, float]:
    """Messages per second of 500 bytes: produce (acks=all), then consume from the start."""
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, [topic], 4)
    value = os.urandom(MSG_BYTES // 2).hex().encode()
    producer = raw_producer(bootstrap)
    await producer.start()
    try:
        t0 = time.perf_counter()
        futures = [await producer.send(topic, value=value, key=str(i).encode()) for i in range(n)]
        await asyncio.gather(*futures)
        produce_rate = n / (time.perf_counter() - t0)
    finally:
        await producer.stop()
    consumer = from_start(bootstrap, topic)
    await consumer.start()
    try:
        got = 0
        first: float | None = None  # the first record's arrival
        deadline = time.monotonic() + 120
        while got < n and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            for records in batches.values():
                if first is None:
                    first = time.perf_counter()
                got += len(records)
        consume_rate = got / (time.perf_counter() - (first or time.perf_counter()))
    finally:
        await consumer.stop()
    return produce_rate, consume_rate


_PIPE_DDL = """
DROP TABLE IF EXISTS ref_inbox, ref_state, ref_outbox;
CREATE TABLE ref_inbox (consumer text, event_id uuid, processed_at timestamptz DEFAULT now(),
                        PRIMARY KEY (consumer, event_id));
CREATE TABLE ref_state (key text PRIMARY KEY, n bigint NOT NULL, last jsonb);
CREATE TABLE ref_outbox (id bigserial PRIMARY KEY, event_id uuid UNIQUE, topic text, key text,
                         envelope jsonb, created_at timestamptz DEFAULT now(), published_at timestamptz);
"""


async def feed_raw(bootstrap: str, topic: str, n: int) -> None:
    """`n` JSON events of about 500 bytes on `topic`, over 5,000 keys."""
    producer = raw_producer(bootstrap)
    await producer.start()
    try:
        pad = "x" * 300
        futures = []
        for i in range(n):
            key = f"k{i % 5000}"
            body = {"event_id": str(uuid.uuid4()), "key": key, "payload": {"i": i, "pad": pad}}
            futures.append(
                await producer.send(topic, value=json.dumps(body).encode(), key=key.encode())
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def apply_batch(
    conn: asyncpg.Connection, consumer: str, records: list[Any], *, emit: bool = True
) -> None:
    """The raw pipeline's unit of work: in one transaction, an inbox row per event, an upsert
    of its key's state and (`emit`) an outbox row. Each consumer has its own state rows."""
    events: list[dict[str, Any]] = [json.loads(r.value) for r in records]
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO ref_inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(consumer, uuid.UUID(e["event_id"])) for e in events],
        )
        await conn.executemany(
            """INSERT INTO ref_state (key, n, last) VALUES ($1, 1, $2::jsonb)
               ON CONFLICT (key) DO UPDATE SET n = ref_state.n + 1, last = EXCLUDED.last""",
            [(f"{consumer}:{e['key']}", json.dumps(e["payload"])) for e in events],
        )
        if emit:
            await conn.executemany(
                "INSERT INTO ref_outbox (event_id, topic, key, envelope) VALUES ($1, 'out', $2, $3::jsonb)",
                [(uuid.uuid4(), e["key"], json.dumps(e)) for e in events],
            )


async def create_pipeline_tables(conn: asyncpg.Connection) -> None:
    await conn.execute(_PIPE_DDL)


@dataclass
class Drained:
    """What `drain` took: records, and the wall-clock times (`time.time()`, comparable across
    processes) of the first batch's arrival and of the last batch's offsets commit."""

    done: int = 0
    first: float = 0.0
    last: float = 0.0


async def drain(
    consumer: AIOKafkaConsumer,
    n: int,
    apply: Callable[[list[Any]], Awaitable[None]],
    on_first: Callable[[], None] = lambda: None,
    deadline_s: float = math.inf,
) -> Drained:
    """The raw pipeline's loop: `getmany(500)`, apply the batch, commit offsets, until `n`
    records (or the deadline). `on_first` is called as the first batch arrives, before the
    clock starts."""
    out = Drained()
    deadline = time.monotonic() + deadline_s
    while out.done < n and time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=100, max_records=500)
        records = [r for rs in batches.values() for r in rs]
        if not records:
            continue
        if not out.first:
            on_first()
            out.first = time.time()
        await apply(records)
        await consumer.commit()
        out.done += len(records)
        out.last = time.time()
    return out


async def raw_pipeline(
    bootstrap: str,
    dsn: str,
    n: int,
    on_start: Callable[[], None] = lambda: None,
    on_end: Callable[[], None] = lambda: None,
) -> float:
    """Consume a batch; in one transaction insert inbox rows, upsert state, insert outbox
    rows; commit; then commit offsets. Events per second, end to end (produced first, before
    the clock starts). `on_start` is called with the first batch and `on_end` after the last,
    while the connection and its PostgreSQL backend still exist."""
    topic = f"bench.pipe.{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, [topic], 4)
    conn = await asyncpg.connect(dsn)
    await create_pipeline_tables(conn)
    await feed_raw(bootstrap, topic, n)
    consumer = from_start(bootstrap, topic)
    await consumer.start()
    try:
        took = await drain(
            consumer, n, lambda rs: apply_batch(conn, "ref", rs), on_start, deadline_s=300
        )
        rate = took.done / (time.time() - took.first) if took.first else 0.0
        on_end()
        return rate
    finally:
        await consumer.stop()
        await conn.close()
