"""Shared fixtures. Backends start lazily on a session event loop, so unit tests start nothing.

Backend choice (see cobuild_stack.testing): COBUILD_TEST_PG_URL / COBUILD_TEST_KAFKA_BOOTSTRAP,
else testcontainers when `docker info` answers, else embedded PostgreSQL and Tansu.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from cobuild_stack.broker import TansuBroker
from cobuild_stack.testing import PgServer, TestBackends


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def cobuild_backends() -> AsyncIterator[TestBackends]:
    backends = TestBackends()
    try:
        yield backends
    finally:
        await backends.aclose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_server(cobuild_backends: TestBackends) -> PgServer:
    """`admin_url` and `await create_database(prefix) -> dsn` (a fresh database + role)."""
    return await cobuild_backends.postgres()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka_bootstrap(cobuild_backends: TestBackends) -> str:
    bootstrap: str = await cobuild_backends.kafka()
    return bootstrap


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def broker(cobuild_backends: TestBackends, kafka_bootstrap: str) -> TansuBroker:
    """The embedded broker behind `kafka_bootstrap`, for kill/pause/restart in fault tests.

    Its storage is memory: a restart comes back empty. Skips when Kafka is external.
    """
    if cobuild_backends.broker is None:
        pytest.skip(f"Kafka at {kafka_bootstrap} is not the embedded broker")
    return cobuild_backends.broker


# Folders whose tests start stacks of their own (the launcher, PostgreSQL, the broker).
_OWN_STACK_FOLDERS = frozenset({"e2e", "faults", "stack"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs PostgreSQL or the broker `integration`, so that
    `pytest -m "not integration"` is the fast unit suite: a test that uses the backends'
    fixtures (directly or through another fixture), or lives in a folder that starts its own."""
    for item in items:
        needs_backends = "cobuild_backends" in getattr(item, "fixturenames", ())
        if needs_backends or Path(str(item.path)).parent.name in _OWN_STACK_FOLDERS:
            item.add_marker(pytest.mark.integration)
