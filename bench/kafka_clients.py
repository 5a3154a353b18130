"""What the Kafka client costs per message: aiokafka (the services') against librdkafka.

    .venv/bin/python -m bench.kafka_clients [--messages 200000] [--rounds 2]

It starts its own Tansu (memory storage), then for each client produces 500-byte messages
to a 4-partition topic (`acks=all`, 2 ms linger) and consumes them from the start, reading
every field a consumer reads. It prints this process's CPU per message (librdkafka's own
threads included) and the rate. The question it answers: would a C client take a large part
of the services' CPU per event? A fed fulfilment is produced once by a relay and consumed
three times (bench/RESULTS.md, "CPU per event").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cobuild_stack.broker import TansuBroker
from cobuild_stack.topics import create_topics

from bench import references
from bench.cpu import pid_cpu_seconds


def process_cpu_s() -> float:
    """User + system CPU of this process, all its threads (librdkafka's too)."""
    return pid_cpu_seconds(os.getpid())


@dataclass(frozen=True)
class Leg:
    """One direction of one client: CPU per message (µs) and messages per second."""

    cpu_us: float
    rate: float

    @classmethod
    def since(cls, cpu0: float, t0: float, n: int) -> Leg:
        return cls((process_cpu_s() - cpu0) / n * 1e6, n / (time.perf_counter() - t0))

    def line(self, verb: str) -> str:
        return f"{verb} {self.cpu_us:.1f} µs of CPU a message, {self.rate:,.0f}/s"


async def aiokafka_legs(bootstrap: str, topic: str, value: bytes, n: int) -> tuple[Leg, Leg]:
    producer = references.raw_producer(bootstrap)
    await producer.start()
    try:
        cpu0, t0 = process_cpu_s(), time.perf_counter()
        sent = [await producer.send(topic, value=value, key=str(i).encode()) for i in range(n)]
        await asyncio.gather(*sent)
        produced = Leg.since(cpu0, t0, n)
    finally:
        await producer.stop()
    consumer = references.from_start(bootstrap, topic)
    await consumer.start()
    try:
        got, started = 0, None
        while got < n:
            for records in (await consumer.getmany(timeout_ms=100, max_records=500)).values():
                started = started or (process_cpu_s(), time.perf_counter())
                for r in records:
                    _read(r.value, r.key, r.headers, r.offset)
                got += len(records)
        assert started is not None
        return produced, Leg.since(*started, got)
    finally:
        await consumer.stop()


def librdkafka_legs(bootstrap: str, topic: str, value: bytes, n: int) -> tuple[Leg, Leg]:
    from confluent_kafka import Consumer, Producer  # bench/requirements.txt

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": references.LINGER_MS,
            "log_level": 3,
        }
    )
    cpu0, t0 = process_cpu_s(), time.perf_counter()
    for i in range(n):
        _produce(producer, topic, value, str(i).encode())
        if i % 1000 == 0:
            producer.poll(0)  # serve delivery reports
    producer.flush(60)
    produced = Leg.since(cpu0, t0, n)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}.g",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": references.FETCH_WAIT_MS,
        }
    )
    consumer.subscribe([topic])
    try:
        got, started = 0, None
        while got < n:
            messages = consumer.consume(500, 1.0)
            if messages:
                started = started or (process_cpu_s(), time.perf_counter())
            for m in messages:
                if m.error() is None:
                    _read(m.value(), m.key(), m.headers(), m.offset())
                    got += 1
        assert started is not None
        return produced, Leg.since(*started, got)
    finally:
        consumer.close()


def _produce(producer: Any, topic: str, value: bytes, key: bytes) -> None:
    """librdkafka raises BufferError when its local queue is full: serve it and retry."""
    while True:
        try:
            producer.produce(topic, value=value, key=key)
            return
        except BufferError:
            producer.poll(0.01)


def _read(*fields: object) -> None:
    """What a consumer touches of every record (kept so neither client is spared it)."""


async def main(n: int, rounds: int) -> None:
    value = os.urandom(references.MSG_BYTES // 2).hex().encode()
    with tempfile.TemporaryDirectory() as tmp:
        broker = TansuBroker(log_path=Path(tmp) / "tansu.log")
        await broker.start()
        try:
            for round_ in range(1, rounds + 1):
                for name in ("aiokafka", "librdkafka"):
                    topic = f"bench.clients.{name}.{uuid.uuid4().hex[:6]}"
                    await create_topics(broker.bootstrap, [topic], 4)
                    if name == "aiokafka":
                        legs = await aiokafka_legs(broker.bootstrap, topic, value, n)
                    else:
                        args = (broker.bootstrap, topic, value, n)
                        legs = await asyncio.to_thread(librdkafka_legs, *args)
                    produced, consumed = legs
                    print(
                        f"round {round_}, {name}, {n:,} messages of {references.MSG_BYTES} B: "
                        f"{produced.line('produce')}; {consumed.line('consume')}",
                        flush=True,
                    )
        finally:
            await broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.rounds))
