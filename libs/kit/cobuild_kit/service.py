"""Wiring a service: settings → pool → migrations → producer → relay → consumers → HTTP.

A service declares a `ServiceDefinition`; `create_app` turns it into an ASGI app whose lifespan
starts and stops everything in order, and `serve` runs it with uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Generic

import asyncpg
import uvicorn
from aiokafka import AIOKafkaProducer
from aiokafka.errors import IllegalStateError
from cobuild_contracts import Envelope, Event, Role
from cobuild_contracts.registry import events_on
from cobuild_contracts.topics import ALL_TOPICS
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from typing_extensions import TypeVar

from cobuild_kit import heap, metrics
from cobuild_kit.api import AUTHENTICATED, refusals, truthful_openapi
from cobuild_kit.auth import Actor, JwtVerifier, KeySource, KeySources, StaticKeys, TokenVerifier
from cobuild_kit.bounded_head import bounded_head
from cobuild_kit.clock import Clock, clock_from_setting
from cobuild_kit.consumer import BatchProcessor, ConsumerSpec, subscribe
from cobuild_kit.db import connect, create_pool, transaction
from cobuild_kit.errors import CobuildError, Forbidden, Unauthorized, Unavailable
from cobuild_kit.http import (
    RequestContextMiddleware,
    install_error_handlers,
    ops_router,
)
from cobuild_kit.idempotency import IdempotencyMiddleware, PgKeyStore
from cobuild_kit.jwks import JwksKeys
from cobuild_kit.kafka import make_producer
from cobuild_kit.lag import LagProbe
from cobuild_kit.logging import configure_logging, correlation_id, get_logger
from cobuild_kit.migrations import Migration, migrate, package_migrations
from cobuild_kit.offsets import SettledOffsets
from cobuild_kit.outbox import Outbox
from cobuild_kit.outbox import backlog as outbox_backlog
from cobuild_kit.outbox import parked as outbox_parked
from cobuild_kit.pending import PendingEvents
from cobuild_kit.pending import count as pending_count
from cobuild_kit.rate_limits import RateLimits, rate_limit
from cobuild_kit.relay import OutboxRelay
from cobuild_kit.revocations import RevokedGrants, kept_for, refresh_forever, revocations_consumer
from cobuild_kit.settings import ServiceSettings

log = get_logger(__name__)
Worker = Callable[["Runtime[Any]"], Awaitable[None]]


# A service's own settings class: `Runtime[PointsSettings]` types `rt.settings` with no cast.
# Bare `Runtime` means `Runtime[ServiceSettings]`, for code that needs only the kit's settings.
S = TypeVar("S", bound=ServiceSettings, default=ServiceSettings)


@dataclass
class ServiceDefinition(Generic[S]):
    name: str
    settings: S
    migrations_package: str | None
    routers: list[APIRouter] = field(default_factory=list)
    consumers: list[ConsumerSpec] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    description: str = ""
    version: str = "1.0.0"
    body_limits: dict[str, int] = field(default_factory=dict)
    verifier: TokenVerifier | None = None
    clock: Clock | None = None
    # The kit's `<service>.access` consumer and the revoked-grants set every request is
    # checked against (cobuild_kit.revocations). Every service follows revocations.
    follow_revocations: bool = True

    def all_consumers(self) -> list[ConsumerSpec]:
        """The service's consumer groups and the kit's."""
        kit = [revocations_consumer()] if self.follow_revocations else []
        purposes = [spec.purpose for spec in [*self.consumers, *kit]]
        if len(set(purposes)) != len(purposes):
            raise ValueError(f"{self.name}: two consumer groups share a purpose: {purposes}")
        return [*self.consumers, *kit]

    def migrations(self) -> list[Migration]:
        own = (
            package_migrations(self.migrations_package, self.name)
            if self.migrations_package
            else []
        )
        return package_migrations("cobuild_kit", "kit") + own


class UnitOfWork:
    """One command's transaction: state rows and the events they cause commit together."""

    def __init__(self, conn: asyncpg.Connection, outbox: Outbox) -> None:
        self.conn = conn
        self._outbox = outbox

    async def emit(self, event: Event) -> Envelope:
        return await self._outbox.add(self.conn, event, correlation_id=correlation_id.get())


class Runtime(Generic[S]):
    """Everything a running service holds. Pool and producer exist once the lifespan started."""

    def __init__(self, definition: ServiceDefinition[S]) -> None:
        self.definition = definition
        self.settings: S = definition.settings
        self.name = definition.name
        self.clock: Clock = definition.clock or clock_from_setting(self.settings.clock)
        self.verifier: TokenVerifier = definition.verifier or _verifier(self.settings)
        self.outbox = Outbox(self.name, self.clock)
        self.rate_limits = RateLimits()
        self.broker = KafkaBroker(
            self.settings.kafka_bootstrap,
            client_id=self.name,
            logger=logging.getLogger("faststream"),
            # Handlers take the message whole (`consumer.subscribe`); nothing is injected.
            apply_types=False,
        )
        self.groups: dict[str, list[str]] = {}
        # How far a worker has got in business time (e.g. the deadline scan), shown on /ops/lag
        # so a driver moving a file clock can wait for it.
        self.progress: dict[str, str] = {}
        self._declare_publications()
        self._pool: asyncpg.Pool | None = None
        self._producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.lag_probe = LagProbe(self.settings.kafka_bootstrap)
        self._tasks: list[asyncio.Task[None]] = []
        self.offsets: list[SettledOffsets] = []
        self.pending = PendingEvents()  # the groups' pending events (cobuild_kit.pending)
        self.revoked = RevokedGrants()  # grants whose tokens are refused (cobuild_kit.revocations)
        for spec in definition.all_consumers():
            group = f"{self.name}.{spec.purpose}"
            self.groups[group] = list(spec.topics)
            processor = BatchProcessor(
                group=group,
                spec=spec,
                deps=self,
                max_attempts=self.settings.consumer_max_attempts,
                pending_events=self.pending,
            )
            sub = subscribe(
                self.broker,
                processor,
                max_records=self.settings.consumer_max_records,
                fetch_max_wait_ms=self.settings.consumer_fetch_max_wait_ms
                if spec.prompt
                else self.settings.consumer_relaxed_fetch_max_wait_ms,
                batch_interval_ms=self.settings.consumer_batch_interval_ms
                if spec.prompt
                else self.settings.consumer_relaxed_batch_interval_ms,
                session_timeout_ms=self.settings.consumer_session_timeout_ms,
                commit_interval_ms=self.settings.consumer_commit_interval_ms,
            )
            self.offsets.append(sub)

    def _declare_publications(self) -> None:
        """For the AsyncAPI document: what this service publishes (the relay does the sending)."""
        topic = f"{self.name}.events.v1"
        published = sorted(events_on(topic)) if topic in ALL_TOPICS else []
        if published:
            self.broker.publisher(
                topic,
                title=f"{topic}:publish",
                description="Envelopes (key = aggregate id, header event_type) of: "
                + ", ".join(published),
                schema=Envelope,
            )

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the service has not started")
        return self._pool

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("the service has not started")
        return self._producer

    async def authenticate(self, token: str) -> Actor:
        """The actor of a bearer token: verified (an unknown kid refetches the JWKS), and
        not of a revoked grant. Every refusal is a 401 naming its reason, which the refusal
        log records."""
        actor = await self.verifier.verify_fetching(token)
        if actor.grant_id is not None and actor.grant_id in self.revoked:
            raise Unauthorized(f"token of a revoked grant ({actor.grant_id})")
        return actor

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        async with transaction(self.pool) as conn:
            yield UnitOfWork(conn, self.outbox)

    async def start(self) -> None:
        s = self.settings
        configure_logging(self.name, s.log_level)
        self._pool = await _retry(
            "database",
            lambda: create_pool(
                s.database_url,
                min_size=s.database_pool_min,
                max_size=s.database_pool_max,
                statement_cache_size=s.database_statement_cache_size,
            ),
        )
        conn = await connect(s.database_url)
        try:
            await migrate(conn, self.definition.migrations())
        finally:
            await conn.close()
        if self.definition.follow_revocations:
            # Before the first request: a replica that starts must not accept what the
            # others already refuse.
            async with self.pool.acquire() as conn:
                await self.revoked.load(conn, kept_for(s.jwt_max_lifetime_s))
        self._producer = make_producer(
            s.kafka_bootstrap,
            idempotence=s.kafka_idempotence,
            client_id=f"{self.name}-relay",
            max_batch_bytes=s.kafka_max_batch_bytes,
            max_request_bytes=s.kafka_max_request_bytes,
        )
        await _retry("broker", self._producer.start)
        await _retry("lag probe", self.lag_probe.start)
        self.relay = OutboxRelay(
            service=self.name,
            dsn=s.database_url,
            pool=self.pool,
            producer=self.producer,
            batch_size=s.outbox_batch_size,
            poll_interval_s=s.outbox_poll_interval_s,
            retention=timedelta(hours=s.outbox_retention_hours),
        )
        self._spawn("relay", lambda _rt: self.relay.run() if self.relay else asyncio.sleep(0))
        await _retry("consumers", self._start_consumers)
        self._spawn("lag-gauge", _refresh_lag_gauge)
        self._spawn("idempotency-purge", _purge_idempotency_keys)
        if self.pending.processors:
            self._spawn("pending-sweep", _sweep_pending)
        if self.definition.follow_revocations:
            self._spawn("revocations", refresh_forever)
        for worker in self.definition.workers:
            self._spawn(getattr(worker, "__name__", "worker"), worker)
        log.info("service.started", port=s.port)

    async def _start_consumers(self) -> None:
        """What `KafkaBroker.start` does, with the groups started together: FastStream starts
        them one after another, and each waits for its group's join, which Tansu answers
        after half the session timeout (5 s). A service of four groups started in 20 s; now
        in 5 (the kit's `access` group, added to every service, cost nothing more)."""
        await self.broker.connect()
        subscribers = list(self.broker.subscribers)
        results = await asyncio.gather(
            *(subscriber.start() for subscriber in subscribers), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:  # stop those that started, so the retry does not start them twice
            await asyncio.gather(*(s.stop() for s in subscribers), return_exceptions=True)
            raise failed[0]
        for publisher in self.broker.publishers:
            await publisher.start()
        self.broker.running = True

    def _spawn(self, name: str, worker: Worker) -> None:
        async def supervised() -> None:
            while True:
                try:
                    await worker(self)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.error("worker.crashed", worker=name, error=repr(exc))
                    await asyncio.sleep(1.0)

        self._tasks.append(asyncio.create_task(supervised(), name=name))

    async def stop(self) -> None:
        """Stop everything, each step bounded: a broker that stops answering (a coordinator
        that never acknowledges a LeaveGroup) must not hold the process, or a test's teardown,
        for ever. What a cut-short step leaves behind, the broker's session timeout and the
        inbox absorb."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, STOP_STEP_S)
        for offsets in self.offsets:  # what is applied need not be redelivered after a restart
            await _bounded("offsets", offsets.close())
        await _bounded("consumers", self.broker.stop())
        for name, closer in (
            ("lag probe", self.lag_probe.stop),
            ("producer", self._producer.stop if self._producer else None),
            ("pool", self._pool.close if self._pool else None),
        ):
            if closer is not None:
                await _bounded(name, closer())

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            async with self.pool.acquire(timeout=2) as conn:
                parked = await outbox_parked(conn)
            checks["database"] = "ok"
            metrics.OUTBOX_PARKED.set(parked)
            # Degraded, not unavailable (200, not 503): the service still takes commands and
            # every other key's events leave; a 503 would take every replica out of service
            # for one event. An operator re-sends the rows after a fix (`cobuild outbox resend`).
            checks["outbox"] = (
                f"degraded: {parked} event(s) parked, not sent (`cobuild outbox parked`)"
                if parked
                else "ok"
            )
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), 2)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {type(exc).__name__}"
        return checks

    async def rewind_consumers(self, timeout_s: float = 15.0) -> int:
        """Re-read every assigned partition from its beginning; returns how many partitions.

        After the broker lost its data and replay refilled it, a running consumer may still hold
        a fetch position past the new log's end and would skip what replay wrote below it. The
        inbox absorbs everything already applied, so a rewind is always safe, only costly.
        The seek waits for the broker, so it is refused (503) while the broker is away."""
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), 2)
        except Exception as exc:
            raise Unavailable(
                "the broker does not answer: start it (empty if need be) before rewinding"
            ) from exc
        rewound = 0
        for offsets in self.offsets:
            offsets.forget()
        for subscriber in self.broker.subscribers:
            consumer: Any = getattr(subscriber, "consumer", None)
            partitions = consumer.assignment() if consumer is not None else set()
            if not partitions:
                continue  # not assigned now: it reads from its committed offsets when it is
            try:
                await asyncio.wait_for(consumer.seek_to_beginning(*partitions), timeout_s)
            except (IllegalStateError, TimeoutError) as exc:
                raise Unavailable(f"consumers are rebalancing ({exc!r}): retry") from exc
            rewound += len(partitions)
        log.info("consumers.rewound", partitions=rewound)
        return rewound

    async def lag(self) -> dict[str, dict[str, int]]:
        out = {
            group: await self.lag_probe.lag(group, topics) for group, topics in self.groups.items()
        }
        for group, per_topic in out.items():
            for topic, value in per_topic.items():
                metrics.CONSUMER_LAG.labels(group, topic).set(value)
        return out


async def _refresh_lag_gauge(rt: Runtime) -> None:
    """Keep the consumer-lag gauge of /metrics current without anyone asking /ops/lag."""
    while True:
        await asyncio.sleep(15)
        try:
            await rt.lag()
        except Exception as exc:  # the broker may be away; the gauge just keeps its value
            log.debug("lag.unavailable", error=repr(exc))


async def _sweep_pending(rt: Runtime) -> None:
    """Pending events: retry those whose time has come, and send those that waited longer
    than `pending_grace_s` to the DLQ (`cobuild_kit.pending`)."""
    while True:
        await asyncio.sleep(rt.settings.pending_sweep_interval_s)
        try:
            applied, expired = await rt.pending.sweep(rt.settings.pending_grace_s)
            if applied or expired:
                log.info("pending.swept", applied=applied, expired=expired)
        except Exception as exc:  # the database or the DLQ may be away; next time
            log.warning("pending.sweep_failed", error=repr(exc))


IDEMPOTENCY_PURGE_EVERY_S = 3600.0
STOP_STEP_S = 15.0  # the longest one step of a service's stop may take


async def _bounded(step: str, work: Awaitable[Any]) -> None:
    try:
        await asyncio.wait_for(work, STOP_STEP_S)
    except TimeoutError:
        log.warning("service.stop_cut_short", step=step, after_s=STOP_STEP_S)
    except Exception as exc:  # stopping: report it, and go on stopping the rest
        log.warning("service.stop_failed", step=step, error=repr(exc))


async def _purge_idempotency_keys(rt: Runtime) -> None:
    """Kept answers to Idempotency-Keys go once their retention has passed: a client retries
    within minutes, and the table must not grow for ever."""
    keys = PgKeyStore(lambda: rt.pool)
    retention = timedelta(hours=rt.settings.idempotency_retention_hours)
    while True:
        try:
            purged = await keys.purge(retention)
            if purged:
                log.info("idempotency.purged", keys=purged)
        except Exception as exc:  # the database may be away; try again next time
            log.warning("idempotency.purge_failed", error=repr(exc))
        await asyncio.sleep(IDEMPOTENCY_PURGE_EVERY_S)


async def _retry(what: str, start: Callable[[], Awaitable[Any]]) -> Any:
    delay = 0.2
    while True:
        try:
            return await start()
        except (OSError, ConnectionError, asyncpg.PostgresError, Exception) as exc:
            log.warning("service.waiting", dependency=what, error=repr(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def _verifier(settings: ServiceSettings) -> TokenVerifier:
    """The keys of the settings: the development key file, the access service's JWKS, or
    both (a token's kid picks its key, and the key its issuer)."""
    sources: list[KeySource] = []
    if settings.jwt_public_keys_file is not None:
        sources.append(
            StaticKeys.from_file(settings.jwt_public_keys_file, issuer=settings.jwt_issuer)
        )
    if settings.jwks_url:
        sources.append(
            JwksKeys(
                settings.jwks_url,
                issuer=settings.jwks_issuer or settings.jwt_issuer,
                max_age_s=settings.jwks_max_age_s,
                min_refetch_interval_s=settings.jwks_refetch_min_interval_s,
                timeout_s=settings.jwks_timeout_s,
            )
        )
    if not sources:
        return _NoKeys()
    return JwtVerifier(
        sources[0] if len(sources) == 1 else KeySources(sources),
        audience=settings.jwt_audience,
        max_lifetime_s=settings.jwt_max_lifetime_s,
    )


class _NoKeys:
    def verify(self, token: str) -> Actor:
        raise Unauthorized("this service has no token keys configured")

    async def verify_fetching(self, token: str) -> Actor:
        return self.verify(token)


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request
    return _runtime_of(request)


def _runtime_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


# Declared so that the OpenAPI documents name the scheme on every operation that takes a
# token (and generated clients send it); the header is read below, for the kit's refusals.
_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="CobuildToken",
    description="a Cobuild access token (EdDSA JWT naming sub, role, party_id)",
)


async def current_actor(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Actor:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise Unauthorized("missing bearer token", field="header.Authorization")
    return await _runtime_of(request).authenticate(header[7:].strip())


def subject_of(rt: Runtime[Any]) -> Callable[[str | None], Awaitable[str | None]]:
    """The subject of a verified bearer token, or None (no token, or one that is refused)."""

    async def subject(authorization: str | None) -> str | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        try:
            return (await rt.authenticate(authorization[7:].strip())).subject
        except CobuildError:
            return None

    return subject


# A service declares its own once, typed by its settings class, e.g. in its settings module:
# `RuntimeDep = Annotated[Runtime[PointsSettings], Depends(get_runtime)]`.
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

ActorDep = Annotated[Actor, Depends(current_actor)]
PublicRateLimit = rate_limit("public", lambda s: s.public_rate_limit_per_minute)


def operation_id(route: APIRoute) -> str:
    """The router's first tag and the handler's name ("needs_show", "commitments_claim"), so a
    generated client reads as the API does; FastAPI's default appends the path and method."""
    words = [*(str(t) for t in route.tags[:1]), route.name]
    return re.sub(r"\W+", "_", "_".join(words)).strip("_").lower()


def create_app(definition: ServiceDefinition[S], *, own_process: bool = False) -> FastAPI:
    """The service's ASGI app. `own_process`: the app is the process (`serve`), so its heap
    is frozen once started (see cobuild_kit.heap); in-process test stacks leave theirs."""
    runtime = Runtime(definition)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        if own_process and runtime.settings.gc_freeze:
            log.info("heap.frozen", objects=heap.settle())
        try:
            yield
        finally:
            await runtime.stop()

    # District intranets have no internet: /docs and /redoc take their scripts from the
    # fastapi-offline package, not from a CDN.
    app = FastAPIOffline(
        generate_unique_id_function=operation_id,
        title=f"Cobuild {definition.name}",
        version=definition.version,
        description=definition.description,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    truthful_openapi(app)
    keys = PgKeyStore(lambda: runtime.pool)
    app.add_middleware(IdempotencyMiddleware, store=lambda: keys, subject_of=subject_of(runtime))
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=definition.settings.max_body_bytes,
        body_limits=definition.body_limits,
    )
    app.include_router(ops_router(runtime.readiness))
    app.include_router(_ops_state_router())
    for router in definition.routers:
        app.include_router(router)
    return app


class Lag(BaseModel):
    """Consumer lag and the outbox: `total_lag` 0 and `outbox_backlog` 0 mean caught up."""

    groups: dict[str, dict[str, int]] = Field(description="consumer group → topic → lag")
    total_lag: int
    outbox_backlog: int = Field(description="events not yet sent (parked ones not counted)")
    outbox_parked: int = Field(description="events never sent until resent (`cobuild outbox`)")
    progress: dict[str, str] = Field(description="worker → how far it got in business time")
    pending_events: int = Field(
        0,
        description="events kept pending: they name what their consumer does not know yet, "
        "and wait for it or their grace period (then the DLQ)",
    )


class Rewound(BaseModel):
    partitions_rewound: int


async def operator(actor: ActorDep) -> Actor:
    """Operations (lag, rewinds, rebuilds, metrics) belong to the operator role: a district
    admin runs a district, not the system (the hardening issue's "Operations reach")."""
    if actor.role is not Role.OPERATOR:
        raise Forbidden("only an operator may do this (role operator)")
    return actor


OperatorDep = Annotated[Actor, Depends(operator)]


def _ops_state_router() -> APIRouter:
    router = APIRouter(tags=["ops"], responses=AUTHENTICATED, dependencies=[Depends(operator)])

    @router.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> Response:
        """Prometheus metrics (scrape with an operator token: `authorization: Bearer ...`)."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/ops/lag", responses=refusals(503))
    async def lag(rt: RuntimeDep) -> Lag:
        """Consumer lag per group and topic, and the outbox backlog: 0 and 0 means caught up."""
        try:
            async with rt.pool.acquire() as conn:
                backlog = await outbox_backlog(conn)
                parked = await outbox_parked(conn)
                waiting = await pending_count(conn)
            metrics.PENDING.set(waiting)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            # Drivers poll this through a database restart: any way the pooled connection can
            # fail then is "unknown, retry" (a 500 here once stopped the fault suite).
            raise Unavailable(
                f"outbox backlog unknown: the database did not answer ({exc!r})"
            ) from exc
        try:
            groups = await rt.lag()
        except Exception as exc:  # the broker is away or its topics are being recreated
            raise Unavailable(f"consumer lag unknown: the broker did not answer ({exc!r})") from exc
        total = sum(v for per in groups.values() for v in per.values())
        return Lag(
            groups=groups,
            total_lag=total,
            outbox_backlog=backlog,
            outbox_parked=parked,  # never sent until resent: `cobuild outbox resend`
            progress=rt.progress,
            pending_events=waiting,
        )

    @router.post("/ops/consumers/rewind", responses=refusals(503))
    async def rewind(rt: RuntimeDep) -> Rewound:
        """Make every consumer re-read its topics from the start, after a lost broker was
        refilled by `cobuild replay`. Applied events are not re-applied."""
        return Rewound(partitions_rewound=await rt.rewind_consumers())

    return router


def asyncapi(definition: ServiceDefinition[S]) -> FastStream:
    """For `faststream docs gen`: the service's subscribers, without starting anything."""
    runtime = Runtime(definition)
    return FastStream(
        runtime.broker,
        specification=AsyncAPI(
            title=f"Cobuild {definition.name}",
            version=definition.version,
            description=definition.description,
        ),
    )


def server_options(s: ServiceSettings) -> dict[str, Any]:
    """How uvicorn serves a service: the request head bounded (431), and X-Forwarded-For
    believed only from the configured proxies. uvicorn believes it from 127.0.0.1 by
    default, so any local client could choose the address its rate limit counts."""
    return {
        "host": s.host,
        "port": s.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": 5,
        "http": bounded_head(s.max_header_bytes),
        "proxy_headers": bool(s.trusted_proxies),
        "forwarded_allow_ips": s.trusted_proxies or None,
    }


def serve(definition: ServiceDefinition[S]) -> None:
    s = definition.settings
    heap.time_collections()
    heap.pace_young_collections(s.gc_young_threshold)
    uvicorn.run(create_app(definition, own_process=True), **server_options(s))
