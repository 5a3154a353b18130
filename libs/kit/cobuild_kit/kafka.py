"""Kafka plumbing shared by the relay, the DLQ and tools: producer and header helpers."""

from __future__ import annotations

from collections.abc import Mapping

from aiokafka import AIOKafkaProducer

# Upper bound of one producer batch per partition. Tansu's memory storage keeps an object per
# batch and walks a partition's objects on every fetch (bench/broker_scan.py), so aiokafka's
# 16 KiB default (about 15 envelopes a batch) made every fetch dearer as the topics grew.
MAX_BATCH_BYTES = 524_288


def make_producer(
    bootstrap: str, *, idempotence: bool, client_id: str, max_batch_bytes: int = MAX_BATCH_BYTES
) -> AIOKafkaProducer:
    # acks=all always; idempotence only where the broker supports it (not Tansu).
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=idempotence,
        # No linger: the relay queues a whole claim before it yields, so that claim already
        # leaves as one batch; a linger would only add its length to every event's latency.
        linger_ms=0,
        max_batch_size=max_batch_bytes,
        request_timeout_ms=30_000,
        retry_backoff_ms=200,
    )


def to_headers(values: Mapping[str, str | None]) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in values.items() if v is not None]


def from_headers(headers: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in headers or ():  # type: ignore[attr-defined]
        out[k] = v.decode(errors="replace") if isinstance(v, bytes) else str(v)
    return out
