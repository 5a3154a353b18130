"""HTTP plumbing shared by every service: the refusal → status table, request ids, body
limits, health, readiness and metrics endpoints, rate limits are `cobuild_kit.rate_limits`.
Idempotency-Key has its own module, `cobuild_kit.idempotency`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cobuild_kit import metrics
from cobuild_kit.errors import (
    CobuildError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    TooLarge,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)
from cobuild_kit.logging import correlation_id, get_logger

log = get_logger(__name__)
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The database is down or a pooled connection died with it (a PostgreSQL restart): not a bug
# of the request, so a 503 the client may retry, not a 500. The pool replaces dead connections.
UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.exceptions.PostgresConnectionError,  # class 08, ConnectionDoesNotExistError among them
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    ConnectionError,
)


def unavailable() -> JSONResponse:
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


# The one table from a refusal to its HTTP status (ARCHITECTURE.md, "Commands in, facts
# out"). Refusals carry no status of their own: domains raise them and know nothing of HTTP.
HTTP_STATUS: dict[type[CobuildError], int] = {
    Invalid: 422,
    TooLarge: 413,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    TooManyRequests: 429,
    Unavailable: 503,
}
# Seconds a client should wait before it retries, for the refusals that say "not now".
RETRY_AFTER_S: dict[type[CobuildError], int] = {Unavailable: 1, TooManyRequests: 10}


def http_status(exc: CobuildError) -> int:
    """The status of a refusal: its own class's, or the nearest one it derives from; 400 for
    a refusal the table does not know."""
    for kind in type(exc).__mro__:
        if kind in HTTP_STATUS:
            return HTTP_STATUS[kind]
    return 400


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CobuildError)
    async def on_domain_error(request: Request, exc: CobuildError) -> JSONResponse:
        status = http_status(exc)
        if isinstance(exc, Forbidden | Unauthorized):
            log.warning(
                "request.refused",
                path=request.url.path,
                method=request.method,
                status=status,
                reason=exc.message,
            )
        retry = next((s for k, s in RETRY_AFTER_S.items() if isinstance(exc, k)), None)
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field),
            status_code=status,
            headers={"retry-after": str(retry)} if retry is not None else None,
        )

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
        return unavailable()

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, on_unavailable)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI and Starlette answer a body they cannot parse (JSON that is not UTF-8 or
        # nested too deep, broken multipart) with an undocumented 400 {"detail": ...}: it is
        # bad input like any other, the documented 422 with an ErrorBody (found by fuzzing).
        if exc.status_code == 400:
            return JSONResponse(
                error_body("validation", f"body: {exc.detail}", "body"), status_code=422
            )
        return await http_exception_handler(request, exc)

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

    Pure ASGI, as is `cobuild_kit.idempotency.IdempotencyMiddleware`: Starlette's BaseHTTPMiddleware runs the app in
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
            elif length is None and scope["method"] in MUTATING:
                body = await read_body(receive, limit)
                too_large = body is None
                receive = replaying(body or b"", receive)
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


async def read_body(receive: Receive, limit: int | None = None) -> bytes | None:
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


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then defers to the client's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


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

    return router
