"""Shared fixtures. Backends start lazily on a session event loop, so unit tests start nothing.

Backend choice (see cobuild_stack.testing): COBUILD_TEST_PG_URL / COBUILD_TEST_KAFKA_BOOTSTRAP,
else testcontainers when `docker info` answers, else embedded PostgreSQL and Tansu.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

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
