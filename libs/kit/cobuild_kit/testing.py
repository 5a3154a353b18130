"""Test support shared by every service's tests: a token issuer, an in-process service, and
what drives a BatchProcessor without a broker or a service runtime."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
from cobuild_contracts import Role

from cobuild_kit.auth import JwtVerifier, generate_keypair, issue_token, load_public_key
from cobuild_kit.clock import Clock
from cobuild_kit.db import connect
from cobuild_kit.migrations import migrate, package_migrations
from cobuild_kit.outbox import Outbox
from cobuild_kit.outbox import backlog as outbox_backlog
from cobuild_kit.service import Runtime, ServiceDefinition, create_app


class TestIssuer:
    """Mints tokens the way the development issuer does, with its own key pair."""

    __test__ = False  # not a pytest class

    def __init__(self, kid: str = "test-1") -> None:
        self.kid = kid
        self.private_pem, public_pem = generate_keypair()
        self.public_key = load_public_key(public_pem)
        self.verifier = JwtVerifier(
            {kid: self.public_key}, issuer="cobuild-dev", audience="cobuild"
        )

    def token(
        self,
        role: Role | str,
        party_id: UUID,
        *,
        subject: str | None = None,
        ttl_seconds: int = 3600,
        grant_id: UUID | None = None,
    ) -> str:
        return issue_token(
            private_key_pem=self.private_pem,
            kid=self.kid,
            subject=subject or f"{Role(role).value}:{party_id}",
            role=role,
            party_id=party_id,
            ttl_seconds=ttl_seconds,
            grant_id=grant_id,
        )

    def headers(
        self,
        role: Role | str,
        party_id: UUID,
        *,
        subject: str | None = None,
        grant_id: UUID | None = None,
    ) -> dict[str, str]:
        token = self.token(role, party_id, subject=subject, grant_id=grant_id)
        return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def running_service(
    definition: ServiceDefinition[Any],
) -> AsyncIterator[tuple[Runtime[Any], httpx.AsyncClient]]:
    """Start the whole runtime (pool, migrations, relay, consumers) and an HTTP client on it."""
    app = create_app(definition)
    rt: Runtime[Any] = app.state.runtime
    await rt.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield rt, client
    finally:
        await rt.stop()


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 15.0, interval: float = 0.05
) -> None:
    """Wait until `check()` is true; fail with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s: {check}")


async def caught_up(rt: Runtime) -> bool:
    """The service's outbox is empty and its consumer groups have no lag."""
    async with rt.pool.acquire() as conn:
        backlog = await outbox_backlog(conn)
    if backlog:
        return False
    return all(v == 0 for per in (await rt.lag()).values() for v in per.values())


def new_id() -> UUID:
    return uuid4()


@dataclass
class FakeRecord:
    """What a BatchProcessor reads from an aiokafka ConsumerRecord."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass
class BatchDeps:
    """What a BatchProcessor needs at run time (`ConsumerDeps`), without a service runtime."""

    pool: asyncpg.Pool
    outbox: Outbox
    clock: Clock
    producer: Any = None  # only dead-lettering sends; None where nothing is dead-lettered


async def prepare_database(dsn: str, *services: str) -> None:
    """Apply the kit's migrations, then each named service's (`cobuild_<name>`), in order."""
    migrations = package_migrations("cobuild_kit", "kit")
    for name in services:
        migrations += package_migrations(f"cobuild_{name}", name)
    conn = await connect(dsn)
    try:
        await migrate(conn, migrations)
    finally:
        await conn.close()
