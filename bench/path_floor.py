"""The fulfilment path's shape with no domain work: the floor the services stand on.

A fed `commitment.fulfilled` takes three consumer hops and a relay: the points and evaluation
services each consume it, points stages a `points.awarded` in its outbox, its relay publishes
it, and evaluation consumes that as well. Here each hop is the raw pipeline's unit of work
(`getmany(500)` → one transaction of inbox rows, upserts and, where the service emits, outbox
rows → commit offsets), in two worker processes with a database each, as the services are:

- "points": a group on `in` that emits, and a relay that claims its outbox rows as the kit's
  relay does (`UPDATE … RETURNING`, `SKIP LOCKED`), produces them to `mid` and commits;
- "evaluation": a group on `in` and a group on `mid`.

Events per second from the first record consumed until every hop has every event: what this
shape allows on the machine before any domain work, against the raw pipeline's one hop.
`bench.run` measures it among the references; `python -m bench.path_floor <worker> …` is how
it starts a worker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from cobuild_stack.topics import create_topics

from bench import references

WORKERS = ("points", "evaluation")
_ROOT = Path(__file__).resolve().parents[1]  # where `-m bench.path_floor` is found
_CHANNEL = "floor_outbox"
_BATCH = 500  # the kit relay's batch
_CLAIM = """
UPDATE ref_outbox o SET published_at = now()
FROM (SELECT id FROM ref_outbox WHERE published_at IS NULL ORDER BY id LIMIT $1
      FOR UPDATE SKIP LOCKED) claimed
WHERE o.id = claimed.id
RETURNING o.id, o.key, o.envelope::text AS value
"""


# -- the driver (in bench.run's process) ------------------------------------------------


async def fulfilment_floor(
    bootstrap: str,
    dsns: dict[str, str],
    n: int,
    on_start: Callable[[dict[str, int]], None],
    on_end: Callable[[], None],
    timeout_s: float = 600,
) -> float:
    """Feed `n` events, start the workers, and time them from the first record consumed to
    the last hop's last. `on_start` gets the workers' pids once they are ready and before they
    consume; `on_end` is called while they are still alive (their CPU is still readable)."""
    tag = uuid.uuid4().hex[:8]
    topic_in, topic_mid = f"bench.floor.{tag}.in", f"bench.floor.{tag}.mid"
    await create_topics(bootstrap, [topic_in, topic_mid], 4)
    for dsn in dsns.values():
        conn = await asyncpg.connect(dsn)
        try:
            await references.create_pipeline_tables(conn)
        finally:
            await conn.close()
    await references.feed_raw(bootstrap, topic_in, n)
    args = ["--bootstrap", bootstrap, "--in", topic_in, "--mid", topic_mid, "--n", str(n)]
    procs = {
        w: await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.path_floor", w, "--dsn", dsns[w], *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=_ROOT,
        )
        for w in WORKERS
    }  # fmt: skip
    try:
        for proc in procs.values():
            await _line(proc)  # "ready"
        on_start({w: p.pid for w, p in procs.items()})
        for proc in procs.values():
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
        spans = [json.loads(await _line(p, timeout_s)) for p in procs.values()]
        on_end()
    finally:
        for proc in procs.values():
            assert proc.stdin is not None
            proc.stdin.close()  # the workers exit on it
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    first = min(float(s["first"]) for s in spans)
    return n / (max(float(s["last"]) for s in spans) - first)


async def _line(proc: asyncio.subprocess.Process, timeout: float = 120) -> bytes:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout)
    if not line:
        raise RuntimeError(f"a path_floor worker ended early (exit {await proc.wait()})")
    return line


# -- a worker (its own process) -----------------------------------------------------------


async def _consume(
    bootstrap: str, topic: str, group: str, n: int, apply: Callable[[list[Any]], Awaitable[None]]
) -> references.Drained:
    consumer = references.from_start(bootstrap, topic, group)
    await consumer.start()
    try:
        return await references.drain(consumer, n, apply)
    finally:
        await consumer.stop()


async def _relay(
    conn: asyncpg.Connection, producer: AIOKafkaProducer, topic: str, n: int
) -> references.Drained:
    """The kit relay's loop: claim and mark in one statement, produce, commit; woken by
    NOTIFY when a batch was short."""
    wake = asyncio.Event()
    await conn.add_listener(_CHANNEL, lambda *_: wake.set())
    out = references.Drained()
    while out.done < n:
        wake.clear()
        began = time.time()
        async with conn.transaction():
            rows = sorted(await conn.fetch(_CLAIM, _BATCH), key=lambda r: r["id"])
            sends = [
                await producer.send(topic, value=r["value"].encode(), key=r["key"].encode())
                for r in rows
            ]
            await asyncio.gather(*sends)
        if rows:
            out.first = out.first or began
            out.done += len(rows)
            out.last = time.time()
        if len(rows) < _BATCH:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=0.1)
    return out


async def _worker(name: str, opts: argparse.Namespace) -> None:
    """Ready, wait for "go", run the loops, report their span, and keep the connections (and
    so their backends) until the driver has read the CPU and closes stdin."""
    conns = [await asyncpg.connect(opts.dsn) for _ in range(2)]
    producer = references.raw_producer(opts.bootstrap)
    await producer.start()
    read_line = functools.partial(
        asyncio.get_running_loop().run_in_executor, None, sys.stdin.readline
    )
    try:
        print("ready", flush=True)
        await read_line()
        spans = await asyncio.gather(*_loops(name, opts, conns, producer))
        first, last = min(s.first for s in spans), max(s.last for s in spans)
        print(json.dumps({"first": first, "last": last}), flush=True)
        await read_line()
    finally:
        await producer.stop()
        for conn in conns:
            await conn.close()


def _loops(
    name: str, opts: argparse.Namespace, conns: list[asyncpg.Connection], producer: AIOKafkaProducer
) -> list[Awaitable[references.Drained]]:
    if name == "points":
        return [
            _consume(opts.bootstrap, opts.topic_in, "floor.points", opts.n,
                     lambda rs: _emit_and_wake(conns[0], rs)),
            _relay(conns[1], producer, opts.topic_mid, opts.n),
        ]  # fmt: skip
    return [
        _consume(opts.bootstrap, opts.topic_in, "floor.evaluation.in", opts.n,
                 lambda rs: references.apply_batch(conns[0], "in", rs, emit=False)),
        _consume(opts.bootstrap, opts.topic_mid, "floor.evaluation.mid", opts.n,
                 lambda rs: references.apply_batch(conns[1], "mid", rs, emit=False)),
    ]  # fmt: skip


async def _emit_and_wake(conn: asyncpg.Connection, records: list[Any]) -> None:
    await references.apply_batch(conn, "in", records)
    await conn.execute("SELECT pg_notify($1, '')", _CHANNEL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("worker", choices=WORKERS)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--in", dest="topic_in", required=True)
    parser.add_argument("--mid", dest="topic_mid", required=True)
    parser.add_argument("--n", type=int, required=True)
    opts = parser.parse_args()
    asyncio.run(_worker(opts.worker, opts))


if __name__ == "__main__":
    main()
