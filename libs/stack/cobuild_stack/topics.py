"""Topic administration over the Kafka protocol (works on Tansu and on Apache Kafka)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from cobuild_kit.kafka import TOPIC_MAX_MESSAGE_BYTES

EVENT_TOPICS = (
    "agreements.events.v1",
    "commitments.events.v1",
    "points.events.v1",
    "evaluation.events.v1",
    "access.events.v1",
    "escalations.events.v1",
)


# Set with the producer's max_request_size (cobuild_kit.kafka, docs/KIT.md "Event size"):
# Apache Kafka enforces it; Tansu takes the setting and does not enforce a limit of its own.
TOPIC_CONFIGS = {"max.message.bytes": str(TOPIC_MAX_MESSAGE_BYTES)}


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def suite_topics() -> list[str]:
    """Every event topic and its dead-letter topic."""
    return [name for topic in EVENT_TOPICS for name in (topic, dlq_topic(topic))]


async def create_topics(
    bootstrap: str, names: Iterable[str], partitions: int = 4, *, timeout_s: float = 30.0
) -> list[str]:
    """Create the topics that are missing (idempotent); returns the names created now."""
    wanted = list(dict.fromkeys(names))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await asyncio.wait_for(admin.start(), timeout_s)
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        created: list[str] = []
        for name in missing:  # one by one: a concurrent creator must not fail the batch
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            name,
                            num_partitions=partitions,
                            replication_factor=1,
                            topic_configs=TOPIC_CONFIGS,
                        )
                    ]
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        await admin.close()


async def partition_counts(bootstrap: str, names: Iterable[str]) -> dict[str, int]:
    """Partitions per topic, as the broker's metadata reports them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    return {str(t["topic"]): len(t["partitions"]) for t in described}
