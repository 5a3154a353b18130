"""Offsets are committed after the batches they cover, at most every interval, never ahead of
what was settled, only for partitions still owned; a failed or rewound one is dropped."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError
from cobuild_kit.offsets import SettledOffsets
from cobuild_kit.testing import FakeRecord

A0, A1 = TopicPartition("a", 0), TopicPartition("a", 1)


class FakeConsumer:
    def __init__(self, owned: set[TopicPartition], failures: int = 0) -> None:
        self.owned = owned
        self.failures = failures
        self.commits: list[dict[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return self.owned

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.failures:
            self.failures -= 1
            raise CommitFailedError("rebalanced")
        self.commits.append(dict(offsets))


def records(partition: int, *offs: int) -> list[FakeRecord]:
    return [FakeRecord("a", partition, o, b"k", b"{}") for o in offs]


async def test_interval_zero_commits_each_batch_at_the_next_offset() -> None:
    consumer = FakeConsumer({A0, A1})
    o = SettledOffsets("g", 0)
    await o.settled(consumer, records(0, 5, 6) + records(1, 9))
    await o.settled(consumer, records(0, 7))
    assert consumer.commits == [{A0: 7, A1: 10}, {A0: 8}]


async def test_batches_within_an_interval_share_one_commit_of_the_latest_offsets() -> None:
    consumer = FakeConsumer({A0, A1})
    o = SettledOffsets("g", 0.05)
    await o.settled(consumer, records(0, 1, 2))
    await o.settled(consumer, records(1, 4))
    await o.settled(consumer, records(0, 3))
    assert consumer.commits == []  # not yet: the interval has not passed
    await asyncio.sleep(0.12)
    assert consumer.commits == [{A0: 4, A1: 5}]
    await asyncio.sleep(0.1)
    assert len(consumer.commits) == 1  # nothing new settled, nothing committed
    await o.close()


async def test_a_partition_no_longer_owned_is_left_to_its_new_owner() -> None:
    consumer = FakeConsumer({A1})
    o = SettledOffsets("g", 0)
    await o.settled(consumer, records(0, 1) + records(1, 2))
    assert consumer.commits == [{A1: 3}]


async def test_a_failed_commit_is_dropped_and_the_next_batch_commits_past_it() -> None:
    consumer = FakeConsumer({A0}, failures=1)
    o = SettledOffsets("g", 0.02)
    await o.settled(consumer, records(0, 1))
    await asyncio.sleep(0.06)  # the first attempt failed
    assert consumer.commits == []
    await asyncio.sleep(0.06)
    assert consumer.commits == []  # not retried: it may name a log the broker lost
    await o.settled(consumer, records(0, 2))
    await asyncio.sleep(0.06)
    assert consumer.commits == [{A0: 3}]
    await o.close()


async def test_a_rewind_forgets_what_is_not_committed() -> None:
    consumer = FakeConsumer({A0})
    o = SettledOffsets("g", 60)
    await o.settled(consumer, records(0, 500))
    o.forget()
    await o.close()
    assert consumer.commits == []


async def test_close_commits_what_is_settled() -> None:
    consumer = FakeConsumer({A0})
    o = SettledOffsets("g", 60)
    await o.settled(consumer, records(0, 41))
    await o.close()
    assert consumer.commits == [{A0: 42}]
