"""Replay: the largest outbox, topped up to 10^6 events (bench/outbox_fill.py), republished
by the kit's relay into an empty broker, against raw produce."""

from __future__ import annotations

import time

import asyncpg
from cobuild_kit.kafka import make_producer
from cobuild_kit.relay import OutboxRelay
from cobuild_stack.broker import TansuBroker
from cobuild_stack.launcher import SERVICES
from cobuild_stack.topics import suite_topics

from bench import outbox_fill
from bench.probe import Counter
from bench.report import Row
from bench.suite import Suite


async def measure(s: Suite) -> None:
    """Stop the service with the largest outbox (its relay must not compete), unmark every
    kept row, and run the kit's relay against a fresh Tansu until the backlog is 0."""
    sizes = {}
    for name in SERVICES:
        sizes[name] = await Counter(s.dsn(name)).value("SELECT count(*) FROM outbox")
    name = max(sizes, key=lambda k: sizes[k])
    await s.stack.services[name].stop(10)
    t0 = time.perf_counter()
    cloned = await outbox_fill.top_up(s.dsn(name), 1_000_000 // (50 if s.smoke else 1))
    fill_s = time.perf_counter() - t0
    broker = TansuBroker(log_path=s.var / "log" / "replay-broker.log")
    await broker.start()
    await broker.create_topics(suite_topics(), 4)
    producer = make_producer(broker.bootstrap, idempotence=False, client_id="bench-replay")
    await producer.start()
    pool = await asyncpg.create_pool(s.dsn(name), min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            n = int((await conn.execute("UPDATE outbox SET published_at = NULL")).split()[-1])
        relay = OutboxRelay(service=name, dsn=s.dsn(name), pool=pool, producer=producer)
        t0 = time.perf_counter()
        while await relay.publish_batch():
            pass
        took = time.perf_counter() - t0
    finally:
        await pool.close()
        await producer.stop()
        await broker.stop()
    rate = n / took
    s.report.add(
        Row(
            f"replay of the {name} outbox ({n:,} events) into an empty broker",
            rate,
            "events/s",
            s.refs["kafka_produce"],
            "raw produce msgs/s",
            "",
            None,
            "kit OutboxRelay.publish_batch",
        )
    )
    s.section("Rebuild and replay").append(
        f"- replay: the {name} service stopped, its outbox of {sizes[name]:,} events topped up "
        f"to {n:,} with {cloned:,} clones of them under new event ids ({fill_s:.1f} s, "
        f"bench/outbox_fill.py), every row unmarked, and the kit's "
        f"`OutboxRelay.publish_batch` run against a fresh Tansu until the backlog was 0: "
        f"{took:.1f} s ({rate:,.0f} events/s)."
    )
