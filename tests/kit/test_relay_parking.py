"""A row the relay can never send is parked, not retried forever (hardening: oversized events).

Before, a row the producer refused as too large was claimed again every second for ever and,
as the relay publishes in order, no later event of any key ever left. Now the row is parked,
the later rows of its topic and key are parked behind it (their order holds), every other
key's rows go on, the parked rows are counted and shown, and a resend after a fix sends them
in order.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from aiokafka.errors import MessageSizeTooLargeError
from cobuild_contracts import Role
from cobuild_kit.clock import SystemClock
from cobuild_kit.db import connect, create_pool
from cobuild_kit.kafka import MAX_REQUEST_BYTES, make_producer
from cobuild_kit.migrations import migrate, package_migrations
from cobuild_kit.outbox import Outbox, backlog, parked, resend_parked
from cobuild_kit.relay import OutboxRelay
from cobuild_kit.service import ServiceDefinition
from cobuild_kit.settings import ServiceSettings, service_config
from cobuild_kit.testing import TestIssuer, eventually, running_service
from cobuild_stack.testing import PgServer, collect
from cobuild_stack.topics import create_topics
from prometheus_client import REGISTRY

from tests.kit.kit_support import party

pytestmark = pytest.mark.asyncio(loop_scope="session")

OVERSIZED = MAX_REQUEST_BYTES + 60_000  # about 1.1 MB: the producer refuses it


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def _kit_db(pg_server: PgServer, name: str) -> tuple[str, asyncpg.Connection]:
    dsn = await pg_server.create_database(name)
    conn = await connect(dsn)
    await migrate(conn, package_migrations("cobuild_kit", "kit"))
    return dsn, conn


async def _stage(conn: asyncpg.Connection, topic: str, key: UUID, name: str) -> str:
    """A small party event of aggregate `key`, through the outbox (and its size check)."""
    outbox = Outbox("relaytest", SystemClock())
    env = outbox.envelope(party(name, party_id=key))
    async with conn.transaction():
        await outbox.add_envelopes(conn, [(topic, env)])
    return str(env.event_id)


async def _stage_oversized(
    conn: asyncpg.Connection, topic: str, key: UUID, size: int = OVERSIZED
) -> str:
    """An event of `size` bytes, inserted straight into the outbox, around the command's check
    (as a bulk producer's row, or one written before the bound existed, could be)."""
    env = Outbox("relaytest", SystemClock()).envelope(party("big", party_id=key))
    doc: dict[str, Any] = json.loads(env.model_dump_json())
    doc["payload"]["name"] = "x" * size
    await conn.execute(
        "INSERT INTO outbox (event_id, topic, key, event_type, envelope) "
        "VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        env.event_id,
        topic,
        env.key,
        env.event_type,
        json.dumps(doc),
    )
    return str(env.event_id)


def _ids(messages: list[Any]) -> list[str]:
    return [m.headers["event_id"].decode() for m in messages]


async def _outbox(conn: asyncpg.Connection) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT id, event_id::text, published_at, parked_at, park_reason FROM outbox ORDER BY id"
    )
    return {r["event_id"]: r for r in rows}


async def test_an_unsendable_row_is_parked_its_key_held_behind_it_and_resent_in_order_after_a_fix(
    pg_server: PgServer, kafka_bootstrap: str
) -> None:
    dsn, conn = await _kit_db(pg_server, "relaypark")
    topic = f"relay.park.{uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, [topic], 1)  # one partition: its order is the order
    a, b = uuid4(), uuid4()
    a1 = await _stage(conn, topic, a, "a1")
    big = await _stage_oversized(conn, topic, a)
    b1 = await _stage(conn, topic, b, "b1")
    a2 = await _stage(conn, topic, a, "a2")
    b2 = await _stage(conn, topic, b, "b2")
    pool = await create_pool(dsn, min_size=1, max_size=1)
    producer = make_producer(kafka_bootstrap, idempotence=False, client_id="relay-park")
    fixed = make_producer(
        kafka_bootstrap, idempotence=False, client_id="relay-fixed", max_request_bytes=2 * OVERSIZED
    )
    await producer.start()
    await fixed.start()
    counted = _sample("cobuild_outbox_parked_events_total")
    try:
        relay = OutboxRelay(service="relaytest", dsn=dsn, pool=pool, producer=producer)
        assert await relay.publish_batch(conn) == 5  # claimed: 3 published, 2 parked
        assert _ids(await collect(kafka_bootstrap, topic, 3)) == [a1, b1, b2]

        rows = await _outbox(conn)
        head = rows[big]["id"]
        assert rows[big]["parked_at"] and rows[big]["published_at"] is None
        assert "MessageSizeTooLargeError" in rows[big]["park_reason"]
        assert rows[a2]["parked_at"] and rows[a2]["published_at"] is None
        assert rows[a2]["park_reason"] == f"held behind parked row {head}"
        assert all(rows[e]["published_at"] and rows[e]["parked_at"] is None for e in (a1, b1, b2))
        assert _sample("cobuild_outbox_parked_events_total") == counted + 2
        assert _sample("cobuild_outbox_parked_rows") == 2
        assert (await backlog(conn), await parked(conn)) == (0, 2)

        # Not retried: the next claim finds nothing to do.
        assert await relay.publish_batch(conn) == 0
        # Later rows: the parked key's wait behind it, the other key's leave.
        a3 = await _stage(conn, topic, a, "a3")
        b3 = await _stage(conn, topic, b, "b3")
        assert await relay.publish_batch(conn) == 2
        assert _ids(await collect(kafka_bootstrap, topic, 4)) == [a1, b1, b2, b3]
        rows = await _outbox(conn)
        assert rows[a3]["parked_at"] and rows[a3]["park_reason"] == f"held behind parked row {head}"
        assert await parked(conn) == 3
        assert _sample("cobuild_outbox_parked_events_total") == counted + 3

        # The fix: a producer (and topic) limit that takes the row. Resend: in order.
        assert await resend_parked(conn) == 3
        assert (await backlog(conn), await parked(conn)) == (3, 0)
        relay = OutboxRelay(service="relaytest", dsn=dsn, pool=pool, producer=fixed)
        assert await relay.publish_batch(conn) == 3
        sent = await collect(kafka_bootstrap, topic, 7, timeout=20)
        assert _ids(sent) == [a1, b1, b2, b3, big, a2, a3]
        assert [e for e, m in zip(_ids(sent), sent, strict=True) if m.key == str(a).encode()] == [
            a1,
            big,
            a2,
            a3,
        ]
        assert (await backlog(conn), await parked(conn)) == (0, 0)
    finally:
        await producer.stop()
        await fixed.stop()
        await pool.close()
        await conn.close()


async def test_resend_of_one_event_frees_its_key_only_and_a_row_still_too_large_parks_again(
    pg_server: PgServer, kafka_bootstrap: str
) -> None:
    dsn, conn = await _kit_db(pg_server, "relayresend")
    topic = f"relay.resend.{uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, [topic], 1)
    a, b = uuid4(), uuid4()
    big_a = await _stage_oversized(conn, topic, a)
    a1 = await _stage(conn, topic, a, "a1")
    big_b = await _stage_oversized(conn, topic, b)
    b1 = await _stage(conn, topic, b, "b1")
    pool = await create_pool(dsn, min_size=1, max_size=1)
    producer = make_producer(kafka_bootstrap, idempotence=False, client_id="relay-resend")
    await producer.start()
    try:
        relay = OutboxRelay(service="relaytest", dsn=dsn, pool=pool, producer=producer)
        assert await relay.publish_batch(conn) == 4
        assert await parked(conn) == 4
        # No fix yet: resending key b's head parks it (and b1 behind it) again.
        assert await resend_parked(conn, UUID(big_b)) == 2
        assert await relay.publish_batch(conn) == 2
        rows = await _outbox(conn)
        assert all(rows[e]["parked_at"] for e in (big_a, a1, big_b, b1))
        assert "MessageSizeTooLargeError" in rows[big_b]["park_reason"]
        # Correct key a's head in place (e.g. trimmed), resend key a only: a leaves, b stays.
        await conn.execute(
            "UPDATE outbox SET envelope = jsonb_set(envelope, '{payload,name}', '\"trimmed\"') "
            "WHERE event_id = $1",
            UUID(big_a),
        )
        assert await resend_parked(conn, UUID(big_a)) == 2
        assert await relay.publish_batch(conn) == 2
        assert _ids(await collect(kafka_bootstrap, topic, 2)) == [big_a, a1]
        assert await parked(conn) == 2
    finally:
        await producer.stop()
        await pool.close()
        await conn.close()


async def test_a_resend_between_the_claim_and_the_park_releases_the_held_rows(
    pg_server: PgServer, kafka_bootstrap: str
) -> None:
    """`cobuild outbox resend` racing the relay: a row claimed behind a parked head that is
    resent before the park goes back to the queue (not parked behind nothing)."""
    dsn, conn = await _kit_db(pg_server, "relayrace")
    other = await connect(dsn)
    topic = f"relay.race.{uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, [topic], 1)
    a = uuid4()
    big = await _stage_oversized(conn, topic, a)
    pool = await create_pool(dsn, min_size=1, max_size=1)
    producer = make_producer(kafka_bootstrap, idempotence=False, client_id="relay-race")
    await producer.start()
    try:
        relay = OutboxRelay(service="relaytest", dsn=dsn, pool=pool, producer=producer)
        assert await relay.publish_batch(conn) == 1
        await conn.execute(
            "UPDATE outbox SET envelope = jsonb_set(envelope, '{payload,name}', '\"fixed\"')"
        )
        a1 = await _stage(conn, topic, a, "a1")
        park = relay._park

        async def resend_first(c: asyncpg.Connection, rows: list[Any]) -> None:
            assert await resend_parked(other) == 1  # commits before the relay parks
            await park(c, rows)

        relay._park = resend_first  # type: ignore[method-assign]
        assert await relay.publish_batch(conn) == 1  # a1 claimed, held behind the head
        relay._park = park  # type: ignore[method-assign]
        rows = await _outbox(conn)
        assert rows[a1]["parked_at"] is None and rows[a1]["published_at"] is None
        assert await relay.publish_batch(conn) == 2
        assert _ids(await collect(kafka_bootstrap, topic, 2)) == [big, a1]
        assert await parked(conn) == 0
    finally:
        await producer.stop()
        await pool.close()
        await other.close()
        await conn.close()


class SizeLimitedBroker:
    """A producer whose broker refuses a record batch that holds a record over `limit`: every
    record in that batch fails, as a real broker's refusal of the batch does. Records sent
    before anything awaits their futures form one batch."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.accepted: list[str] = []
        self._batch: list[tuple[str, int, asyncio.Future[None]]] = []

    async def send(self, topic: str, *, value: bytes, key: bytes, headers: Any) -> Any:
        event_id = dict(headers)["event_id"].decode()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self._batch:
            asyncio.get_running_loop().call_soon(self._flush)
        self._batch.append((event_id, len(value), future))
        return future

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        refused = any(size > self.limit for _, size, _ in batch)
        for event_id, _, future in batch:
            if refused:
                future.set_exception(MessageSizeTooLargeError("the broker refused the batch"))
            else:
                self.accepted.append(event_id)
                future.set_result(None)


async def test_a_record_the_broker_refuses_is_tried_alone_and_only_it_is_parked(
    pg_server: PgServer,
) -> None:
    """With a topic limit below the producer's (misconfigured), the broker refuses the whole
    batch. The batch rolls back; next time the refused records go alone, and only the one
    refused alone is parked."""
    dsn, conn = await _kit_db(pg_server, "relaybroker")
    topic = "relay.broker"
    a, b = uuid4(), uuid4()
    b1 = await _stage(conn, topic, b, "b1")
    big = await _stage_oversized(conn, topic, a, 50_000)
    a1 = await _stage(conn, topic, a, "a1")
    b2 = await _stage(conn, topic, b, "b2")
    pool = await create_pool(dsn, min_size=1, max_size=1)
    broker = SizeLimitedBroker(limit=20_000)
    try:
        relay = OutboxRelay(service="relaytest", dsn=dsn, pool=pool, producer=broker)  # type: ignore[arg-type]
        with pytest.raises(MessageSizeTooLargeError):
            await relay.publish_batch(conn)
        assert await backlog(conn) == 4 and await parked(conn) == 0  # all rolled back
        assert await relay.publish_batch(conn) == 4
        rows = await _outbox(conn)
        assert [e for e in rows if rows[e]["parked_at"]] == [big, a1]
        assert [e for e in rows if rows[e]["published_at"]] == [b1, b2]
        assert broker.accepted == [b1, b2]
    finally:
        await pool.close()
        await conn.close()


class ParkingSettings(ServiceSettings):
    model_config = service_config("parkingtest")


async def test_readyz_lag_and_metrics_show_parked_rows_while_other_keys_flow(
    pg_server: PgServer, kafka_bootstrap: str, tmp_path: Any
) -> None:
    """The running relay parks the row by itself; /readyz answers 200 "degraded" naming the
    parked rows (the service still serves: a 503 would take every replica out for one event),
    /ops/lag counts them apart from the backlog, and /metrics has the gauge and the counter."""
    dsn, conn = await _kit_db(pg_server, "relaylive")
    topic = f"relay.live.{uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, [topic], 2)
    settings = ParkingSettings(
        database_url=dsn,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path,
        outbox_poll_interval_s=0.2,
    )
    issuer = TestIssuer()
    operator = issuer.headers(Role.OPERATOR, uuid4())
    definition = ServiceDefinition(
        name="parkingtest",
        settings=settings,
        migrations_package=None,
        routers=[],
        consumers=[],
        verifier=issuer.verifier,
    )
    a, b = uuid4(), uuid4()
    try:
        async with running_service(definition) as (_rt, client):
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["status"] == "ok", ready.text
            big = await _stage_oversized(conn, topic, a)
            a1 = await _stage(conn, topic, a, "a1")
            b1 = await _stage(conn, topic, b, "b1")

            async def settled() -> bool:
                return await backlog(conn) == 0

            await eventually(settled, timeout=20)
            assert _ids(await collect(kafka_bootstrap, topic, 1)) == [b1]
            rows = await _outbox(conn)
            assert rows[big]["parked_at"] and rows[a1]["parked_at"]

            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            body = ready.json()
            assert body["status"] == "degraded"
            assert body["checks"]["outbox"].startswith("degraded: 2 event(s) parked")
            assert body["checks"]["database"] == body["checks"]["broker"] == "ok"
            lag = (await client.get("/ops/lag", headers=operator)).json()
            assert (lag["outbox_backlog"], lag["outbox_parked"]) == (0, 2)
            exposed = (await client.get("/metrics", headers=operator)).text
            # The gauge is the process's: in the full suite another relay of the same test
            # process may set it between our read of the database and this one, so the
            # metrics are checked for being there; the counts are /ops/lag's above.
            assert "cobuild_outbox_parked_rows" in exposed
            assert "cobuild_outbox_parked_events_total" in exposed

            # A fix in place (the row corrected), then a resend: the relay sends both, in order.
            await conn.execute(
                "UPDATE outbox SET envelope = jsonb_set(envelope, '{payload,name}', '\"ok\"') "
                "WHERE event_id = $1",
                UUID(big),
            )
            assert await resend_parked(conn) == 2
            await eventually(settled, timeout=20)
            sent = await collect(kafka_bootstrap, topic, 3)
            assert [
                e for e, m in zip(_ids(sent), sent, strict=True) if m.key == str(a).encode()
            ] == [
                big,
                a1,
            ]
            ready = await client.get("/readyz")
            assert ready.json()["status"] == "ok" and ready.json()["checks"]["outbox"] == "ok"
    finally:
        await conn.close()
