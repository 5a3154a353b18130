"""Idempotency-Key on commands: the same key and request give the stored answer; the same key
with another request is a 409.

Keys are kept per actor, and only for actors whose token verifies: a key sent without a token
(or with one that does not verify) is ignored, so nobody can fill the table without signing
in. Kept answers are purged after `idempotency_retention_hours`. A key whose first request is
still running (or whose process died mid-command) answers 503 with Retry-After: the client
retries the same request, and once the first one ends it gets that answer (or, after
`IN_PROGRESS_TAKEOVER`, runs it afresh).

The middleware reaches the database through `KeyStore`, a small protocol, and learns who acts
through a callable: it knows nothing of the runtime that wires it.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import asyncpg
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cobuild_kit.http import MUTATING, UNAVAILABLE, error_body, read_body, replaying, unavailable
from cobuild_kit.logging import get_logger

log = get_logger(__name__)
IN_PROGRESS_TAKEOVER = timedelta(seconds=60)
IN_PROGRESS_RETRY_AFTER_S = 2


@dataclass(frozen=True)
class Kept:
    """What the store holds for a key."""

    request_hash: str
    status: int | None  # None: the first request has not answered yet
    content_type: str | None
    body: bytes | None


class KeyStore(Protocol):
    async def claim(self, scope: str, key: str, digest: str) -> Kept | None:
        """Claim the key for this request (None), or what is kept for it already."""

    async def settle(self, scope: str, key: str, response: Response) -> None: ...

    async def forget(self, scope: str, key: str) -> None: ...

    async def purge(self, older_than: timedelta) -> int: ...


class PgKeyStore:
    """The kit's `idempotency_keys` table."""

    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self._pool = pool

    async def claim(self, scope: str, key: str, digest: str) -> Kept | None:
        async with self._pool().acquire() as conn:
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
            if inserted is not None:
                return None
            row = await conn.fetchrow(
                "SELECT request_hash, status, content_type, body FROM idempotency_keys "
                "WHERE scope = $1 AND key = $2",
                scope,
                key,
            )
        assert row is not None
        return Kept(row["request_hash"], row["status"], row["content_type"], row["body"])

    async def settle(self, scope: str, key: str, response: Response) -> None:
        async with self._pool().acquire() as conn:
            await conn.execute(
                "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 "
                "WHERE scope = $1 AND key = $2",
                scope,
                key,
                response.status_code,
                response.headers.get("content-type"),
                response.body,
            )

    async def forget(self, scope: str, key: str) -> None:
        async with self._pool().acquire() as conn:
            await conn.execute(
                "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2", scope, key
            )

    async def purge(self, older_than: timedelta) -> int:
        async with self._pool().acquire() as conn:
            done: str = await conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval",
                older_than,
            )
        return int(done.split()[-1])


# Who acts, from the Authorization header: the token's subject, or None when there is no
# token or it is refused (such requests keep no key). Async: verifying may fetch a key.
SubjectOf = Callable[[str | None], Awaitable[str | None]]


class IdempotencyMiddleware:
    """Idempotency-Key on commands: same key and body → stored response; other body → 409."""

    def __init__(
        self, app: ASGIApp, *, store: Callable[[], KeyStore], subject_of: SubjectOf
    ) -> None:
        self.app = app
        self._store = store
        self._subject_of = subject_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
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
        subject = await self._subject_of(headers.get("authorization"))
        if subject is None:  # not signed in: the app refuses or serves it, and nothing is kept
            await self.app(scope, receive, send)
            return
        store = self._store()
        body = await read_body(receive)
        assert body is not None  # read without a limit (the outer middleware applied it)
        digest = hashlib.sha256(
            scope["method"].encode()
            + b" "
            + scope["path"].encode()
            + b"\n"
            + _without_boundary(body, headers.get("content-type", ""))
        ).hexdigest()
        try:
            kept = await store.claim(subject, key, digest)
        except UNAVAILABLE:
            await unavailable()(scope, receive, send)
            return
        if kept is not None:
            await _answer_from(kept, digest)(scope, receive, send)
            return
        response = await self._run(scope, replaying(body, receive), store, subject, key)
        try:
            if response.status_code >= 500:  # not a result: let the client retry the key
                await store.forget(subject, key)
            else:
                await store.settle(subject, key, response)
        except UNAVAILABLE as exc:  # the answer stands; only its replay copy is not kept
            log.warning("idempotency.not_recorded", key=key, error=repr(exc))
        await response(scope, receive, send)

    async def _run(
        self, scope: Scope, receive: Receive, store: KeyStore, subject: str, key: str
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
                await store.forget(subject, key)
            raise
        response = Response(b"".join(chunks), status_code=start["status"])
        response.raw_headers = list(start.get("headers", []))
        return response


def _answer_from(kept: Kept, digest: str) -> Response:
    if kept.request_hash != digest:
        return JSONResponse(
            error_body(
                "idempotency_conflict",
                "Idempotency-Key reused with a different request",
                "header.Idempotency-Key",
            ),
            409,
        )
    if kept.status is None:
        # 503, not 409: the request may well succeed; the client should send it again.
        return JSONResponse(
            error_body(
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still being answered; retry shortly",
                "header.Idempotency-Key",
            ),
            503,
            headers={"retry-after": str(IN_PROGRESS_RETRY_AFTER_S)},
        )
    return Response(
        kept.body,
        status_code=kept.status,
        media_type=kept.content_type,
        headers={"idempotent-replayed": "true"},
    )


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
