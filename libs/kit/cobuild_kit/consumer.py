"""Event consumers: batches applied in one transaction, inbox dedupe, bounded retries, DLQ.

Delivery is at-least-once (offsets are committed only after the database commit) and the inbox
makes effects happen once. For each batch:
- a message whose `event_type` header names a known event the group does not handle is
  skipped undecoded (the groups that handle it validate it);
- a message that does not decode (bad JSON, bad envelope, unknown event type, bad payload) goes
  straight to `<topic>.dlq` with the error;
- every other message is applied in a savepoint, together with its inbox row;
- a handler that raises is counted (persistently); after `max_attempts` the message goes to the
  DLQ. Until then, the rest of its partition in this batch is held back (to keep per-key order),
  the batch commits what succeeded and rewinds, so the failed message is retried;
- a database outage rolls back the whole batch, which is retried after a pause;
- a dead letter too large to send whole goes to the DLQ truncated (`dlq.truncated`), its whole
  value into `dead_letters`; a DLQ send that fails otherwise (the broker away) settles nothing:
  the batch is rewound and redelivered after a pause, and the inbox absorbs what was applied;
- a handler that raises `Awaiting(kind, id)` (the event names something this consumer does not
  know) has its event kept in `pending_events`, with every later event of its topic and key,
  until a handler calls `ctx.known(kind, id)` or the grace period passes (`cobuild_kit.pending`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError
from cobuild_contracts import EVENT_TYPES, ContractError, Envelope, Event, decode
from cobuild_contracts.topics import dlq
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from cobuild_kit import inbox, metrics, pending
from cobuild_kit.clock import Clock
from cobuild_kit.crash import crash_point
from cobuild_kit.db import transaction
from cobuild_kit.kafka import from_headers, to_headers
from cobuild_kit.logging import correlation_id, get_logger
from cobuild_kit.offsets import SettledOffsets
from cobuild_kit.outbox import Outbox
from cobuild_kit.pending import Awaiting, Fact, PendingEvents, key_of

log = get_logger(__name__)
E = TypeVar("E", bound=Event)

# Errors that mean "the database or network is down", not "this message is bad".
INFRA_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    ConnectionError,
    OSError,
    TimeoutError,
)


# A dead letter is the original record plus the dlq.* headers, so one near the producer's
# max_request_size (cobuild_kit.kafka.MAX_REQUEST_BYTES), or over it (a producer that bypassed
# the kit's limit; Tansu enforces none), cannot go to the DLQ whole. It goes truncated instead:
# the first DLQ_KEPT_BYTES of its value, its key and original headers up to DLQ_KEPT_HEADER_BYTES
# each, and `dlq.truncated=true`, `dlq.original_size`, `dlq.truncated_reason`. The original
# stays on its topic at `dlq.original_topic|partition|offset`, and the consumer's
# `dead_letters` row keeps the whole value (`original_value`).
DLQ_KEPT_BYTES = 65_536
DLQ_KEPT_HEADER_BYTES = 1_024
_TOO_LARGE = (MessageSizeTooLargeError, RecordListTooLargeError)


class DeadLetterUnsent(Exception):
    """A dead letter the DLQ did not take (the broker away, or a truncated copy refused):
    nothing of the batch may be settled, or the message would be lost."""


@dataclass
class EventContext:
    """What a handler gets: the transaction's connection and a way to emit follow-up events."""

    conn: asyncpg.Connection
    envelope: Envelope
    clock: Clock
    outbox: Outbox
    consumer: str
    facts: set[Fact] | None = None

    async def emit(self, event: Event) -> Envelope:
        return await self.outbox.add(
            self.conn,
            event,
            correlation_id=self.envelope.correlation_id,
            causation_id=self.envelope.event_id,
        )

    async def known(self, kind: str, ident: object) -> None:
        """This event recorded `kind` `ident` (a commitment, member, party): once the batch
        commits, the events kept pending for it are applied (`cobuild_kit.pending`)."""
        if self.facts is not None:
            self.facts.add((kind, str(ident)))


Handler = Callable[[EventContext, Any], Awaitable[None]]


@dataclass
class BatchContext:
    """What a many-handler gets: the transaction's connection and a way to emit follow-up
    events, each caused by one of the run's envelopes. Emitted events are staged and written
    to the outbox in one statement when the handler returns (in emit order)."""

    conn: asyncpg.Connection
    clock: Clock
    outbox: Outbox
    consumer: str
    staged: list[tuple[str, Envelope]] = field(default_factory=list)
    facts: set[Fact] | None = None

    async def emit(self, event: Event, cause: Envelope) -> Envelope:
        env = self.outbox.envelope(
            event, correlation_id=cause.correlation_id, causation_id=cause.event_id
        )
        self.staged.append((event.TOPIC, env))
        return env

    async def known(self, kind: str, ident: object) -> None:
        """As `EventContext.known`."""
        if self.facts is not None:
            self.facts.add((kind, str(ident)))

    async def flush(self) -> None:
        if self.staged:
            staged, self.staged = self.staged, []
            await self.outbox.add_envelopes(self.conn, staged)


ManyHandler = Callable[[BatchContext, list[tuple[Envelope, Any]]], Awaitable[None]]


class ConsumerDeps(Protocol):
    """What a batch needs at run time (the service runtime provides it once started)."""

    @property
    def pool(self) -> asyncpg.Pool: ...
    @property
    def producer(self) -> AIOKafkaProducer: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def clock(self) -> Clock: ...


@dataclass
class ConsumerSpec:
    """A consumer group: `<service>.<purpose>`, its topics and a handler per event type."""

    purpose: str
    topics: Sequence[str]
    # False for a group whose events nobody waits on (a directory, a year-end input): its
    # fetch waits `consumer_relaxed_fetch_max_wait_ms`, so idle it polls less often.
    prompt: bool = True
    handlers: dict[str, Handler] = field(default_factory=dict)
    many: dict[str, ManyHandler] = field(default_factory=dict)

    def on(
        self, event_cls: type[E]
    ) -> Callable[[Callable[[EventContext, E], Awaitable[None]]], Any]:
        def register(fn: Callable[[EventContext, E], Awaitable[None]]) -> Any:
            self.handlers[event_cls.EVENT_TYPE] = fn
            return fn

        return register

    def on_many(
        self, event_cls: type[E]
    ) -> Callable[[Callable[[BatchContext, list[tuple[Envelope, E]]], Awaitable[None]]], Any]:
        """A handler for a run of consecutive events of one type (set-based SQL: one statement
        per table per run). It must have the effect of applying the items one by one, in
        order; on a failure the kit calls it again with one item at a time."""

        def register(
            fn: Callable[[BatchContext, list[tuple[Envelope, E]]], Awaitable[None]],
        ) -> Any:
            self.many[event_cls.EVENT_TYPE] = fn
            return fn

        return register

    def event_types(self) -> list[str]:
        return sorted({*self.handlers, *self.many})


class _NotTheFact(Exception):
    """An event held behind its key did not record the fact awaited: undo it."""


class _SavepointPerEvent(Exception):
    """A handler failed on the fast path: roll the batch back and redo it event by event."""


@dataclass
class _Item(Generic[E]):
    record: Any
    envelope: Envelope
    event: E
    handler: Handler | None
    many: ManyHandler | None


class BatchProcessor:
    """Applies one fetched batch. Kept apart from FastStream so it can be tested directly."""

    def __init__(
        self,
        *,
        group: str,
        spec: ConsumerSpec,
        deps: ConsumerDeps,
        max_attempts: int = 3,
        pending_events: PendingEvents | None = None,
    ) -> None:
        self.group = group
        self.spec = spec
        self.deps = deps
        self.max_attempts = max_attempts
        self._unsent = 0  # consecutive batches rewound because a dead letter was not sent
        # The service's groups (a fact one records releases what any keeps pending), and
        # this group's lock: a batch and a release of its pending events never interleave.
        self.pending = pending_events if pending_events is not None else PendingEvents()
        self.pending.add(self)
        self._lock = asyncio.Lock()
        self._facts: set[Fact] = set()  # what the batch's handlers said they recorded
        self._may_release = False  # the service had pending events when the batch began

    @property
    def pool(self) -> asyncpg.Pool:
        return self.deps.pool

    @property
    def producer(self) -> AIOKafkaProducer:
        return self.deps.producer

    async def process(self, records: Sequence[Any]) -> bool:
        """True when every record is settled (applied, skipped or dead-lettered): ack.
        False when something must be retried: rewind.

        A dead letter that could not be sent rolls back the batch's transaction (if it was in
        one) and rewinds the batch after a pause that doubles up to 8 s while it lasts: its
        offsets are never settled, so the message is tried again and nothing behind it is
        skipped. What an earlier batch applied, the inbox makes a no-op on redelivery."""
        try:
            async with self._lock:
                self._facts, self._may_release = set(), False
                settled = await self._process(records)
                facts = self._facts if self._may_release else set()
        except DeadLetterUnsent as exc:
            self._unsent += 1
            pause = min(0.5 * 2 ** (self._unsent - 1), 8.0)
            metrics.DEAD_LETTERS_UNSENT.labels(self.group).inc()
            log.error(
                "consumer.dead_letter_unsent",
                consumer=self.group,
                error=str(exc),
                cause=repr(exc.__cause__),
                rewinds=self._unsent,
                pause_s=pause,
            )
            await asyncio.sleep(pause)
            return False
        self._unsent = 0
        if facts:
            await self._release(facts)
        return settled

    async def _release(self, facts: set[Fact]) -> None:
        """After the commit: apply what was pending for the facts the batch recorded. A
        failure here loses nothing (the rows stay; the sweep retries them)."""
        try:
            applied = await self.pending.release(self.pool, facts)
        except Exception as exc:
            log.warning("consumer.pending_release_failed", consumer=self.group, error=repr(exc))
            return
        if applied:
            log.info("consumer.pending_released", consumer=self.group, applied=applied)

    async def _process(self, records: Sequence[Any]) -> bool:
        items: list[_Item[Any]] = []
        for record in records:
            item = await self._decode(record)
            if item is not None:
                items.append(item)
        if not items:
            return True
        for attempt in range(1, 6):
            try:
                return await self._apply(items)
            except INFRA_ERRORS as exc:
                log.warning(
                    "consumer.infra_error", consumer=self.group, attempt=attempt, error=repr(exc)
                )
                await asyncio.sleep(min(0.5 * 2**attempt, 8.0))
        return False

    async def _decode(self, record: Any) -> _Item[Any] | None:
        if self._ignores(record):
            return None
        try:
            envelope, event = decode(record.value)
        except ContractError as exc:
            await self._dead_letter(record, f"contract: {exc}", None, None)
            return None
        handler = self.spec.handlers.get(envelope.event_type)
        many = self.spec.many.get(envelope.event_type)
        if handler is None and many is None:
            return None  # a known event this consumer has no interest in
        return _Item(record, envelope, event, handler, many)

    def _ignores(self, record: Any) -> bool:
        """A record whose `event_type` header names a known event this group has no handler
        for is skipped undecoded: decoding was most of what such a record cost (a group sees
        every event on its topics; points reads `commitments.events.v1` for one type of ten).
        The groups that handle the type still validate it, and dead-letter it if it is bad.
        With no header, or an unknown type in it, the record is decoded as any other."""
        for name, value in record.headers or ():
            if name == "event_type":
                kind = value.decode(errors="replace")
                wanted = kind in self.spec.handlers or kind in self.spec.many
                return kind in EVENT_TYPES and not wanted
        return False

    async def _apply(self, items: list[_Item[Any]]) -> bool:
        try:
            return await self._apply_whole(items)
        except _SavepointPerEvent:
            pass  # a handler failed: redo the batch below, one savepoint per event
        blocked: set[tuple[str, int]] = set()
        settled = True
        async with transaction(self.pool) as conn:
            self._may_release = True
            keyed = [(i.record.topic, k) for i in items if (k := key_of(i.record)) is not None]
            held = await pending.held_keys(conn, self.group, keyed)
            for index, item in enumerate(items):
                tp = (item.record.topic, item.record.partition)
                if tp in blocked:
                    continue
                if index == len(items) // 2:
                    crash_point("consumer.mid_batch")
                if await self._held(conn, item, held):
                    continue
                if not await self._apply_one(conn, item, held):
                    blocked.add(tp)
                    settled = False
        crash_point("consumer.after_commit")
        return settled

    async def _apply_whole(self, items: list[_Item[Any]]) -> bool:
        """The common case in fewer round trips: the batch's inbox rows in one statement, no
        savepoints, and each run of consecutive same-type events given to its many-handler at
        once. Any handler failure rolls it all back (`_SavepointPerEvent`), and the slow path
        isolates it. Benchmarked: savepoint + inbox row cost 3 round trips per event."""
        rows = [
            (i.envelope.event_id, i.envelope.event_type, i.record.topic, i.record.partition,
             i.record.offset)
            for i in items
        ]  # fmt: skip
        async with transaction(self.pool) as conn:
            fresh, held, self._may_release = await pending.claim_unless_held(
                conn, self.group, rows, [key_of(i.record) for i in items]
            )
            if held:  # a key of the batch has an event pending: go event by event
                raise _SavepointPerEvent
            todo: list[_Item[Any]] = []
            for item in items:
                if item.envelope.event_id in fresh:
                    fresh.discard(item.envelope.event_id)  # the same event twice in one batch
                    todo.append(item)
                else:
                    metrics.DUPLICATES.labels(self.group).inc()
            done = 0
            for run in _runs(todo):
                if done <= len(todo) // 2 < done + len(run):
                    crash_point("consumer.mid_batch")
                try:
                    await self._handle(conn, run)
                except INFRA_ERRORS:
                    raise
                except Exception as exc:
                    raise _SavepointPerEvent from exc
                done += len(run)
                for item in run:
                    metrics.HANDLED.labels(self.group, item.envelope.event_type).inc()
        crash_point("consumer.after_commit")
        return True

    async def _handle(self, conn: asyncpg.Connection, run: list[_Item[Any]]) -> None:
        """One event through its single handler, or a run through its many-handler."""
        first = run[0]
        token = correlation_id.set(first.envelope.correlation_id if len(run) == 1 else None)
        deps = self.deps
        try:
            if first.many is not None and (first.handler is None or len(run) > 1):
                ctx = BatchContext(conn, deps.clock, deps.outbox, self.group, facts=self._facts)
                await first.many(ctx, [(i.envelope, i.event) for i in run])
                await ctx.flush()
                return
            assert first.handler is not None and len(run) == 1
            env = first.envelope
            await first.handler(
                EventContext(conn, env, deps.clock, deps.outbox, self.group, facts=self._facts),
                first.event,
            )
        finally:
            correlation_id.reset(token)

    async def _held(
        self,
        conn: asyncpg.Connection,
        item: _Item[Any],
        held: dict[tuple[str, str], tuple[Fact, Any]],
    ) -> bool:
        """An event of a key with an event pending waits behind it, for the same fact; unless
        it is that fact (a producer that sent the fact after what needs it)."""
        key = key_of(item.record)
        if key is None or (item.record.topic, key) not in held:
            return False
        fact, head = held[(item.record.topic, key)]
        if head == item.envelope.event_id:  # the pending event itself, redelivered
            return True
        if await self._is_the_fact(conn, item, fact):
            return True
        await pending.store(
            conn, self.group, item.record, item.envelope.event_id, item.envelope.event_type,
            fact, f"held behind pending event {head} of key {key}",
        )  # fmt: skip
        metrics.PENDING_STORED.labels(self.group, item.envelope.event_type).inc()
        return True

    async def _is_the_fact(self, conn: asyncpg.Connection, item: _Item[Any], fact: Fact) -> bool:
        """Apply the event in a savepoint and keep it only if its handler recorded `fact`
        (then the events waiting for it are released after the commit). Otherwise, or if the
        handler raised, nothing of it stays and it waits behind its key."""
        env, rec = item.envelope, item.record
        outer, self._facts = self._facts, set()
        token = correlation_id.set(env.correlation_id)
        try:
            async with conn.transaction():
                fresh = await inbox.claim(
                    conn, self.group, env.event_id, event_type=env.event_type, topic=rec.topic,
                    partition=rec.partition, offset=rec.offset,
                )  # fmt: skip
                if not fresh:
                    metrics.DUPLICATES.labels(self.group).inc()
                    return True
                await self._handle(conn, [item])
                if fact not in self._facts:
                    raise _NotTheFact
            outer |= self._facts
            metrics.HANDLED.labels(self.group, env.event_type).inc()
            return True
        except INFRA_ERRORS:
            raise
        except Exception:  # not the fact (or it failed, or it awaits too): it waits
            return False
        finally:
            self._facts = outer
            correlation_id.reset(token)

    async def _apply_one(
        self,
        conn: asyncpg.Connection,
        item: _Item[Any],
        held: dict[tuple[str, str], tuple[Fact, Any]] | None = None,
    ) -> bool:
        env, rec = item.envelope, item.record
        token = correlation_id.set(env.correlation_id)
        try:
            async with conn.transaction():  # savepoint: a failure undoes this event only
                fresh = await inbox.claim(
                    conn,
                    self.group,
                    env.event_id,
                    event_type=env.event_type,
                    topic=rec.topic,
                    partition=rec.partition,
                    offset=rec.offset,
                )
                if not fresh:
                    metrics.DUPLICATES.labels(self.group).inc()
                    return True
                await self._handle(conn, [item])
            metrics.HANDLED.labels(self.group, env.event_type).inc()
            return True
        except INFRA_ERRORS:
            raise
        except Awaiting as wait:  # its savepoint undid the event and its inbox row
            await self._keep_pending(conn, item, wait, held)
            return True
        except Exception as exc:
            return await self._failed(conn, item, exc)
        finally:
            correlation_id.reset(token)

    async def _keep_pending(
        self,
        conn: asyncpg.Connection,
        item: _Item[Any],
        wait: Awaiting,
        held: dict[tuple[str, str], tuple[Fact, Any]] | None,
    ) -> None:
        env, rec = item.envelope, item.record
        fact = (wait.kind, wait.ident)
        await pending.store(conn, self.group, rec, env.event_id, env.event_type, fact, wait.reason)
        if held is not None and (key := key_of(rec)) is not None:
            held[(rec.topic, key)] = (fact, env.event_id)
        metrics.PENDING_STORED.labels(self.group, env.event_type).inc()
        log.warning(
            "consumer.event_pending",
            consumer=self.group,
            event_id=str(env.event_id),
            event_type=env.event_type,
            awaiting=f"{wait.kind} {wait.ident}",
            reason=wait.reason,
        )

    async def retry_pending(self, facts: set[Fact] | None) -> tuple[int, set[Fact]]:
        """Re-apply this group's pending events awaiting `facts` (without: those whose retry
        time has come), in offset order per topic and key, through the handlers and the inbox.
        One still waiting keeps the later events of its key waiting behind it. Returns how
        many were applied and the facts their handlers recorded."""
        async with self._lock:
            self._facts = set()
            applied = 0
            async with transaction(self.pool) as conn:
                rows = await pending.load(conn, self.group, facts)
                waiting: set[tuple[str, str | None]] = set()
                for row in rows:
                    if row.order_key in waiting and row.order_key[1] is not None:
                        continue  # behind one of its key that still waits
                    if not row.due or not await self._reapply(conn, row):
                        waiting.add(row.order_key)
                    else:
                        applied += 1
            return applied, self._facts

    async def _reapply(self, conn: asyncpg.Connection, row: pending.Row) -> bool:
        """True when the row's event was applied (or its inbox had it, or it went to the DLQ
        after failing `max_attempts` times); False when it still waits."""
        rec = row.record
        try:
            envelope, event = decode(rec.value)
        except ContractError as exc:  # it decoded when stored; a kit upgrade may differ
            await self._dead_letter(rec, f"contract: {exc}", None, conn)
            await pending.remove(conn, self.group, row.event_id)
            return True
        item = _Item(
            rec, envelope, event,
            self.spec.handlers.get(envelope.event_type), self.spec.many.get(envelope.event_type),
        )  # fmt: skip
        if item.handler is None and item.many is None:  # the handler was removed since
            await pending.remove(conn, self.group, row.event_id)
            return True
        token = correlation_id.set(envelope.correlation_id)
        try:
            async with conn.transaction():
                await pending.remove(conn, self.group, row.event_id)
                fresh = await inbox.claim(
                    conn, self.group, envelope.event_id, event_type=envelope.event_type,
                    topic=rec.topic, partition=rec.partition, offset=rec.offset,
                )  # fmt: skip
                if fresh:
                    await self._handle(conn, [item])
            if fresh:
                metrics.HANDLED.labels(self.group, envelope.event_type).inc()
                metrics.PENDING_APPLIED.labels(self.group, envelope.event_type).inc()
            else:
                metrics.DUPLICATES.labels(self.group).inc()
            return True
        except INFRA_ERRORS:
            raise
        except Awaiting as wait:
            await pending.wait_again(
                conn, self.group, row.event_id, (wait.kind, wait.ident), wait.reason
            )
            return False
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            metrics.FAILED.labels(self.group, envelope.event_type).inc()
            tries = await pending.wait_again(
                conn, self.group, row.event_id, row.awaiting, f"{row.reason}; handler: {error}"
            )
            log.warning(
                "consumer.pending_failed", consumer=self.group, event_id=str(row.event_id),
                tries=tries, error=error,
            )  # fmt: skip
            if tries < self.max_attempts:
                return False
            await self._dead_letter(rec, f"handler: {error}", envelope, conn)
            await self._settle_dead(conn, row, envelope)
            return True
        finally:
            correlation_id.reset(token)

    async def expire_pending(self, grace_s: float) -> int:
        """Dead-letter this group's events pending longer than `grace_s` (wall clock), with
        `dlq.error` naming what they awaited and `dlq.reason=awaited-fact-never-came`."""
        async with self._lock:
            async with transaction(self.pool) as conn:
                rows = await pending.expired(conn, self.group, grace_s)
                for row in rows:
                    try:
                        envelope: Envelope | None = decode(row.record.value)[0]
                    except ContractError:
                        envelope = None
                    kind, ident = row.awaiting
                    await self._dead_letter(
                        row.record, f"awaiting {kind} {ident}: {row.reason}", envelope, conn,
                        reason=pending.EXPIRED_REASON,
                    )  # fmt: skip
                    await self._settle_dead(conn, row, envelope)
                    metrics.PENDING_EXPIRED.labels(self.group, row.record.topic).inc()
            return len(rows)

    async def _settle_dead(
        self, conn: asyncpg.Connection, row: pending.Row, envelope: Envelope | None
    ) -> None:
        """A dead-lettered pending event: no longer pending, and in the inbox as any dead
        letter is (a redelivery does not apply it; `cobuild dlq redrive` tells the group)."""
        await pending.remove(conn, self.group, row.event_id)
        if envelope is not None:
            rec = row.record
            await inbox.claim(
                conn, self.group, envelope.event_id, event_type=envelope.event_type,
                topic=rec.topic, partition=rec.partition, offset=rec.offset,
            )  # fmt: skip

    async def _failed(self, conn: asyncpg.Connection, item: _Item[Any], exc: Exception) -> bool:
        rec, env = item.record, item.envelope
        error = f"{type(exc).__name__}: {exc}"
        metrics.FAILED.labels(self.group, env.event_type).inc()
        attempts = await conn.fetchval(
            """INSERT INTO consumer_failures (consumer, topic, partition, "offset", attempts, last_error)
               VALUES ($1, $2, $3, $4, 1, $5)
               ON CONFLICT (consumer, topic, partition, "offset")
               DO UPDATE SET attempts = consumer_failures.attempts + 1, last_error = $5, updated_at = now()
               RETURNING attempts""",
            self.group,
            rec.topic,
            rec.partition,
            rec.offset,
            error,
        )
        log.warning(
            "consumer.handler_failed",
            consumer=self.group,
            event_id=str(env.event_id),
            event_type=env.event_type,
            attempts=attempts,
            error=error,
        )
        if attempts < self.max_attempts:
            await asyncio.sleep(0.1 * attempts)
            return False
        await self._dead_letter(rec, f"handler: {error}", env, conn)
        await inbox.claim(
            conn,
            self.group,
            env.event_id,
            event_type=env.event_type,
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
        )
        return True

    async def _dead_letter(
        self,
        rec: Any,
        error: str,
        env: Envelope | None,
        conn: asyncpg.Connection | None,
        *,
        reason: str | None = None,
    ) -> None:
        """Send the record to its DLQ topic, whole, or truncated if the DLQ cannot take it
        whole; then record it in `dead_letters`. Raises `DeadLetterUnsent` if it was not sent."""
        value: bytes = rec.value or b""
        where = {
            "dlq.error": error[:2000],
            "dlq.consumer_group": self.group,
            "dlq.original_topic": rec.topic,
            "dlq.original_partition": str(rec.partition),
            "dlq.original_offset": str(rec.offset),
        }
        if reason is not None:
            where["dlq.reason"] = reason
        original = from_headers(rec.headers)
        truncated = False
        try:
            await self._send_dead_letter(rec, value, rec.key, {**original, **where})
        except _TOO_LARGE as exc:
            truncated = True
            kept = {k: v for k, v in original.items() if len(v) <= DLQ_KEPT_HEADER_BYTES}
            key = rec.key[:DLQ_KEPT_HEADER_BYTES] if rec.key is not None else None
            marks = {
                "dlq.truncated": "true",
                "dlq.original_size": str(len(value)),
                "dlq.truncated_reason": f"{type(exc).__name__}: {exc}"[:500],
            }
            log.warning(
                "consumer.dead_letter_truncated",
                consumer=self.group,
                topic=rec.topic,
                partition=rec.partition,
                offset=rec.offset,
                size=len(value),
                kept=min(len(value), DLQ_KEPT_BYTES),
            )
            try:
                await self._send_dead_letter(
                    rec, value[:DLQ_KEPT_BYTES], key, {**kept, **where, **marks}
                )
            except _TOO_LARGE as again:
                raise DeadLetterUnsent(f"{rec.topic}/{rec.partition}/{rec.offset}") from again
        metrics.DEAD_LETTERED.labels(self.group, rec.topic).inc()
        log.error(
            "consumer.dead_lettered",
            consumer=self.group,
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            error=error,
            truncated=truncated,
        )
        sql = """INSERT INTO dead_letters (consumer, topic, partition, "offset", event_id, event_type,
                                           error, original_size, original_value)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"""
        args = (
            self.group,
            rec.topic,
            rec.partition,
            rec.offset,
            env.event_id if env else None,
            env.event_type if env else None,
            error,
            len(value),
            value if truncated else None,  # the DLQ holds all of any other
        )
        if conn is not None:
            await conn.execute(sql, *args)
        else:
            async with self.pool.acquire() as own:
                await own.execute(sql, *args)

    async def _send_dead_letter(
        self, rec: Any, value: bytes, key: bytes | None, headers: dict[str, str]
    ) -> None:
        """One send to `<topic>.dlq`, delivered. The producer's or the broker's "too large"
        passes through (the caller truncates); any other failure is `DeadLetterUnsent`."""
        try:
            await (
                await self.producer.send(
                    dlq(rec.topic), value=value, key=key, headers=to_headers(headers)
                )
            )
        except _TOO_LARGE:
            raise
        except Exception as exc:
            raise DeadLetterUnsent(f"{rec.topic}/{rec.partition}/{rec.offset}") from exc


def _runs(items: list[_Item[Any]]) -> list[list[_Item[Any]]]:
    """Consecutive items of one type with a many-handler form a run; every other item is a run
    of one. Never reorders: a run breaks at a type change."""
    runs: list[list[_Item[Any]]] = []
    for item in items:
        last = runs[-1] if runs else None
        if (
            last is not None
            and item.many is not None
            and last[0].many is not None
            and last[0].envelope.event_type == item.envelope.event_type
        ):
            last.append(item)
        else:
            runs.append([item])
    return runs


@dataclass(frozen=True)
class BatchPace:
    """At most one short batch per `interval_s`: after a batch of fewer than `max_records`,
    rest until `interval_s` after it began. Meanwhile a trickle of events gathers in the
    broker and arrives as one batch: one fetch and one transaction where each event cost one
    of each (Tansu ignores `fetch_min_bytes`, which is how a Kafka consumer would ask for
    this). A full batch never rests, so a backlog drains at full speed."""

    interval_s: float
    max_records: int
    clock: Callable[[], float] = time.monotonic

    def rest_s(self, began: float, taken: int) -> float:
        if not self.interval_s or taken >= self.max_records:
            return 0.0
        return max(0.0, began + self.interval_s - self.clock())

    async def rest(self, began: float, taken: int) -> None:
        if (pause := self.rest_s(began, taken)) > 0:
            await asyncio.sleep(pause)


async def _whole(msg: Any) -> Any:
    """The handler gets the message itself: decoding is ours (a poison message cannot fail
    before us), and the message is what it acks. Taking it by a `KafkaMessage` parameter
    instead made FastDepends resolve that parameter on a worker thread for every batch:
    about a fifth of a consumer's CPU at one-event batches, and a thread hop of latency."""
    return msg


def subscribe(
    broker: KafkaBroker,
    processor: BatchProcessor,
    *,
    max_records: int,
    fetch_max_wait_ms: int,
    session_timeout_ms: int,
    commit_interval_ms: int,
    batch_interval_ms: int,
    batch_timeout_ms: int | None = None,
) -> SettledOffsets:
    """Register a FastStream batch subscriber whose offsets are committed only after the
    database commit: at most every `commit_interval_ms` (0: after every batch), see
    `cobuild_kit.offsets`. Returns the offsets, for the runtime to flush on shutdown. The
    sizes and waits have no defaults here: `ServiceSettings` holds them, once.

    `batch_timeout_ms` is how long FastStream's `getmany` waits for buffered records; when it
    returns nothing FastStream then *sleeps* as long again before the next `getmany`, so its
    default (200 ms) put up to 200 ms on an event arriving after a quiet spell. `getmany`
    returns as soon as anything is buffered, so a short wait costs no throughput. By default
    it is a quarter of the fetch wait (at least 5 ms): the loop need not wake much more
    often than the fetches can bring anything.

    `batch_interval_ms` paces the group, see `BatchPace`."""
    spec = processor.spec
    if batch_timeout_ms is None:
        batch_timeout_ms = max(5, fetch_max_wait_ms // 4)
    offsets = SettledOffsets(processor.group, commit_interval_ms / 1000)

    pace = BatchPace(batch_interval_ms / 1000, max_records)

    async def handle(msg: Any) -> None:  # the KafkaMessage, from `_whole`
        began = pace.clock()
        records = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
        if await processor.process(records):
            await offsets.settled(msg.consumer, records)
        else:
            await msg.nack()  # rewinds each partition to its earliest record in the batch
        await pace.rest(began, len(records))

    handle.__name__ = f"{processor.group.replace('.', '_')}_handler"
    broker.subscriber(
        *spec.topics,
        group_id=processor.group,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=batch_timeout_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        fetch_max_wait_ms=fetch_max_wait_ms,
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=max(session_timeout_ms // 3, 100),
        decoder=_whole,
        title=processor.group,
        description=f"Consumes {', '.join(spec.event_types())}",
    )(handle)
    return offsets
