"""Test backends and Kafka helpers for every service's tests.

Backend choice, per resource, made lazily on first use (pure unit tests start nothing):
1. external: COBUILD_TEST_PG_URL (an admin URL) / COBUILD_TEST_KAFKA_BOOTSTRAP;
2. testcontainers, if `docker info` answers within 3 s (and the package imports);
3. embedded: PostgreSQL and Tansu on free ports in a temp dir (test_mode=True).
COBUILD_TEST_BACKEND=embedded skips the Docker probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from .broker import TansuBroker
from .databases import drop_database, provision_database
from .postgres import EmbeddedPostgres
from .topics import create_topics, suite_topics

__all__ = [
    "Collected",
    "PgServer",
    "TestBackends",
    "collect",
    "create_topics",
    "docker_available",
    "produce",
]

PG_IMAGE = "postgres:17-alpine"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.7.1"


async def docker_available(timeout_s: float = 3.0) -> bool:
    """`docker info` answering in time; the client alone (no engine) does not count."""
    try:
        proc = await asyncio.create_subprocess_exec(
            "docker",
            "info",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return False
    try:
        return await asyncio.wait_for(proc.wait(), timeout_s) == 0
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return False


@dataclass
class PgServer:
    """A PostgreSQL server tests may create databases on."""

    admin_url: str
    embedded: EmbeddedPostgres | None = None

    async def create_database(self, prefix: str) -> str:
        """A fresh, uniquely named database with its own login role; returns its DSN."""
        stem = re.sub(r"[^a-z0-9_]", "_", prefix.lower())[:40] or "test"
        if not re.match(r"[a-z_]", stem):
            stem = f"t_{stem}"
        name = f"{stem}_{uuid.uuid4().hex[:10]}"
        password = self.embedded.password_for(name) if self.embedded else secrets.token_hex(16)
        return await provision_database(self.admin_url, name, password)

    async def drop_database(self, name: str) -> None:
        await drop_database(self.admin_url, name)


class TestBackends:
    """The session's PostgreSQL and Kafka, each started on first request."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        self._lock = asyncio.Lock()
        self._pg: PgServer | None = None
        self._bootstrap: str | None = None
        self._docker: bool | None = None
        self._tmp: Path | None = None
        self._containers: list[Any] = []
        self.broker: TansuBroker | None = None  # set when the broker is embedded
        self.backend: dict[str, str] = {}  # resource -> "external" | "docker" | "embedded"

    async def postgres(self) -> PgServer:
        async with self._lock:
            if self._pg is None:
                self._pg = await self._start_postgres()
            return self._pg

    async def kafka(self) -> str:
        async with self._lock:
            if self._bootstrap is None:
                self._bootstrap = await self._start_kafka()
            return self._bootstrap

    async def aclose(self) -> None:
        if self.broker is not None:
            await self.broker.stop()
        if self._pg is not None and self._pg.embedded is not None:
            await self._pg.embedded.stop()
        for container in reversed(self._containers):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(container.stop)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    async def _start_postgres(self) -> PgServer:
        if url := self._env.get("COBUILD_TEST_PG_URL"):
            self.backend["postgres"] = "external"
            return PgServer(url)
        if await self._use_docker():
            container = await self._start_container("postgres")
            if container is not None:
                self.backend["postgres"] = "docker"
                url = str(container.get_connection_url())
                return PgServer(re.sub(r"^postgresql\+\w+://", "postgresql://", url))
        pg = EmbeddedPostgres(self._tmp_dir() / "pg", 0, test_mode=True)
        await pg.start()
        self.backend["postgres"] = "embedded"
        return PgServer(pg.admin_url, pg)

    async def _start_kafka(self) -> str:
        if bootstrap := self._env.get("COBUILD_TEST_KAFKA_BOOTSTRAP"):
            self.backend["kafka"] = "external"
            return bootstrap
        if await self._use_docker():
            container = await self._start_container("kafka")
            if container is not None:
                self.backend["kafka"] = "docker"
                return str(container.get_bootstrap_server())
        self.broker = TansuBroker(0, log_path=self._tmp_dir() / "broker.log")
        await self.broker.start()
        self.backend["kafka"] = "embedded"
        return self.broker.bootstrap

    async def _use_docker(self) -> bool:
        if self._env.get("COBUILD_TEST_BACKEND", "").lower() == "embedded":
            return False
        if self._docker is None:
            self._docker = await docker_available()
        return self._docker

    async def _start_container(self, kind: str) -> Any:
        """A started testcontainer, or None (with a warning) so the embedded stack takes over."""
        try:
            if kind == "postgres":
                from testcontainers.postgres import PostgresContainer

                container: Any = PostgresContainer(self._env.get("COBUILD_TEST_PG_IMAGE", PG_IMAGE))
            else:
                from testcontainers.kafka import KafkaContainer

                image = self._env.get("COBUILD_TEST_KAFKA_IMAGE", KAFKA_IMAGE)
                container = KafkaContainer(image).with_kraft()
            await asyncio.to_thread(container.start)
        except Exception as exc:
            warnings.warn(
                f"testcontainers {kind} unavailable ({type(exc).__name__}: {exc}); "
                "using the embedded backend",
                stacklevel=2,
            )
            return None
        self._containers.append(container)
        return container

    def _tmp_dir(self) -> Path:
        if self._tmp is None:
            # Not pytest's tmp dirs: those are 0700, and as root PostgreSQL runs as nobody.
            self._tmp = Path(tempfile.mkdtemp(prefix="cobuild-test-"))
            self._tmp.chmod(0o755)
        return self._tmp


# -- Kafka helpers ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def broker_of_its_own(log_dir: Path, partitions: int = 2) -> AsyncIterator[str]:
    """A broker for one test module, with the suite's topics; yields its bootstrap address.

    For a module whose services start new consumer groups: on the suite's shared broker such a
    group first reads every earlier module's events from the topics' start (measured in CI:
    12-13 s of a module's set-up, growing with the suite). A broker of its own starts in about
    a second."""
    broker = TansuBroker(0, log_path=log_dir / "broker.log")
    await broker.start()
    try:
        await broker.create_topics(suite_topics(), partitions)
        yield broker.bootstrap
    finally:
        await broker.stop()


class Collected(NamedTuple):
    key: bytes | None
    headers: dict[str, bytes]
    value: bytes | None


async def collect(
    bootstrap: str,
    topic: str,
    n: int,
    timeout: float = 10.0,
) -> list[Collected]:
    """Read `n` messages of `topic` from the beginning, across all partitions.

    A fresh reader that belongs to no consumer group: it sees everything, commits nothing
    and skips the group join (about 5 s on Tansu). TimeoutError if fewer than `n` arrive.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    got: list[Collected] = []
    try:
        deadline = time.monotonic() + timeout
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {topic!r} does not exist on {bootstrap}")
            await consumer.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                await asyncio.sleep(0.1)
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        await consumer.seek_to_beginning()
        while len(got) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"got {len(got)} of {n} messages from {topic!r} in {timeout:g}s")
            batch = await consumer.getmany(timeout_ms=int(min(remaining, 0.2) * 1000) + 1)
            for records in batch.values():
                for record in records:
                    headers = {k: bytes(v) for k, v in record.headers}
                    got.append(Collected(record.key, headers, record.value))
    finally:
        await consumer.stop()
    return got[:n]


async def produce(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes | None, Mapping[str, bytes]]],
) -> int:
    """Send (key, value, headers) messages with acks=all; returns how many were sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    sent = 0
    try:
        for key, value, headers in messages:
            await producer.send_and_wait(topic, value, key=key, headers=list(headers.items()))
            sent += 1
    finally:
        await producer.stop()
    return sent
