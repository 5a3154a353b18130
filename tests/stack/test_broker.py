from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cobuild_stack.broker import TansuBroker
from cobuild_stack.testing import collect, create_topics, produce
from cobuild_stack.topics import partition_counts


async def test_topics_get_the_partitions_asked_for_and_creation_is_idempotent(
    tmp_path: Path,
) -> None:
    broker = TansuBroker(0, log_path=tmp_path / "broker.log")
    await broker.start()
    try:
        names = ["things.events.v1", "things.events.v1.dlq"]
        assert await broker.create_topics(names, partitions=3) == names
        assert await broker.create_topics([*names, "other.events.v1"], partitions=3) == [
            "other.events.v1"
        ]
        counts = await partition_counts(broker.bootstrap, [*names, "other.events.v1"])
        assert counts == {name: 3 for name in [*names, "other.events.v1"]}
    finally:
        await broker.stop()
    assert broker.pid is None


async def test_produce_and_collect_round_trip(kafka_bootstrap: str) -> None:
    topic = "roundtrip.events.v1"
    await create_topics(kafka_bootstrap, [topic], partitions=4)
    sent = [
        (f"agg-{i % 3}".encode(), f"v{i}".encode(), {"event_type": b"x.happened"}) for i in range(9)
    ]
    assert await produce(kafka_bootstrap, topic, sent) == 9

    got = await collect(kafka_bootstrap, topic, 9, timeout=10)

    assert sorted((m.key, m.value) for m in got) == sorted((k, v) for k, v, _ in sent)
    assert all(m.headers == {"event_type": b"x.happened"} for m in got)
    for key in {k for k, _, _ in sent}:  # one key, one partition: its order is kept
        assert [m.value for m in got if m.key == key] == [v for k, v, _ in sent if k == key]


async def test_collect_says_how_many_it_got(kafka_bootstrap: str) -> None:
    topic = "short.events.v1"
    await create_topics(kafka_bootstrap, [topic], partitions=1)
    await produce(kafka_bootstrap, topic, [(b"k", b"only one", {})])
    with pytest.raises(TimeoutError, match="got 1 of 2"):
        await collect(kafka_bootstrap, topic, 2, timeout=0.5)


async def test_killed_broker_restarts_on_the_same_port_empty(tmp_path: Path) -> None:
    broker = TansuBroker(0, log_path=tmp_path / "broker.log")
    await broker.start()
    try:
        bootstrap, old_pid = broker.bootstrap, broker.pid
        await broker.create_topics(["gone.events.v1"], partitions=1)
        broker.pause()
        broker.resume()
        await broker.restart()
        assert broker.bootstrap == bootstrap and broker.pid != old_pid
        # memory:// storage: the restarted broker does not know the topic any more
        assert await broker.create_topics(["gone.events.v1"], partitions=1) == ["gone.events.v1"]
        await asyncio.wait_for(produce(bootstrap, "gone.events.v1", [(None, b"x", {})]), 10)
    finally:
        await broker.stop()
