"""Consumer lag: end offsets minus a group's committed offsets, per topic.

The driver advances business time only at lag 0, and an assessment is not published while its
input topics lag, so this is read often: one admin client and one offsets consumer, reused.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


class LagProbe:
    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await self._admin.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, enable_auto_commit=False
        )
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()

    async def lag(self, group: str, topics: Iterable[str]) -> dict[str, int]:
        assert self._admin is not None and self._consumer is not None, "start() first"
        partitions: list[TopicPartition] = []
        for topic in topics:
            parts = self._consumer.partitions_for_topic(topic)
            if parts is None:
                await self._consumer._client.force_metadata_update()
                parts = self._consumer.partitions_for_topic(topic) or set()
            partitions += [TopicPartition(topic, p) for p in sorted(parts)]
        if not partitions:
            return {}
        ends = await self._consumer.end_offsets(partitions)
        committed = await self._admin.list_consumer_group_offsets(group, partitions=partitions)
        out: dict[str, int] = {}
        for tp in partitions:
            meta = committed.get(tp)
            done = meta.offset if meta is not None and meta.offset >= 0 else 0
            out[tp.topic] = out.get(tp.topic, 0) + max(ends[tp] - done, 0)
        return out
