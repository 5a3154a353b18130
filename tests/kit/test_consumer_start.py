"""A service's consumer groups start together (`Runtime._start_consumers`)."""

from __future__ import annotations

import asyncio
import time

import pytest
from cobuild_kit.service import Runtime, ServiceDefinition
from cobuild_kit.settings import ServiceSettings


async def test_groups_start_together_and_a_failed_start_stops_them_all() -> None:
    """`Runtime._start_consumers`: every group starts at once (Tansu answers each join after
    half the session timeout); if one fails, those that started stop before the retry."""

    class Subscriber:
        def __init__(self, fails: bool) -> None:
            self.fails, self.started, self.stopped = fails, 0, 0

        async def start(self) -> None:
            await asyncio.sleep(0.2)
            if self.fails:
                raise ConnectionError("the coordinator is away")
            self.started += 1

        async def stop(self) -> None:
            self.stopped += 1

    class Broker:
        def __init__(self, subscribers: list[Subscriber]) -> None:
            self.subscribers, self.running = subscribers, False
            self.publishers: list[Subscriber] = []

        async def connect(self) -> None:
            return None

    rt: Runtime = Runtime(
        ServiceDefinition(name="starttest", settings=ServiceSettings(), migrations_package=None)
    )
    fine = [Subscriber(False) for _ in range(4)]
    rt.broker = Broker(fine)  # type: ignore[assignment]
    began = time.monotonic()
    await rt._start_consumers()
    assert time.monotonic() - began < 0.6 and all(s.started == 1 for s in fine)
    assert rt.broker.running
    one_bad = [Subscriber(False), Subscriber(True), Subscriber(False)]
    rt.broker = Broker(one_bad)  # type: ignore[assignment]
    with pytest.raises(ConnectionError):
        await rt._start_consumers()
    assert all(s.stopped == 1 for s in one_bad) and not rt.broker.running
