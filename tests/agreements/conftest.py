"""Fixtures of the agreements tests: one running service for the package, on the session's
real PostgreSQL and broker (from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from agreements_support import NOW, Service
from cobuild_agreements.app import definition
from cobuild_agreements.settings import AgreementsSettings
from cobuild_kit.clock import FixedClock
from cobuild_kit.testing import TestIssuer, running_service
from cobuild_stack.testing import PgServer
from cobuild_stack.topics import create_topics, suite_topics


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def agreements_service(
    pg_server: PgServer, kafka_bootstrap: str, tmp_path_factory: object
) -> AsyncIterator[Service]:
    await create_topics(kafka_bootstrap, suite_topics())
    dsn = await pg_server.create_database("agreements")
    issuer = TestIssuer()
    clock = FixedClock(NOW)
    data_dir: Path = tmp_path_factory.mktemp("agreements")  # type: ignore[attr-defined]
    settings = AgreementsSettings(
        database_url=dsn,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=data_dir,
        outbox_poll_interval_s=0.2,
    )
    svc = definition(settings=settings, verifier=issuer.verifier, clock=clock)
    async with running_service(svc) as (rt, client):
        yield Service(rt, client, issuer, kafka_bootstrap)
