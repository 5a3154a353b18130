"""A broker of a module's own, for the modules whose services start new consumer groups.

On the suite's shared broker a new group first reads every earlier module's events from the
topics' start: in CI that was 12-13 s of such a module's set-up, growing as the suite grows.
A module opts out of the shared broker with one line, which defines its `kafka_bootstrap`:

    kafka_bootstrap = own_broker()
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from cobuild_stack.testing import broker_of_its_own


def own_broker() -> Any:
    @pytest_asyncio.fixture(scope="module", loop_scope="session", name="kafka_bootstrap")
    async def fixture(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
        async with broker_of_its_own(tmp_path_factory.mktemp("broker")) as bootstrap:
            yield bootstrap

    return fixture
