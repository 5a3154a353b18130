"""What one idle consumer group costs the embedded broker, as a topic fills with small batches.

    .venv/bin/python -m bench.broker_scan [--batches 30000]

It starts its own Tansu (memory storage) and one consumer group that waits at the tail of a
4-partition topic with the services' fetch wait (20 ms). It reads the broker's CPU over a few
seconds of that wait, then produces one-record batches (as a relay does at a low event rate)
and reads the broker's CPU again. The figures explain the pipeline and latency results:
Tansu's memory storage keeps one object per produced batch and walks a partition's objects
on every fetch, so each fetch costs more as the topic fills.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cobuild_stack.broker import TansuBroker

from bench.cpu import pid_cpu_seconds

FETCH_WAIT_MS = 20
WINDOW_S = 5.0


async def idle_cost(pid: int, consumer: AIOKafkaConsumer) -> tuple[float, float]:
    """(broker CPU %, ms of broker CPU per fetch) while the group waits at the tail."""
    c0, t0 = pid_cpu_seconds(pid), time.monotonic()
    while time.monotonic() - t0 < WINDOW_S:
        await consumer.getmany(timeout_ms=50)
    busy, took = pid_cpu_seconds(pid) - c0, time.monotonic() - t0
    return 100 * busy / took, 1000 * busy / (took * 1000 / FETCH_WAIT_MS)


async def main(steps: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        broker = TansuBroker(log_path=Path(tmp) / "tansu.log")
        await broker.start()
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=0)
        consumer = AIOKafkaConsumer(
            "scan",
            bootstrap_servers=broker.bootstrap,
            group_id="scan",
            auto_offset_reset="latest",
            fetch_max_wait_ms=FETCH_WAIT_MS,
        )
        try:
            await broker.create_topics(["scan"], 4)
            await producer.start()
            await consumer.start()
            await consumer.getmany(timeout_ms=2000)
            assert broker.pid is not None
            print("stored one-record batches | broker CPU, one idle group | per fetch")
            stored = 0
            for target in [0, *steps]:
                for i in range(stored, target):
                    await producer.send_and_wait("scan", b"x" * 500, key=str(i).encode())
                stored = target
                await consumer.getmany(timeout_ms=2000)  # catch up to the tail
                pct, per_fetch = await idle_cost(broker.pid, consumer)
                print(f"{stored:>25,} | {pct:>24.1f}% | {per_fetch:.2f} ms")
        finally:
            await consumer.stop()
            await producer.stop()
            await broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30_000, help="batches stored at the end")
    n = parser.parse_args().batches
    asyncio.run(main([n // 15, n // 3, n]))
