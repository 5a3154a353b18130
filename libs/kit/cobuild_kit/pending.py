"""Pending events: an event naming something its consumer does not know waits for the fact.

A handler that finds the event names a party, member or commitment it has never heard of
raises `Awaiting(kind, id, reason)` instead of applying it. The batch processor then stores the
event in `pending_events`, in the batch's transaction and without an inbox row (so it can be
applied later), and the offset moves on: the partition is not blocked. A later event of the
same topic and key waits behind it, awaiting the same fact, so nothing of that key is applied
out of order.

A handler that records a fact another event may be waiting for calls `await ctx.known(kind,
id)`. After the batch commits, the kit re-applies the events of this service awaiting those
facts (each group's through its own handlers and inbox, in offset order per key). A worker
(`sweep_forever`) retries what is still pending now and then (a release lost to a crash, or
a fact that committed while the event was being stored) and moves what has waited longer
than `pending_grace_s` of wall clock to the DLQ: `dlq.error` naming what was awaited,
`dlq.reason=awaited-fact-never-came` (`cobuild_events_pending_expired_total`).

A forged event (one naming a commitment that never existed) thus ends in the DLQ with its
reason instead of being applied; the production answer to forgery is the broker's
authentication and ACLs. An undisturbed stream never stores a row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from cobuild_kit.kafka import from_headers

if TYPE_CHECKING:
    from cobuild_kit.consumer import BatchProcessor

EXPIRED_REASON = "awaited-fact-never-came"
# A pending event is retried by the sweep after RETRY_BASE_S, doubling per try up to
# RETRY_MAX_S: a flood of forged events costs a few tries each, not one per sweep.
RETRY_BASE_S = 1.0
RETRY_MAX_S = 300.0
# Rows one sweep or release of a group reads at most (the rest wait for the next).
LOAD_LIMIT = 10_000

Fact = tuple[str, str]


class Awaiting(Exception):
    """Raised by a handler: the event names `kind` `id` (a "commitment", "member", "party"),
    which this consumer does not know yet. The kit keeps the event pending until a handler
    calls `ctx.known(kind, id)`, or the grace period passes (then the DLQ)."""

    def __init__(self, kind: str, ident: object, reason: str = "") -> None:
        self.kind = kind
        self.ident = str(ident)
        self.reason = reason or f"{kind} {ident} unknown"
        super().__init__(f"awaiting {kind} {self.ident}: {self.reason}")


def key_of(record: Any) -> str | None:
    key = getattr(record, "key", None)
    if key is None:
        return None
    return key.decode(errors="replace") if isinstance(key, bytes) else str(key)


@dataclass
class StoredRecord:
    """A pending row seen as the record it came from (what the batch processor reads)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


@dataclass
class Row:
    event_id: UUID
    record: StoredRecord
    awaiting: Fact
    reason: str
    tries: int
    due: bool

    @property
    def order_key(self) -> tuple[str, str | None]:
        return (self.record.topic, key_of(self.record))


async def claim_unless_held(
    conn: asyncpg.Connection,
    consumer: str,
    rows: list[tuple[UUID, str, str, int, int]],
    keys: list[str | None],
) -> tuple[set[UUID], bool, bool]:
    """The batch's inbox rows in one statement, as `inbox.claim_many`, unless one of `keys`
    has an event pending in this group (then nothing is claimed: the caller goes event by
    event). Returns (fresh event ids, held, whether this service has any pending event), so
    the common case costs no extra round trip."""
    cols = list(zip(*rows, strict=True))
    found = await conn.fetch(
        """WITH held AS (
               SELECT 1 FROM pending_events
               WHERE consumer = $1 AND key = ANY($7::text[]) LIMIT 1
           ), fresh AS (
               INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset")
               SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int[],
                                        $6::bigint[])
               WHERE NOT EXISTS (SELECT 1 FROM held)
               ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id
           )
           SELECT event_id, NULL::int AS flag FROM fresh
           UNION ALL SELECT NULL, 1 FROM held
           UNION ALL SELECT NULL, 2 WHERE EXISTS (SELECT 1 FROM pending_events)""",
        consumer,
        *(list(c) for c in cols),
        [k for k in keys if k is not None],
    )
    fresh = {r["event_id"] for r in found if r["flag"] is None}
    flags = {r["flag"] for r in found}
    return fresh, 1 in flags, 2 in flags


async def held_keys(
    conn: asyncpg.Connection, consumer: str, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], tuple[Fact, UUID]]:
    """For each (topic, key) with an event pending in this group: what its last pending event
    awaits, and that event's id (a later event of the key waits behind it)."""
    if not keys:
        return {}
    topics, names = zip(*set(keys), strict=True)
    found = await conn.fetch(
        """SELECT DISTINCT ON (p.topic, p.key) p.topic, p.key, p.awaiting_kind, p.awaiting_id,
                  p.event_id
           FROM pending_events p
           JOIN unnest($2::text[], $3::text[]) AS k(topic, key)
             ON p.topic = k.topic AND p.key = k.key
           WHERE p.consumer = $1
           ORDER BY p.topic, p.key, p.partition, p."offset" DESC""",
        consumer,
        list(topics),
        list(names),
    )
    return {
        (r["topic"], r["key"]): ((r["awaiting_kind"], r["awaiting_id"]), r["event_id"])
        for r in found
    }


async def store(
    conn: asyncpg.Connection,
    consumer: str,
    record: Any,
    event_id: UUID,
    event_type: str,
    awaiting: Fact,
    reason: str,
) -> None:
    """Keep the event pending (a redelivery of one already pending changes nothing)."""
    await conn.execute(
        """INSERT INTO pending_events (consumer, event_id, event_type, topic, partition,
                                       "offset", key, envelope, headers, awaiting_kind,
                                       awaiting_id, reason, retry_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12,
                   now() + make_interval(secs => $13))
           ON CONFLICT (consumer, event_id) DO NOTHING""",
        consumer,
        event_id,
        event_type,
        record.topic,
        record.partition,
        record.offset,
        key_of(record),
        record.value or b"",
        from_headers(record.headers),
        awaiting[0],
        awaiting[1],
        reason[:2000],
        RETRY_BASE_S,
    )


async def load(conn: asyncpg.Connection, consumer: str, facts: set[Fact] | None) -> list[Row]:
    """This group's pending rows, locked, in offset order per topic: with `facts`, those of
    every key that has an event awaiting one of them (`due`: awaiting one of them); without,
    all of them (`due`: their retry time has come)."""
    if facts is None:
        found = await conn.fetch(
            """SELECT *, retry_at <= now() AS due FROM pending_events WHERE consumer = $1
               ORDER BY topic, partition, "offset" LIMIT $2 FOR UPDATE""",
            consumer,
            LOAD_LIMIT,
        )
    else:
        kinds, idents = zip(*facts, strict=True)
        found = await conn.fetch(
            """WITH f AS (SELECT * FROM unnest($2::text[], $3::text[]) AS f(kind, id)),
                    keys AS (
                        SELECT DISTINCT p.topic, p.key FROM pending_events p
                        JOIN f ON p.awaiting_kind = f.kind AND p.awaiting_id = f.id
                        WHERE p.consumer = $1 AND p.key IS NOT NULL)
               SELECT p.*, EXISTS (SELECT 1 FROM f WHERE f.kind = p.awaiting_kind
                                                     AND f.id = p.awaiting_id) AS due
               FROM pending_events p
               WHERE p.consumer = $1
                 AND ((p.awaiting_kind, p.awaiting_id) IN (SELECT kind, id FROM f)
                      OR (p.topic, p.key) IN (SELECT topic, key FROM keys))
               ORDER BY p.topic, p.partition, p."offset" LIMIT $4 FOR UPDATE OF p""",
            consumer,
            list(kinds),
            list(idents),
            LOAD_LIMIT,
        )
    return [_row(r) for r in found]


async def expired(conn: asyncpg.Connection, consumer: str, grace_s: float) -> list[Row]:
    """This group's rows pending longer than `grace_s`, locked, in offset order per topic."""
    found = await conn.fetch(
        """SELECT *, false AS due FROM pending_events
           WHERE consumer = $1 AND first_seen_at < now() - make_interval(secs => $2)
           ORDER BY topic, partition, "offset" LIMIT $3 FOR UPDATE SKIP LOCKED""",
        consumer,
        grace_s,
        LOAD_LIMIT,
    )
    return [_row(r) for r in found]


def _row(r: asyncpg.Record) -> Row:
    headers = tuple((k, str(v).encode()) for k, v in (r["headers"] or {}).items())
    key = r["key"].encode() if r["key"] is not None else None
    record = StoredRecord(r["topic"], r["partition"], r["offset"], key, r["envelope"], headers)
    return Row(
        r["event_id"],
        record,
        (r["awaiting_kind"], r["awaiting_id"]),
        r["reason"],
        r["tries"],
        r["due"],
    )


async def remove(conn: asyncpg.Connection, consumer: str, event_id: UUID) -> None:
    await conn.execute(
        "DELETE FROM pending_events WHERE consumer = $1 AND event_id = $2", consumer, event_id
    )


async def wait_again(
    conn: asyncpg.Connection, consumer: str, event_id: UUID, awaiting: Fact, reason: str
) -> int:
    """Still waiting (maybe now for another fact): the next try backs off. Returns the tries."""
    tries: int = await conn.fetchval(
        """UPDATE pending_events
           SET awaiting_kind = $3, awaiting_id = $4, reason = $5, tries = tries + 1,
               retry_at = now() + make_interval(secs => least($6 * 2 ^ (tries + 1), $7))
           WHERE consumer = $1 AND event_id = $2 RETURNING tries""",
        consumer,
        event_id,
        awaiting[0],
        awaiting[1],
        reason[:2000],
        RETRY_BASE_S,
        RETRY_MAX_S,
    )
    return tries


async def waiting_groups(conn: asyncpg.Connection, facts: set[Fact]) -> list[str]:
    kinds, idents = zip(*facts, strict=True)
    found = await conn.fetch(
        """SELECT DISTINCT consumer FROM pending_events
           WHERE (awaiting_kind, awaiting_id) IN
                 (SELECT * FROM unnest($1::text[], $2::text[]))""",
        list(kinds),
        list(idents),
    )
    return sorted(r["consumer"] for r in found)


async def count(conn: asyncpg.Connection) -> int:
    n: int = await conn.fetchval("SELECT count(*) FROM pending_events")
    return n


class PendingEvents:
    """A service's consumer groups, so that a fact one group records releases the events any
    of them keeps pending for it (each through its own processor)."""

    def __init__(self) -> None:
        self.processors: dict[str, BatchProcessor] = {}

    def add(self, processor: BatchProcessor) -> None:
        self.processors[processor.group] = processor

    async def release(self, pool: asyncpg.Pool, facts: set[Fact]) -> int:
        """Re-apply the pending events awaiting `facts`, and those awaiting what they record
        in turn. Returns how many were applied."""
        applied = 0
        for _ in range(8):  # a fact's events may record facts others await
            if not facts:
                break
            async with pool.acquire() as conn:
                groups = await waiting_groups(conn, facts)
            more: set[Fact] = set()
            for group in groups:
                if (processor := self.processors.get(group)) is not None:
                    done, known = await processor.retry_pending(facts)
                    applied += done
                    more |= known
            facts = more
        return applied

    async def sweep(self, grace_s: float) -> tuple[int, int]:
        """Retry what is due in every group, then dead-letter what waited past the grace.
        Returns (applied, expired)."""
        applied = expired_n = 0
        for processor in list(self.processors.values()):
            done, known = await processor.retry_pending(None)
            applied += done
            if known:
                applied += await self.release(processor.pool, known)
        for processor in list(self.processors.values()):
            expired_n += await processor.expire_pending(grace_s)
        return applied, expired_n
