"""The outbox relay: one active per service (advisory lock), others wait as standby.

It claims unpublished rows in id order with FOR UPDATE SKIP LOCKED, marking them in the same
statement, publishes them, then commits. Woken by LISTEN/NOTIFY, with a polling fallback. A
failed publish, or a crash after publishing and before the commit, rolls the mark back and
republishes the rows; consumers' inboxes absorb the repeat.

A row the producer refuses as too large can never be sent, and retrying it stopped every later
row behind it. Such a row is *parked* instead: taken out of the claim (parked_at set, with the
reason), and every later row of its topic and key is parked behind it, so that key's order
holds while other keys' rows go on. Parked rows are counted (`cobuild_outbox_parked_rows`,
`cobuild_outbox_parked_events_total`), shown by /readyz and `cobuild lag`, and sent again, in
order, by `cobuild outbox resend` after a fix (cobuild_kit.outbox.resend_parked).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from operator import itemgetter
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError
from cobuild_contracts import headers

from cobuild_kit import metrics
from cobuild_kit.crash import crash_point
from cobuild_kit.db import connect
from cobuild_kit.kafka import to_headers
from cobuild_kit.logging import get_logger
from cobuild_kit.outbox import NOTIFY_CHANNEL, PARK_LOCK, backlog, parked

log = get_logger(__name__)
_LEADER_LOCK = 0x0C0B_0002
BACKLOG_EVERY_S = 5.0  # while draining, how often the backlog gauge is counted afresh

# The envelope leaves as PostgreSQL's text of it, and the header fields are read out in SQL:
# decoding every row to Python and encoding it again was most of the relay's CPU. The claim
# marks the rows too (one statement and round trip fewer per batch than a separate UPDATE):
# the mark is only seen once the transaction commits, after the publish. Parked rows are not
# claimed; `behind` names the first parked row of a claimed row's topic and key, if any (a probe
# of the small outbox_parked index), and such a row is parked behind it.
_CLAIM = """
UPDATE outbox o SET published_at = now()
FROM (SELECT id FROM outbox WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id
      LIMIT $1 FOR UPDATE SKIP LOCKED) claimed
WHERE o.id = claimed.id
RETURNING o.id, o.topic, o.key, o.envelope::text AS value, o.event_type, o.event_id::text,
       o.envelope->>'schema_version' AS schema_version, o.envelope->>'producer' AS producer,
       o.envelope->>'correlation_id' AS correlation_id,
       (SELECT min(p.id) FROM outbox p WHERE p.parked_at IS NOT NULL AND p.topic = o.topic
          AND p.key = o.key) AS behind
"""
# Under PARK_LOCK, so that `cobuild outbox resend` cannot slip between the claim and the park.
# A row held behind an earlier parked row (head) is parked only if that head still is: if it
# was resent meanwhile, the row goes back to the queue and leaves after its head, in id order.
_PARK = """
UPDATE outbox o SET published_at = NULL, parked_at = CASE WHEN keep THEN now() END,
       park_reason = CASE WHEN keep THEN p.reason END
FROM (SELECT p.id, p.reason, p.head IS NULL OR EXISTS (
             SELECT 1 FROM outbox h WHERE h.id = p.head AND h.parked_at IS NOT NULL) AS keep
      FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS p(id, reason, head)) p
WHERE o.id = p.id
"""
# What the producer or the broker answers for a record that no retry can send.
UNSENDABLE = (MessageSizeTooLargeError, RecordListTooLargeError)


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        dsn: str,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self.service = service
        self._dsn = dsn
        self._pool = pool
        self._producer = producer
        self._batch = batch_size
        self._poll = poll_interval_s
        self._retention = retention
        self._wake = asyncio.Event()
        self._backlog_due = 0.0
        # Event ids the broker refused as too large with their batch: sent alone next time.
        self._suspects: set[str] = set()
        self.is_leader = False

    async def run(self) -> None:
        """Forever: win leadership, publish until the leader connection breaks, repeat."""
        while True:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database or broker outage: back off and try again
                self.is_leader = False
                log.warning("relay.interrupted", error=repr(exc))
                await asyncio.sleep(1.0)

    async def _lead(self) -> None:
        leader = await connect(self._dsn)
        try:
            while not await leader.fetchval(  # noqa: ASYNC110 - a standby polls the lock
                "SELECT pg_try_advisory_lock($1)", _LEADER_LOCK
            ):
                await asyncio.sleep(self._poll)
            self.is_leader = True
            log.info("relay.leader", service=self.service)
            metrics.OUTBOX_PARKED.set(await parked(leader))
            await leader.add_listener(NOTIFY_CHANNEL, self._on_notify)
            await self._publish_loop(leader)
        finally:
            self.is_leader = False
            with contextlib.suppress(Exception):
                await leader.close()

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def _publish_loop(self, leader: asyncpg.Connection) -> None:
        """Claim, publish and mark on the leader's own connection: borrowing from the pool
        queued the relay behind every waiting request, which is latency for every event."""
        last_purge = time.monotonic()
        while True:
            self._wake.clear()
            published = await self.publish_batch(leader)
            if published == self._batch:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            except TimeoutError:  # quiet: check the leader connection is alive
                metrics.OUTBOX_PARKED.set(await parked(leader))  # resends happen elsewhere
            if time.monotonic() - last_purge > 60 * self._poll:
                await self.purge()
                last_purge = time.monotonic()

    async def publish_batch(self, conn: asyncpg.Connection | None = None) -> int:
        """Publish up to one batch of unpublished rows, in id order; how many were claimed
        (published, or parked: unsendable, or behind an unsendable row of their key)."""
        if conn is None:
            async with self._pool.acquire() as own:
                return await self._publish_batch(own)
        return await self._publish_batch(conn)

    async def _publish_batch(self, conn: asyncpg.Connection) -> int:
        async with conn.transaction():
            # RETURNING has no order; a partition's events must leave in id order.
            claimed = sorted(await conn.fetch(_CLAIM, self._batch), key=itemgetter("id"))
            if not claimed:
                metrics.OUTBOX_BACKLOG.set(0)
                return 0
            rows: list[asyncpg.Record] = []
            sends: list[asyncio.Future[Any]] = []
            park: list[tuple[int, str, int | None]] = []  # (id, reason, an earlier parked head)
            blocked: dict[tuple[str, str], int] = {}  # topic and key -> the row parked now
            for r in claimed:
                key = (r["topic"], r["key"])
                if key in blocked:
                    park.append((r["id"], f"held behind parked row {blocked[key]}", None))
                    continue
                if r["behind"] is not None:
                    park.append((r["id"], f"held behind parked row {r['behind']}", r["behind"]))
                    continue
                suspect = r["event_id"] in self._suspects
                if suspect:  # refused by the broker in a batch: try it alone, after the rest
                    await asyncio.gather(*sends)
                try:
                    sent = await self._producer.send(
                        r["topic"], value=r["value"].encode(), key=r["key"].encode(),
                        headers=_headers(r),
                    )  # fmt: skip
                    if suspect:
                        await sent
                        self._suspects.discard(r["event_id"])
                except UNSENDABLE as exc:
                    blocked[key] = r["id"]
                    park.append((r["id"], f"{type(exc).__name__}: {exc}", None))
                    log.error(
                        "relay.unsendable",
                        outbox_id=r["id"],
                        event_id=r["event_id"],
                        event_type=r["event_type"],
                        topic=r["topic"],
                        bytes=len(r["value"].encode()),
                        error=repr(exc),
                    )
                    continue
                sends.append(sent)
                rows.append(r)
            results = await asyncio.gather(*sends, return_exceptions=True)
            failed = [
                (r, x) for r, x in zip(rows, results, strict=True) if isinstance(x, BaseException)
            ]
            if failed:
                # Roll every mark back: the batch is claimed again. A record the broker refused
                # as too large is tried alone then, and parked if it is refused again.
                self._suspects.update(r["event_id"] for r, x in failed if isinstance(x, UNSENDABLE))
                raise failed[0][1]
            if park:
                await self._park(conn, park)
            crash_point("relay.after_publish")
        metrics.OUTBOX_PUBLISHED.inc(len(rows))
        if len(claimed) < self._batch:  # the claim took every unpublished row there was
            metrics.OUTBOX_BACKLOG.set(0)
        elif time.monotonic() >= self._backlog_due:
            # The count walks every unpublished row. Taken after each full batch, it made a
            # large drain quadratic: a replay of 10^6 rows slowed to ~1,500 events/s.
            self._backlog_due = time.monotonic() + BACKLOG_EVERY_S
            metrics.OUTBOX_BACKLOG.set(await backlog(conn))
        return len(claimed)

    async def _park(
        self, conn: asyncpg.Connection, park: list[tuple[int, str, int | None]]
    ) -> None:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PARK_LOCK)
        await conn.execute(_PARK, *(list(column) for column in zip(*park, strict=True)))
        now_parked = await parked(conn)
        metrics.OUTBOX_PARKED.set(now_parked)
        metrics.OUTBOX_PARKED_EVENTS.inc(len(park))
        log.warning("relay.parked_rows", rows=len(park), parked_now=now_parked)

    async def purge(self) -> int:
        """Drop published rows past retention (kept until then so a lost broker can be refilled)."""
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - $1::interval",
                self._retention,
            )
        return int(status.split()[-1])


def _headers(row: asyncpg.Record) -> list[tuple[str, bytes]]:
    fields = ("event_type", "event_id", "schema_version", "producer", "correlation_id")
    env = {k: row[k] for k in fields if row[k] is not None}
    return to_headers({**headers(env), "content-type": "application/json"})
