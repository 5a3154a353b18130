"""The runtime kit against real PostgreSQL and the real broker: outbox, relay, inbox, DLQ,
migrations, idempotency and authorisation, as every service uses them."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from cobuild_contracts import PartyRegistered, Role, encode
from cobuild_contracts.topics import dlq
from cobuild_kit import relay as relay_module
from cobuild_kit.clock import FixedClock
from cobuild_kit.consumer import ConsumerSpec, EventContext
from cobuild_kit.db import connect
from cobuild_kit.idempotency import PgKeyStore
from cobuild_kit.migrations import migrate
from cobuild_kit.outbox import mark_for_replay
from cobuild_kit.parties import authorize
from cobuild_kit.service import ActorDep, Runtime, RuntimeDep, ServiceDefinition
from cobuild_kit.settings import ServiceSettings, service_config
from cobuild_kit.testing import TestIssuer, eventually, running_service
from cobuild_stack.broker import TansuBroker
from cobuild_stack.ports import free_port
from cobuild_stack.testing import Collected, collect, produce
from fastapi import APIRouter

from tests.kit.kit_support import party


class KitSettings(ServiceSettings):
    model_config = service_config("kittest")


NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


async def create_topics(bootstrap: str, *names: str, partitions: int = 2) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
        )
    finally:
        await admin.close()


def effects_spec(topic: str) -> ConsumerSpec:
    """A consumer whose effect is a row per applied event (no unique key: doubles would show)."""
    spec = ConsumerSpec(purpose="effects", topics=[topic])

    @spec.on(PartyRegistered)
    async def on_party(ctx: EventContext, event: PartyRegistered) -> None:
        await ctx.conn.execute(
            "INSERT INTO effects (event_id, party_id) VALUES ($1, $2)",
            ctx.envelope.event_id,
            event.party_id,
        )
        # A follow-up event, to a side topic so it does not loop back into this consumer.
        follow_up = ctx.outbox.envelope(
            party("follow-up of " + event.name), causation_id=ctx.envelope.event_id
        )
        await ctx.outbox.add_envelopes(ctx.conn, [(f"{topic}.out", follow_up)])
        if event.name.startswith("boom"):
            raise RuntimeError(f"handler failed on {event.name}")

    return spec


def ping_router() -> APIRouter:
    router = APIRouter()

    @router.post("/parties/{party_id}/ping", status_code=201)
    async def ping(party_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
        async with rt.unit_of_work() as uow:
            await authorize(uow.conn, actor, party_id, roles={Role.COMMUNITY_ADMIN}, action="ping")
            await uow.conn.execute(
                "INSERT INTO effects (event_id, party_id) VALUES ($1, $2)", uuid4(), party_id
            )
        return {"pinged": str(party_id), "at": rt.clock.now().isoformat()}

    return router


@dataclass
class Kit:
    rt: Runtime
    client: Any
    dsn: str
    topic: str
    bootstrap: str
    issuer: TestIssuer

    async def count(self, sql: str, *args: Any) -> int:
        conn = await asyncpg.connect(self.dsn)
        try:
            return int(await conn.fetchval(sql, *args))
        finally:
            await conn.close()


async def _prepare_db(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS effects (event_id uuid, party_id uuid)")
    finally:
        await conn.close()


def _definition(
    dsn: str, bootstrap: str, topic: str, issuer: TestIssuer, tmp: Path
) -> ServiceDefinition:
    settings = KitSettings(
        database_url=dsn,
        kafka_bootstrap=bootstrap,
        data_dir=tmp,
        consumer_max_attempts=3,
        outbox_poll_interval_s=0.2,
    )
    return ServiceDefinition(
        name="kittest",
        settings=settings,
        migrations_package=None,
        routers=[ping_router()],
        consumers=[effects_spec(topic)],
        verifier=issuer.verifier,
        clock=FixedClock(NOW),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kit(
    pg_server: Any, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Kit]:
    """One running service for the module (a group join costs seconds); tests use own ids."""
    tmp_path = tmp_path_factory.mktemp("kit")
    dsn = await pg_server.create_database("kit")
    await _prepare_db(dsn)
    topic = f"kit.events.{uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, topic, dlq(topic), f"{topic}.out")
    issuer = TestIssuer()
    async with running_service(_definition(dsn, kafka_bootstrap, topic, issuer, tmp_path)) as (
        rt,
        client,
    ):
        yield Kit(rt, client, dsn, topic, kafka_bootstrap, issuer)


async def send(kit: Kit, *events: PartyRegistered, raw: list[bytes] | None = None) -> list[UUID]:
    """Produce events (and raw bytes) with one key, so they share a partition, in order."""
    ids: list[UUID] = []
    messages: list[tuple[bytes | None, bytes | None, dict[str, bytes]]] = []
    for value in raw or []:
        messages.append((b"same-key", value, {}))
    for event in events:
        env = kit.rt.outbox.envelope(event)
        ids.append(env.event_id)
        messages.append((b"same-key", encode(env), {"event_type": env.event_type.encode()}))
    await produce(kit.bootstrap, kit.topic, messages)
    return ids


async def test_migrations_applied_twice_are_a_no_op(kit: Kit) -> None:
    conn = await connect(kit.dsn)
    try:
        before = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        applied = await migrate(conn, kit.rt.definition.migrations())
        after = await conn.fetchval("SELECT count(*) FROM schema_migrations")
    finally:
        await conn.close()
    assert applied == []
    assert before == after >= 1


async def test_a_command_that_raises_after_writing_leaves_no_state_and_no_outbox_row(
    kit: Kit,
) -> None:
    pid = uuid4()
    with pytest.raises(RuntimeError):
        async with kit.rt.unit_of_work() as uow:
            await uow.conn.execute("INSERT INTO effects (event_id, party_id) VALUES ($1, $1)", pid)
            await uow.emit(party(party_id=pid))
            raise RuntimeError("fails after writing")
    assert await kit.count("SELECT count(*) FROM effects WHERE party_id = $1", pid) == 0
    assert await kit.count("SELECT count(*) FROM outbox WHERE key = $1", str(pid)) == 0


async def test_the_same_event_delivered_twice_has_one_effect(kit: Kit) -> None:
    event = party("重复社区")
    env = kit.rt.outbox.envelope(event)
    value = encode(env)
    await produce(kit.bootstrap, kit.topic, [(b"k", value, {}), (b"k", value, {})])
    marker = party("marker after the duplicate")
    await send(kit, marker)
    await eventually(lambda: _applied(kit, marker.party_id))
    assert await kit.count("SELECT count(*) FROM effects WHERE party_id = $1", event.party_id) == 1
    assert await kit.count("SELECT count(*) FROM inbox WHERE event_id = $1", env.event_id) == 1
    # The follow-up event it emitted was written once too.
    assert (
        await kit.count(
            "SELECT count(*) FROM outbox WHERE envelope->>'causation_id' = $1", str(env.event_id)
        )
        == 1
    )


async def _applied(kit: Kit, party_id: UUID) -> bool:
    return await kit.count("SELECT count(*) FROM effects WHERE party_id = $1", party_id) > 0


async def test_a_poison_message_goes_to_the_dlq_and_the_next_message_is_processed(kit: Kit) -> None:
    poison = b'{"event_type": "party.registered", "payload": "not an object'
    unknown = encode(kit.rt.outbox.envelope(party())).replace(
        b"party.registered", b"party.exploded"
    )
    after = party("after the poison")
    await send(kit, after, raw=[poison, unknown])
    await eventually(lambda: _applied(kit, after.party_id))
    dead = [
        m for m in await read_all(kit.bootstrap, dlq(kit.topic)) if m.value in (poison, unknown)
    ]
    errors = {m.value: m.headers["dlq.error"].decode() for m in dead}
    assert len(dead) == 2
    assert errors[poison].startswith("contract:")
    assert "party.exploded" in errors[unknown]
    for m in dead:
        assert m.headers["dlq.consumer_group"] == b"kittest.effects"
        assert m.headers["dlq.original_topic"] == kit.topic.encode()
        assert m.headers["dlq.original_offset"].decode().isdigit()
    assert (
        await kit.count("SELECT count(*) FROM dead_letters WHERE consumer = 'kittest.effects'") >= 2
    )


async def test_a_handler_failing_every_time_is_dead_lettered_with_nothing_half_written(
    kit: Kit,
) -> None:
    boom = party("boom社区")
    after = party("after boom")
    await send(kit, boom, after)
    await eventually(lambda: _applied(kit, after.party_id), timeout=30)
    assert await kit.count("SELECT count(*) FROM effects WHERE party_id = $1", boom.party_id) == 0
    assert (
        await kit.count(
            "SELECT count(*) FROM outbox WHERE envelope->'payload'->>'name' = $1",
            "follow-up of boom社区",
        )
        == 0
    )
    attempts = await kit.count(
        "SELECT attempts FROM consumer_failures WHERE consumer = 'kittest.effects' "
        "AND last_error LIKE '%boom社区%'"
    )
    assert attempts == 3
    dead = await kit.count(
        "SELECT count(*) FROM dead_letters WHERE error LIKE '%boom社区%' AND event_type = 'party.registered'"
    )
    assert dead == 1


async def test_relay_killed_after_publishing_before_marking_republishes_and_the_inbox_absorbs_it(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashes: list[str] = []

    def crash_once(name: str) -> None:
        if name == "relay.after_publish" and not crashes:
            crashes.append(name)
            raise RuntimeError("relay died after publishing")  # the rows stay unmarked

    monkeypatch.setattr(relay_module, "crash_point", crash_once)
    event = party("relay crash")
    async with kit.rt.unit_of_work() as uow:
        env = kit.rt.outbox.envelope(event)
        await kit.rt.outbox.add_envelopes(uow.conn, [(kit.topic, env)])
    await eventually(lambda: _marked(kit, env.event_id), timeout=20)
    assert crashes == ["relay.after_publish"]
    # Published, not marked, published again: the topic holds the event twice.
    on_topic = await read_all(kit.bootstrap, kit.topic)
    assert sum(str(env.event_id).encode() in (m.value or b"") for m in on_topic) == 2
    await eventually(lambda: _applied(kit, event.party_id))
    await asyncio.sleep(0.5)
    assert await kit.count("SELECT count(*) FROM effects WHERE party_id = $1", event.party_id) == 1


async def _marked(kit: Kit, event_id: UUID) -> bool:
    return (
        await kit.count(
            "SELECT count(*) FROM outbox WHERE event_id = $1 AND published_at IS NOT NULL", event_id
        )
        == 1
    )


async def read_all(bootstrap: str, topic: str) -> list[Collected]:
    """Everything on a topic now, read by message (end offsets undercount on Tansu)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        await consumer.seek_to_beginning()
        got: list[Collected] = []
        quiet = 0
        while quiet < 3:
            batch = await consumer.getmany(timeout_ms=200)
            records = [r for rs in batch.values() for r in rs]
            quiet = 0 if records else quiet + 1
            got += [Collected(r.key, {k: bytes(v) for k, v in r.headers}, r.value) for r in records]
        return got
    finally:
        await consumer.stop()


def _name(value: bytes | None) -> str:
    assert value is not None
    return str(json.loads(value)["payload"]["name"])


async def test_a_token_for_party_a_is_refused_for_party_b(kit: Kit) -> None:
    a, b = uuid4(), uuid4()
    headers = kit.issuer.headers(Role.COMMUNITY_ADMIN, a)
    refused = await kit.client.post(f"/parties/{b}/ping", headers=headers)
    assert refused.status_code == 403
    assert str(b) in refused.json()["message"]
    assert await kit.count("SELECT count(*) FROM effects WHERE party_id = $1", b) == 0
    allowed = await kit.client.post(f"/parties/{a}/ping", headers=headers)
    assert allowed.status_code == 201
    assert (await kit.client.post(f"/parties/{a}/ping")).status_code == 401
    other_issuer = TestIssuer(kid="test-1")  # same kid, another key: the signature fails
    forged = await kit.client.post(
        f"/parties/{a}/ping", headers=other_issuer.headers(Role.COMMUNITY_ADMIN, a)
    )
    assert forged.status_code == 401


async def test_idempotency_key_replays_the_stored_response_and_refuses_another_body(
    kit: Kit,
) -> None:
    a = uuid4()
    headers = {**kit.issuer.headers(Role.COMMUNITY_ADMIN, a), "Idempotency-Key": f"k-{a}"}
    first = await kit.client.post(f"/parties/{a}/ping", headers=headers)
    again = await kit.client.post(f"/parties/{a}/ping", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert await kit.count("SELECT count(*) FROM effects WHERE party_id = $1", a) == 1
    other = await kit.client.post(f"/parties/{a}/ping?x=1", headers=headers, content=b"{}")
    assert other.status_code == 409


async def test_a_retried_upload_replays_although_its_multipart_boundary_is_new(
    kit: Kit,
) -> None:
    """httpx, like a browser, draws a fresh boundary per request: the retry of an upload whose
    answer was lost must still count as the same request."""
    a = uuid4()
    headers = {**kit.issuer.headers(Role.COMMUNITY_ADMIN, a), "Idempotency-Key": f"u-{a}"}
    upload = {"file": ("parties.csv", b"kind,name\nstreet,\xe4\xb8\x9c\n", "text/csv")}
    first = await kit.client.post(f"/parties/{a}/ping", headers=headers, files=upload)
    again = await kit.client.post(f"/parties/{a}/ping", headers=headers, files=upload)
    assert first.request.headers["content-type"] != again.request.headers["content-type"]
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert await kit.count("SELECT count(*) FROM effects WHERE party_id = $1", a) == 1
    changed = {"file": ("parties.csv", b"kind,name\nstreet,other\n", "text/csv")}
    other = await kit.client.post(f"/parties/{a}/ping", headers=headers, files=changed)
    assert other.status_code == 409


async def test_a_key_without_a_verified_token_is_not_kept(kit: Kit) -> None:
    """Idempotency-Keys are kept only for signed-in actors: anyone could otherwise fill the
    table (the hardening issue's 'Idempotency keys' item)."""
    a = uuid4()
    for auth in ({}, {"Authorization": "Bearer not-a-token"}):
        key = f"anon-{uuid4()}"
        answer = await kit.client.post(
            f"/parties/{a}/ping", headers={**auth, "Idempotency-Key": key}
        )
        assert answer.status_code == 401
        assert await kit.count("SELECT count(*) FROM idempotency_keys WHERE key = $1", key) == 0


async def test_kept_answers_are_purged_after_their_retention(kit: Kit) -> None:
    a = uuid4()
    headers = {**kit.issuer.headers(Role.COMMUNITY_ADMIN, a), "Idempotency-Key": f"old-{a}"}
    assert (await kit.client.post(f"/parties/{a}/ping", headers=headers)).status_code == 201
    async with kit.rt.pool.acquire() as conn:
        await conn.execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1",
            f"old-{a}",
        )
    purged = await PgKeyStore(lambda: kit.rt.pool).purge(timedelta(hours=24))
    assert purged >= 1
    assert await kit.count("SELECT count(*) FROM idempotency_keys WHERE key = $1", f"old-{a}") == 0


async def test_operations_are_the_operators(kit: Kit) -> None:
    """Metrics, lag and rewinds need the operator role: not a district admin's, not anyone's
    without a token (the hardening issue's "Operations reach" and its /metrics item)."""
    operator = kit.issuer.headers(Role.OPERATOR, uuid4())
    district = kit.issuer.headers(Role.DISTRICT_ADMIN, uuid4())
    for method, path in (("GET", "/metrics"), ("GET", "/ops/lag")):
        assert (await kit.client.request(method, path)).status_code == 401
        assert (await kit.client.request(method, path, headers=district)).status_code == 403
        assert (await kit.client.request(method, path, headers=operator)).status_code == 200
    refused = await kit.client.post("/ops/consumers/rewind", headers=district)
    assert refused.status_code == 403 and "operator" in refused.json()["message"]


async def test_docs_render_with_no_network(kit: Kit) -> None:
    """/docs and /redoc load their scripts from the service itself (district intranets have
    no internet); FastAPI's own pages load them from a CDN."""
    for page in ("/docs", "/redoc"):
        html = (await kit.client.get(page)).text
        sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        sources += re.findall(r"""url:\s*["']([^"']+)["']""", html)
        assert sources, page
        assert [u for u in sources if "//" in u] == [], page
        for url in sources:
            if url.endswith((".js", ".css")):
                assert (await kit.client.get(url)).status_code == 200, url


@dataclass
class OwnBroker:
    """A service on a broker of its own, for tests that kill or restart the broker."""

    broker: TansuBroker
    dsn: str
    topic: str
    issuer: TestIssuer
    definition: ServiceDefinition

    async def create_topics(self) -> None:
        topic = self.topic
        await create_topics(self.broker.bootstrap, topic, dlq(topic), f"{topic}.out")


@asynccontextmanager
async def own_broker(pg_server: Any, tmp_path: Path, name: str) -> AsyncIterator[OwnBroker]:
    broker = TansuBroker(free_port(), log_path=tmp_path / "tansu.log")
    await broker.start()
    try:
        dsn = await pg_server.create_database(f"kit{name}")
        await _prepare_db(dsn)
        topic, issuer = f"kit.{name}.v1", TestIssuer()
        definition = _definition(dsn, broker.bootstrap, topic, issuer, tmp_path)
        own = OwnBroker(broker, dsn, topic, issuer, definition)
        await own.create_topics()
        yield own
    finally:
        await broker.stop()


async def test_after_the_broker_restarts_empty_replay_refills_it_without_duplicate_effects(
    pg_server: Any, tmp_path: Path
) -> None:
    async with own_broker(pg_server, tmp_path, "replay") as own:
        broker, topic = own.broker, own.topic
        events = [party(f"replay {i}") for i in range(5)]
        async with running_service(own.definition) as (rt, _):
            kit = Kit(rt, None, own.dsn, topic, broker.bootstrap, own.issuer)
            await _emit_all(rt, topic, events)
            await eventually(lambda: _count_effects(kit, 5), timeout=20)
        await broker.restart()  # memory storage: the broker comes back empty
        await own.create_topics()
        async with running_service(own.definition) as (rt, _):
            conn = await connect(own.dsn)
            try:
                replayed = await mark_for_replay(
                    conn, NOW - timedelta(days=3650), datetime.now(UTC) + timedelta(days=1)
                )
            finally:
                await conn.close()
            assert replayed >= 5
            later = party("after the replay")
            await _emit_all(rt, topic, [later])
            await eventually(lambda: _applied(kit, later.party_id), timeout=30)
            # The topic was refilled from the outbox: the five replayed events, then the new one.
            refilled = await collect(broker.bootstrap, topic, 6, timeout=10)
            names = sorted(_name(m.value) for m in refilled)
            assert names == sorted([*(e.name for e in events), later.name])
        assert await kit.count("SELECT count(*) FROM effects") == 6
        assert await kit.count("SELECT count(*) FROM inbox WHERE consumer = 'kittest.effects'") == 6


async def test_consumers_rewind_once_the_broker_is_back_and_refuse_while_it_is_away(
    pg_server: Any, tmp_path: Path
) -> None:
    """A running service outlives its broker: the rewind is a quick 503 while the broker is
    down (it must not hang the operator), then re-reads the refilled topic from offset 0."""
    async with own_broker(pg_server, tmp_path, "rewind") as own:
        broker, issuer = own.broker, own.issuer
        admin = issuer.headers(Role.OPERATOR, uuid4())
        async with running_service(own.definition) as (rt, client):
            kit = Kit(rt, client, own.dsn, own.topic, broker.bootstrap, issuer)
            await _emit_all(rt, own.topic, [party(f"before {i}") for i in range(3)])
            await eventually(lambda: _count_effects(kit, 3), timeout=20)
            await broker.kill()
            started = asyncio.get_running_loop().time()
            away = await client.post("/ops/consumers/rewind", headers=admin)
            assert away.status_code == 503, away.text
            assert asyncio.get_running_loop().time() - started < 10
            await broker.start()
            await own.create_topics()

            async def rewound() -> bool:
                answer = await client.post("/ops/consumers/rewind", headers=admin)
                return answer.status_code == 200 and answer.json()["partitions_rewound"] > 0

            await eventually(rewound, timeout=60, interval=0.5)
            later = party("after the rewind")
            await _emit_all(rt, own.topic, [later])
            await eventually(lambda: _applied(kit, later.party_id), timeout=30)
        assert await kit.count("SELECT count(*) FROM effects") == 4


async def _emit_all(rt: Runtime, topic: str, events: list[PartyRegistered]) -> None:
    async with rt.unit_of_work() as uow:
        await rt.outbox.add_envelopes(uow.conn, [(topic, rt.outbox.envelope(e)) for e in events])


async def _count_effects(kit: Kit, n: int) -> bool:
    return await kit.count("SELECT count(*) FROM effects") == n


async def test_a_key_left_in_progress_by_a_dead_process_is_taken_over_after_a_while(
    kit: Kit,
) -> None:
    a = uuid4()
    headers = {**kit.issuer.headers(Role.COMMUNITY_ADMIN, a), "Idempotency-Key": f"dead-{a}"}
    first = await kit.client.post(f"/parties/{a}/ping", headers=headers)
    assert first.status_code == 201
    scope = kit.rt.verifier.verify(headers["Authorization"][7:]).subject
    # As a crash mid-command leaves it: claimed, no response recorded.
    async with kit.rt.pool.acquire() as conn:
        await conn.execute(
            "UPDATE idempotency_keys SET status = NULL, body = NULL WHERE scope = $1 AND key = $2",
            scope,
            f"dead-{a}",
        )
    fresh = await kit.client.post(f"/parties/{a}/ping", headers=headers)
    assert fresh.status_code == 503  # in progress: maybe still running, so retry shortly
    assert fresh.headers["retry-after"] == "2"
    assert fresh.json()["error"] == "idempotency_in_progress"
    async with kit.rt.pool.acquire() as conn:
        await conn.execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '2 minutes' "
            "WHERE scope = $1 AND key = $2",
            scope,
            f"dead-{a}",
        )
    taken_over = await kit.client.post(f"/parties/{a}/ping", headers=headers)
    assert taken_over.status_code == 201
    assert taken_over.headers.get("idempotent-replayed") is None


class _PoolAway:
    """A pool whose connections fail as a restarting PostgreSQL's do."""

    def acquire(self, *args: Any, **kwargs: Any) -> Any:
        raise asyncpg.InterfaceError("connection is closed")


async def test_lag_is_unknown_not_an_error_while_the_database_is_away(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drivers poll /ops/lag through a database restart: they need a 503 to retry on."""
    admin = kit.issuer.headers(Role.OPERATOR, uuid4())
    monkeypatch.setattr(kit.rt, "_pool", _PoolAway())
    answer = await kit.client.get("/ops/lag", headers=admin)
    monkeypatch.undo()
    assert answer.status_code == 503, answer.text
    assert "outbox backlog unknown" in answer.json()["message"]
    assert (await kit.client.get("/ops/lag", headers=admin)).status_code == 200
