"""HTTP plumbing shared by every service: error mapping, request ids, body limits,
Idempotency-Key, health, readiness and metrics endpoints, rate limiting of public reads."""

from __future__ import annotations

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
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

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
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
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


class RequestContextMiddleware(BaseHTTPMiddleware):
    """Correlation id in (X-Request-ID) and out; request metrics; early refusal of big bodies."""

    def __init__(self, app: Any, *, max_body_bytes: int, body_limits: dict[str, int]) -> None:
        super().__init__(app)
        self.max_body = max_body_bytes
        self.body_limits = body_limits

    def _limit(self, path: str) -> int:
        for prefix, limit in self.body_limits.items():
            if path.startswith(prefix):
                return limit
        return self.max_body

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        rid = request.headers.get("x-request-id") or str(uuid.uuid4())
        token = correlation_id.set(rid)
        started = time.perf_counter()
        try:
            length = request.headers.get("content-length")
            limit = self._limit(request.url.path)
            too_large = (
                int(length) > limit
                if length is not None and length.isdigit()
                else length is None
                and request.method in _MUTATING
                and not await _read_within(request, limit)
            )
            if too_large:
                response: Response = JSONResponse(
                    error_body("too_large", f"request body over {limit} bytes", "body"), 413
                )
            else:
                response = await call_next(request)
            response.headers["x-request-id"] = rid
            route = request.scope.get("route")
            label = getattr(route, "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(request.method, label, str(response.status_code)).inc()
            metrics.HTTP_LATENCY.labels(request.method, label).observe(
                time.perf_counter() - started
            )
            return response
        finally:
            correlation_id.reset(token)


async def _read_within(request: Request, limit: int) -> bool:
    """A body sent without Content-Length (chunked): read it only up to `limit`, and keep it
    for the app (BaseHTTPMiddleware hands a cached `_body` downstream)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return False
        chunks.append(chunk)
    request._body = b"".join(chunks)
    return True


class IdempotencyMiddleware(BaseHTTPMiddleware):
    """Idempotency-Key on commands: same key and body → stored response; other body → 409."""

    def __init__(self, app: Any, *, runtime_getter: Callable[[], Runtime]) -> None:
        super().__init__(app)
        self._runtime = runtime_getter

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        key = request.headers.get("idempotency-key")
        if key is None or request.method not in _MUTATING:
            return await call_next(request)
        if not 1 <= len(key) <= 200:
            return JSONResponse(
                error_body(
                    "validation",
                    "Idempotency-Key must be 1-200 characters",
                    "header.Idempotency-Key",
                ),
                422,
            )
        rt = self._runtime()
        scope = _scope(rt, request.headers.get("authorization"))
        body = await request.body()
        digest = hashlib.sha256(
            request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
        ).hexdigest()
        try:
            replay = await self._claim(rt, scope, key, digest)
        except UNAVAILABLE:
            return _unavailable()
        if replay is not None:
            return replay
        response = await call_next(request)
        payload = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
        try:
            await self._settle(rt, scope, key, response, payload)
        except UNAVAILABLE as exc:  # the answer stands; only its replay copy is not kept
            log.warning("idempotency.not_recorded", key=key, error=repr(exc))
        return Response(payload, status_code=response.status_code, headers=dict(response.headers))

    async def _settle(
        self, rt: Runtime, scope: str, key: str, response: Response, payload: bytes
    ) -> None:
        async with rt.pool.acquire() as conn:
            if response.status_code >= 500:  # not a result: let the client retry the key
                await conn.execute(
                    "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2", scope, key
                )
            else:
                await conn.execute(
                    "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 "
                    "WHERE scope = $1 AND key = $2",
                    scope,
                    key,
                    response.status_code,
                    response.media_type or response.headers.get("content-type"),
                    payload,
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
        checks = await readiness()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )

    @router.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
