"""The people of the scenario, as HTTP clients: each role with its own token.

Tokens are minted with the development issuer's key from stack.json (the wall clock sets their
expiry, never business time). Commands carry an Idempotency-Key that stays the same across
retries, so a request retried after a dropped connection or a 503 takes effect once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from cobuild_kit.auth import issue_token

SERVICES = (
    "agreements",
    "commitments",
    "points",
    "evaluation",
    "escalations",
    "access",
    "notifications",
)
RETRY_STATUS = frozenset({502, 503, 504})
RETRIES = 8


class ApiError(Exception):
    """A request the services refused (or that kept failing); names the call and the answer."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{method} {url} → {status}: {body[:400]}")
        self.status = status
        self.body = body


class Tokens:
    """Mints and caches one token per (role, party), unless given one to `use`."""

    def __init__(self, keys: Mapping[str, str], ttl_seconds: int = 6 * 3600) -> None:
        self._pem = Path(keys["private_key"]).read_bytes()
        self._kid = keys["kid"]
        self._ttl = ttl_seconds
        self._cache: dict[tuple[str, str], str] = {}

    def use(self, role: str, party_id: str, token: str) -> None:
        """Act as (role, party) with this token from now on: one the access service's
        exchange issued (cobuild_scenario.signin), instead of a development one."""
        self._cache[(role, party_id)] = token

    def token(self, role: str, party_id: str) -> str:
        key = (role, party_id)
        if key not in self._cache:
            subject = party_id if role == "member" else f"{role}@{party_id}"
            self._cache[key] = issue_token(
                private_key_pem=self._pem,
                kid=self._kid,
                subject=subject,
                role=role,
                party_id=party_id,
                ttl_seconds=self._ttl,
            )
        return self._cache[key]


class Api:
    """One pooled client for the four services, with bounded concurrency and retries."""

    def __init__(self, urls: Mapping[str, str], tokens: Tokens, *, concurrency: int = 16) -> None:
        self.urls = dict(urls)
        self.tokens = tokens
        self._gate = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(
            max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2
        )
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits)
        self.requests = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    def actor(self, role: str, party_id: str) -> Actor:
        return Actor(self, role, party_id)

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> httpx.Response:
        url = self.urls[service] + path
        sent: dict[str, str] = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if method != "GET":
            sent.setdefault("Idempotency-Key", uuid.uuid4().hex)
        delay = 0.1
        for attempt in range(RETRIES):
            try:
                async with self._gate:
                    self.requests += 1
                    response = await self._client.request(
                        method,
                        url,
                        json=json,
                        files=files,
                        data=data,
                        params=params,
                        headers=sent,
                    )
            except httpx.TransportError:
                if attempt == RETRIES - 1:
                    raise
            else:
                if response.status_code in ok:
                    return response
                if not _retryable(response) or attempt == RETRIES - 1:
                    raise ApiError(method, url, response.status_code, response.text)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)
        raise AssertionError("unreachable")


def _retryable(response: httpx.Response) -> bool:
    if response.status_code in RETRY_STATUS:
        return True
    # The same key is still being worked on (a retry overtook the first try): ask again.
    return response.status_code == 409 and "idempotency_in_progress" in response.text


class Actor:
    """Someone acting with their own token: a district, street, community or unit admin, a
    member or an expert."""

    def __init__(self, api: Api, role: str, party_id: str) -> None:
        self.api = api
        self.role = role
        self.party_id = party_id

    @property
    def token(self) -> str:
        return self.api.tokens.token(self.role, self.party_id)

    async def get(self, service: str, path: str, **params: Any) -> Any:
        response = await self.api.request(service, "GET", path, token=self.token, params=params)
        return response.json()

    async def get_bytes(self, service: str, path: str, **params: Any) -> bytes:
        response = await self.api.request(service, "GET", path, token=self.token, params=params)
        return response.content

    async def post(
        self, service: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200, 201)
    ) -> Any:
        response = await self.api.request(service, "POST", path, token=self.token, json=body, ok=ok)
        return response.json()

    async def put(self, service: str, path: str, body: Any) -> Any:
        response = await self.api.request(service, "PUT", path, token=self.token, json=body)
        return response.json()

    async def upload(
        self, service: str, path: str, filename: str, content: bytes, content_type: str
    ) -> Any:
        response = await self.api.request(
            service,
            "POST",
            path,
            token=self.token,
            files={"file": (filename, content, content_type)},
        )
        return response.json()


async def resident_post(
    api: Api, path: str, body: Any, address: str, *, service: str = "evaluation"
) -> Any:
    """A resident has no token: a one-time code, sent from their own address (the main job
    has the evaluation and escalations services trust X-Forwarded-For from loopback,
    MainJob.prepare_stack, so each simulated resident counts on its own, apart from the admin
    who issued the code)."""
    response = await api.request(
        service, "POST", path, json=body, headers={"X-Forwarded-For": address}
    )
    return response.json()
