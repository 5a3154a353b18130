"""Fixtures of the security tests: the four services in-process on the session's real PostgreSQL
and broker (tests/conftest.py), started once for the package."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from cobuild_stack.testing import PgServer
from security_support import Suite, World, build_world, running_suite


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def suite(
    pg_server: PgServer, kafka_bootstrap: str, tmp_path_factory: Any
) -> AsyncIterator[Suite]:
    tmp: Path = tmp_path_factory.mktemp("security")
    async with running_suite(pg_server, kafka_bootstrap, tmp) as s:
        yield s


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(suite: Suite) -> World:
    """A fresh world per test module: modules never see each other's changes."""
    return await build_world(suite)
