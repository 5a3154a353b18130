"""Kafka plumbing shared by the relay, the DLQ and tools: producer and header helpers."""

from __future__ import annotations

from collections.abc import Mapping

from aiokafka import AIOKafkaProducer

# Upper bound of one producer batch per partition. Tansu's memory storage keeps an object per
# batch and walks a partition's objects on every fetch (bench/broker_scan.py), so aiokafka's
# 16 KiB default (about 15 envelopes a batch) made every fetch dearer as the topics grew.
MAX_BATCH_BYTES = 524_288

# Size limits, set together (docs/KIT.md, "Event size"). From the inside out:
# - MAX_EVENT_BYTES: an envelope as the relay sends it (PostgreSQL's text of the jsonb) may be
#   at most this long. The outbox refuses a bigger one at the command, before the commit
#   (cobuild_kit.errors.TooLarge, 413), so no unsendable row is ever written by a service.
# - MAX_REQUEST_BYTES: the producer's max_request_size, aiokafka's estimate of one record
#   (value, key, headers, framing). The 124 KiB between the two covers the key and headers.
#   A row over it (inserted bypassing the outbox, or a limit lowered since) is parked by the
#   relay, not retried forever (cobuild_kit.relay).
# - TOPIC_MAX_MESSAGE_BYTES: the topics' max.message.bytes, Apache Kafka's default: the
#   largest record batch a topic takes, one record at the producer's limit plus the batch's
#   own framing. cobuild_stack.topics and deploy/k8s/base/kafka/create-topics.sh set it.
MAX_EVENT_BYTES = 921_600  # 900 KiB
MAX_REQUEST_BYTES = 1_048_576  # 1 MiB, aiokafka's default, now set explicitly
TOPIC_MAX_MESSAGE_BYTES = 1_048_588  # 1 MiB + 12, Kafka's default message.max.bytes


def make_producer(
    bootstrap: str,
    *,
    idempotence: bool,
    client_id: str,
    max_batch_bytes: int = MAX_BATCH_BYTES,
    max_request_bytes: int = MAX_REQUEST_BYTES,
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
        max_request_size=max_request_bytes,
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
