"""The agreement.signed many-handler opens what signing one event at a time opens: the same
agreement.signed events, once through the kit in one batch (a duplicate delivery, a re-signing
under a new event id, an item repeated across agreements and a poison event among them) and
once event by event (a savepoint each, an item at a time), leave the same agreements,
commitments, history and commitment.opened events, each caused by the signing that opened it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from cobuild_commitments import consumers
from cobuild_commitments.domain import events
from cobuild_commitments.store import agreements, commitments, history
from cobuild_contracts import AgreementSigned, Envelope, encode
from cobuild_kit import inbox
from cobuild_kit.clock import FixedClock
from cobuild_kit.consumer import BatchProcessor
from cobuild_kit.db import create_pool
from cobuild_kit.outbox import Outbox
from cobuild_kit.testing import BatchDeps, FakeRecord, prepare_database

from tests.commitments.commitments_support import T0, envelope, item, signed

DEADLINE = date(2025, 6, 30)
TOPIC = "agreements.events.v1"


@dataclass
class DeadLetters:
    """A producer that only keeps what the kit dead-letters."""

    sent: list[tuple[str, bytes]] = field(default_factory=list)

    async def send(self, topic: str, value: bytes, key: bytes, headers: Any) -> Any:
        self.sent.append((topic, value))
        return _done()


async def _done() -> None:
    return None


def _signing(community: UUID, unit: UUID, n: int) -> AgreementSigned:
    return signed(
        community, unit, [item(unit, community, DEADLINE, title=f"task {i}") for i in range(n)]
    )


def deliveries() -> tuple[list[Envelope], list[Envelope], Envelope]:
    """Signings as the topic delivers them in two batches, and the poison one in the second
    (a failure sends the kit's batch down the slow path, one savepoint per event)."""
    community, unit = uuid4(), uuid4()
    first, second = _signing(community, unit, 3), _signing(community, unit, 2)
    # Another agreement repeating an item of the first: the first signing opened it.
    repeat = signed(community, unit, [first.items[1], item(unit, community, DEADLINE)])
    # PostgreSQL text cannot hold NUL: the contract accepts it, the database refuses it.
    poison = envelope(_signing(community, unit, 1).model_copy(
        update={"items": [item(unit, community, DEADLINE, title="bad\x00title")]}
    ))  # fmt: skip
    a = envelope(first)
    later = envelope(_signing(community, unit, 2))
    return [a, envelope(second), a, envelope(first), envelope(repeat)], [poison, later], poison


async def _database(pg_server: Any, prefix: str) -> asyncpg.Pool:
    dsn = await pg_server.create_database(prefix)
    await prepare_database(dsn, "commitments")
    return await create_pool(dsn)


async def _sign_one_by_one(conn: asyncpg.Connection, outbox: Outbox, env: Envelope) -> None:
    """Per event, per item: the handler's effect without batching (the reference)."""
    event = AgreementSigned.model_validate(env.payload)

    async def emit(e: Any) -> Envelope:
        return await outbox.add(
            conn, e, correlation_id=env.correlation_id, causation_id=env.event_id
        )

    if not await inbox.claim(
        conn, "commitments.agreements", env.event_id,
        event_type=env.event_type, topic=TOPIC, partition=0, offset=0,
    ):  # fmt: skip
        return
    await agreements.save_agreements(conn, [event])
    parties = agreements.AgreementParties(event.community_id, event.unit_id)
    for i in event.items:
        new = commitments.NewItem(event.agreement_id, parties, i, event.signed_at)
        for c in await commitments.open_items(conn, [new]):
            await history.record(conn, emit, events.opened(c))


async def _state(pool: asyncpg.Pool) -> dict[str, Any]:
    async with pool.acquire() as conn:
        agreements = await conn.fetch("SELECT * FROM agreements ORDER BY agreement_id")
        commitments = await conn.fetch(
            "SELECT * FROM commitments ORDER BY commitment_id"
        )  # updated_at dropped below
        history = await conn.fetch(
            "SELECT commitment_id, event_type, occurred_at, payload, published "
            "FROM commitment_history ORDER BY seq"
        )
        out = await conn.fetch("SELECT topic, key, event_type, envelope FROM outbox ORDER BY id")
        inbox_rows = await conn.fetch("SELECT event_id FROM inbox ORDER BY event_id")
    return {
        "agreements": [tuple(r) for r in agreements],
        "commitments": [tuple(v for k, v in r.items() if k != "updated_at") for r in commitments],
        "history": [tuple(r) for r in history],
        "events": [
            (
                r["topic"],
                r["key"],
                r["event_type"],
                r["envelope"]["causation_id"],
                r["envelope"]["payload"],
            )
            for r in out
        ],
        "inbox": [r["event_id"] for r in inbox_rows],
    }


async def test_a_batch_of_signings_opens_what_signing_one_by_one_opens(pg_server: Any) -> None:
    clock = FixedClock(T0)
    outbox = Outbox("commitments", clock)
    batch, after, poison = deliveries()
    envs = batch + after
    one_by_one, batched = (
        await _database(pg_server, "cmref"),
        await _database(pg_server, "cmbatch"),
    )
    producer = DeadLetters()
    try:
        async with one_by_one.acquire() as conn:
            for env in envs:
                try:
                    async with conn.transaction():
                        await _sign_one_by_one(conn, outbox, env)
                except asyncpg.PostgresError:
                    assert env is poison
        processor = BatchProcessor(
            group="commitments.agreements",
            spec=consumers.spec,
            deps=BatchDeps(batched, outbox, clock, producer),
            max_attempts=1,  # the poison goes to the DLQ at its first failure
        )
        records = [
            FakeRecord(TOPIC, 0, n, env.key.encode(), encode(env)) for n, env in enumerate(envs)
        ]
        assert await processor.process(records[: len(batch)]) is True
        assert await processor.process(records[len(batch) :]) is True
        reference, got = await _state(one_by_one), await _state(batched)
    finally:
        await one_by_one.close()
        await batched.close()
    assert [value for _, value in producer.sent] == [encode(poison)]
    assert len(reference["commitments"]) == 8  # 3 + 2 + the repeat's new item + 2
    assert len(reference["events"]) == len(reference["history"]) == 8
    # The repeated item was opened by the first signing, not by the repeat.
    first = envs[0]
    repeated = AgreementSigned.model_validate(first.payload).items[1].commitment_id
    causes = {e[1]: e[3] for e in got["events"]}
    assert causes[str(repeated)] == str(first.event_id)
    for key in ("agreements", "commitments", "history", "events"):
        assert got[key] == reference[key], key
    # The batch's inbox also holds the dead-lettered event (it will not be retried).
    assert set(got["inbox"]) == set(reference["inbox"]) | {poison.event_id}
