"""HTTP plumbing shared by every service: error mapping, request ids, body limits,
Idempotency-Key, health, readiness and metrics endpoints, rate limiting of public reads."""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cobuild_kit import metrics
from cobuild_kit.errors import CobuildError, Forbidden, Unauthorized
from cobuild_kit.logging import correlation_id, get_logger

if TYPE_CHECKING:
    from cobuild_kit.service import Runtime

log = get_logger(__name__)
_MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
IN_PROGRESS_TAKEOVER = timedelta(seconds=60)
# The database is down or a pooled connection died with it (a PostgreSQL restart): not a bug
# of the request, so a 503 the client may retry, not a 500. The pool replaces dead connections.
UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.exceptions.PostgresConnectionError,  # class 08, ConnectionDoesNotExistError among them
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    ConnectionError,
)


def _unavailable() -> JSONResponse:
    body = error_body("unavailable", "the database is not reachable; retry shortly")
    return JSONResponse(body, status_code=503, headers={"retry-after": "1"})


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return body


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CobuildError)
    async def on_domain_error(request: Request, exc: CobuildError) -> JSONResponse:
        if isinstance(exc, Forbidden | Unauthorized):
            log.warning(
                "request.refused",
                path=request.url.path,
                method=request.method,
                status=exc.status,
                reason=exc.message,
            )
        return JSONResponse(error_body(exc.code, exc.message, exc.field), status_code=exc.status)

    @app.exception_handler(asyncpg.CharacterNotInRepertoireError)
    @app.exception_handler(asyncpg.UntranslatableCharacterError)
    async def on_unstorable_text(request: Request, exc: Exception) -> JSONResponse:
        # PostgreSQL text cannot hold NUL: bad input, and the unit of work has rolled back.
        return JSONResponse(
            error_body("validation", "text contains a character that cannot be stored", "body"),
            status_code=422,
        )

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("request.unavailable", path=request.url.path, error=repr(exc))
        return _unavailable()

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, on_unavailable)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": _field_path(e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        first = fields[0] if fields else {"field": None, "message": "invalid request"}
        return JSONResponse(
            error_body(
                "validation", f"{first['field']}: {first['message']}", first["field"], fields=fields
            ),
            status_code=422,
        )


class RequestContextMiddleware:
    """Correlation id in (X-Request-ID) and out; request metrics; early refusal of big bodies.

    Pure ASGI, as is `IdempotencyMiddleware`: Starlette's BaseHTTPMiddleware runs the app in
    a task group with memory streams per request, a large share of a small command's CPU."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_limits: dict[str, int]) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.body_limits = body_limits

    def _limit(self, path: str) -> int:
        for prefix, limit in self.body_limits.items():
            if path.startswith(prefix):
                return limit
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = headers.get("x-request-id") or str(uuid.uuid4())
        token = correlation_id.set(rid)
        started = time.perf_counter()
        status = 500  # unless the app answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = rid
            await send(message)

        try:
            limit = self._limit(scope["path"])
            length = headers.get("content-length")
            if length is not None and length.isdigit():
                too_large = int(length) > limit
            elif length is None and scope["method"] in _MUTATING:
                body = await _read_body(receive, limit)
                too_large = body is None
                receive = _replaying(body or b"", receive)
            else:
                too_large = False
            if too_large:
                refusal = JSONResponse(
                    error_body("too_large", f"request body over {limit} bytes", "body"), 413
                )
                await refusal(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            label = getattr(scope.get("route"), "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(scope["method"], label, str(status)).inc()
            metrics.HTTP_LATENCY.labels(scope["method"], label).observe(
                time.perf_counter() - started
            )
            correlation_id.reset(token)


async def _read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The request body, from its `http.request` messages; None as soon as it passes `limit`
    (a chunked body without Content-Length is read no further than that)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then defers to the client's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _without_boundary(body: bytes, content_type: str) -> bytes:
    """A multipart body with its boundary taken out. Clients draw a fresh boundary for every
    request, so a retry of the same upload (after a lost answer) would otherwise hash as
    another request and get 409 instead of the stored answer."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return body
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        boundary = value.strip('"')
        if name.lower() == "boundary" and boundary:
            return body.replace(boundary.encode("latin-1"), b"")
    return body


class IdempotencyMiddleware:
    """Idempotency-Key on commands: same key and body → stored response; other body → 409."""

    def __init__(self, app: ASGIApp, *, runtime_getter: Callable[[], Runtime]) -> None:
        self.app = app
        self._runtime = runtime_getter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _MUTATING:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 200:
            refusal = JSONResponse(
                error_body(
                    "validation",
                    "Idempotency-Key must be 1-200 characters",
                    "header.Idempotency-Key",
                ),
                422,
            )
            await refusal(scope, receive, send)
            return
        rt = self._runtime()
        actor_scope = _scope(rt, headers.get("authorization"))
        body = await _read_body(receive)
        assert body is not None  # read without a limit (the outer middleware applied it)
        digest = hashlib.sha256(
            scope["method"].encode()
            + b" "
            + scope["path"].encode()
            + b"\n"
            + _without_boundary(body, headers.get("content-type", ""))
        ).hexdigest()
        try:
            answer = await self._claim(rt, actor_scope, key, digest)
        except UNAVAILABLE:
            answer = _unavailable()
        if answer is not None:
            await answer(scope, receive, send)
            return
        response = await self._run(scope, _replaying(body, receive), rt, actor_scope, key)
        try:
            await self._settle(rt, actor_scope, key, response)
        except UNAVAILABLE as exc:  # the answer stands; only its replay copy is not kept
            log.warning("idempotency.not_recorded", key=key, error=repr(exc))
        await response(scope, receive, send)

    async def _run(
        self, scope: Scope, receive: Receive, rt: Runtime, actor_scope: str, key: str
    ) -> Response:
        """The app's whole answer, held until the key is settled."""
        start: Message = {}
        chunks: list[bytes] = []

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, hold)
        except BaseException:
            with contextlib.suppress(Exception):  # not a result: let the client retry the key
                await self._forget(rt, actor_scope, key)
            raise
        response = Response(b"".join(chunks), status_code=start["status"])
        response.raw_headers = list(start.get("headers", []))
        return response

    async def _forget(self, rt: Runtime, scope: str, key: str) -> None:
        async with rt.pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2", scope, key
            )

    async def _settle(self, rt: Runtime, scope: str, key: str, response: Response) -> None:
        if response.status_code >= 500:  # not a result: let the client retry the key
            await self._forget(rt, scope, key)
            return
        async with rt.pool.acquire() as conn:
            await conn.execute(
                "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 "
                "WHERE scope = $1 AND key = $2",
                scope,
                key,
                response.status_code,
                response.headers.get("content-type"),
                response.body,
            )

    async def _claim(self, rt: Runtime, scope: str, key: str, digest: str) -> Response | None:
        """None: this request goes ahead with the key; otherwise the answer to give instead."""
        async with rt.pool.acquire() as conn:
            # A key left in progress by a process that died mid-command is taken over once it
            # is older than any command runs; otherwise its retries would be refused forever.
            inserted = await conn.fetchval(
                """INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3)
                   ON CONFLICT (scope, key) DO UPDATE SET created_at = now()
                   WHERE idempotency_keys.status IS NULL
                     AND idempotency_keys.request_hash = EXCLUDED.request_hash
                     AND idempotency_keys.created_at < now() - $4::interval
                   RETURNING 1""",
                scope,
                key,
                digest,
                IN_PROGRESS_TAKEOVER,
            )
            if inserted is None:
                row = await conn.fetchrow(
                    "SELECT request_hash, status, content_type, body FROM idempotency_keys "
                    "WHERE scope = $1 AND key = $2",
                    scope,
                    key,
                )
                assert row is not None
                if row["request_hash"] != digest:
                    return JSONResponse(
                        error_body(
                            "idempotency_conflict",
                            "Idempotency-Key reused with a different request",
                            "header.Idempotency-Key",
                        ),
                        409,
                    )
                if row["status"] is None:
                    return JSONResponse(
                        error_body(
                            "idempotency_in_progress",
                            "a request with this Idempotency-Key is in progress",
                            "header.Idempotency-Key",
                        ),
                        409,
                    )
                return Response(
                    row["body"],
                    status_code=row["status"],
                    media_type=row["content_type"],
                    headers={"idempotent-replayed": "true"},
                )
        return None


def _scope(rt: Runtime, authorization: str | None) -> str:
    """Keys are per actor; a token that does not verify only ever sees its own anonymous scope."""
    if authorization and authorization.lower().startswith("bearer "):
        try:
            return rt.verifier.verify(authorization[7:].strip()).subject
        except CobuildError:
            return "invalid-token"
    return "anonymous"


class RateLimiter:
    """Sliding-window limit per client address for token-less endpoints (wall clock)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def check(self, client: str) -> bool:
        now = time.monotonic()
        hits = self._hits[client]
        while hits and hits[0] < now - 60:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return False
        hits.append(now)
        return True


def ops_router(readiness: Callable[[], Awaitable[dict[str, Any]]]) -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"description": "a dependency is not reachable"}})
    async def readyz() -> JSONResponse:
        """200 "ok"; 200 "degraded" when a check starts with "degraded" (e.g. parked outbox
        rows: the service still serves); 503 "unavailable" when a dependency does not answer."""
        checks = await readiness()
        down = any(v != "ok" and not str(v).startswith("degraded") for v in checks.values())
        degraded = any(v != "ok" for v in checks.values())
        return JSONResponse(
            {"status": "unavailable" if down else "degraded" if degraded else "ok",
             "checks": checks},
            status_code=503 if down else 200,
        )  # fmt: skip

    @router.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
