"""Fixtures of the notifications tests (the session's PostgreSQL comes from tests/; each test
has a broker of its own)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from cobuild_kit.testing import TestIssuer
from cobuild_stack.testing import broker_of_its_own
from notifications_support import MailServer

# The workbench's page test borrows the console tests' stand-in issuer and access service.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "console"))


@pytest.fixture(scope="module")
def issuer() -> TestIssuer:
    return TestIssuer()


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture
async def kafka_bootstrap(tmp_path: Path) -> AsyncIterator[str]:
    """A broker of each test's own: the service's consumer group is new in each test and reads
    every topic from its start, and the suite's shared broker holds every earlier test's events
    by then (minutes of reading in the full suite, none of them for these tests)."""
    async with broker_of_its_own(tmp_path) as bootstrap:
        yield bootstrap
