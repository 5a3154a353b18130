"""The services' HTTP APIs, called with the acting person's Cobuild token.

A refusal (4xx) becomes `ServiceRefusal` carrying the service's body (`error`, `message`,
`field`), so the page can say it beside the field; a service that cannot be reached or
answers 5xx becomes `ServiceUnavailable`. Every call carries the browser's address as
X-Forwarded-For (`browser_address`)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import httpx

# The address of the browser whose request the console is serving (set by the pages'
# middleware, http/web.py). Every person behind the console would otherwise share the
# console's one address, so it is forwarded on every call to every service: the access
# service limits exchanges and invitation-link lookups per address, and the evaluation and
# escalations services tell a resident's rating from the address that printed the codes (a
# rating from there is kept flagged, out of the means). Each service believes it from the
# console only (its trusted_proxies); from anyone else the header is ignored.
browser_address: ContextVar[str | None] = ContextVar("browser_address", default=None)


def forwarded(headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """`headers` with the browser's X-Forwarded-For, when a browser is being served."""
    out = dict(headers or {})
    address = browser_address.get()
    if address:
        out["X-Forwarded-For"] = address
    return out


# The services whose APIs the workbench calls (the access service is reached apart).
SERVICES = ("agreements", "commitments", "points", "evaluation", "escalations", "notifications")
PAGE = 500  # the services' largest page


class ServiceRefusal(Exception):
    def __init__(self, service: str, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(f"{service} refused ({status}): {body.get('message', '')}")
        self.service = service
        self.status = status
        self.body = dict(body)

    @property
    def code(self) -> str:
        return str(self.body.get("error") or "")


class ServiceUnavailable(Exception):
    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service} unavailable: {detail}")
        self.service = service


class TooLarge(Exception):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes or more, past the bound of {limit}")
        self.size = size
        self.limit = limit


class Services:
    def __init__(self, urls: Mapping[str, str], http: httpx.AsyncClient) -> None:
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self.http = http

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        token: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        files: Mapping[str, tuple[str, bytes, str]]
        | list[tuple[str, tuple[str, bytes, str]]]
        | None = None,
        content_type: str | None = None,
        data: Mapping[str, str] | None = None,
        timeout_s: float | None = None,  # None: the client's (settings.upstream_timeout_s)
    ) -> httpx.Response:
        base = self.urls.get(service)
        if base is None:  # a deployment without it (the notifications service is optional)
            raise ServiceUnavailable(service, "no address configured")
        headers = forwarded({"Authorization": f"Bearer {token}"})
        if content_type:
            headers["Content-Type"] = content_type
        if method != "GET":
            # A form carries its own key, so a double submit takes effect once.
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        for attempt in range(2):
            try:
                response = await self.http.request(
                    method,
                    base + path,
                    params={k: v for k, v in (params or {}).items() if v is not None},
                    json=json,
                    files=files,
                    data=data,
                    headers=headers,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout_s is None else timeout_s,
                )
                break
            except (httpx.RemoteProtocolError, httpx.ConnectError) as exc:
                # A kept-alive connection the service closed (a restart, or its idle timeout
                # racing ours): asked once more on a fresh one. Safe for every method: a
                # command carries its Idempotency-Key, so a repeat takes effect once.
                if attempt:
                    raise ServiceUnavailable(service, type(exc).__name__) from exc
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(service, type(exc).__name__) from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(service, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"error": "error", "message": response.text[:200]}
            raise ServiceRefusal(
                service, response.status_code, body if isinstance(body, dict) else {}
            )
        return response

    async def download(
        self, service: str, path: str, token: str, *, max_bytes: int
    ) -> tuple[bytes, str]:
        """A file's bytes and type, read as they arrive and given up past `max_bytes`
        (`TooLarge`): a file is never held whole in memory beyond the bound."""
        base = self.urls.get(service)
        if base is None:
            raise ServiceUnavailable(service, "no address configured")
        headers = forwarded({"Authorization": f"Bearer {token}"})
        try:
            async with self.http.stream("GET", base + path, headers=headers) as response:
                if response.status_code >= 500:
                    raise ServiceUnavailable(service, f"HTTP {response.status_code}")
                if response.status_code >= 400:
                    await response.aread()
                    try:
                        body = response.json()
                    except ValueError:
                        body = {"error": "error", "message": response.text[:200]}
                    raise ServiceRefusal(
                        service, response.status_code, body if isinstance(body, dict) else {}
                    )
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes:
                    raise TooLarge(declared, max_bytes)
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(size, max_bytes)
                    chunks.append(chunk)
                kind = response.headers.get("content-type", "application/octet-stream")
                return b"".join(chunks), kind.split(";")[0].strip()
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(service, type(exc).__name__) from exc

    async def get(self, service: str, path: str, token: str, **params: Any) -> Any:
        return (await self.request(service, "GET", path, token, params=params)).json()

    async def post(
        self,
        service: str,
        path: str,
        token: str,
        body: Any,
        *,
        idempotency_key: str | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        response = await self.request(
            service,
            "POST",
            path,
            token,
            json=body,
            idempotency_key=idempotency_key,
            timeout_s=timeout_s,
        )
        return response.json()

    async def upload(
        self,
        service: str,
        path: str,
        token: str,
        *,
        filename: str,
        content: bytes,
        content_type: str,
        idempotency_key: str,
    ) -> Any:
        """A file posted as the multipart field `file`. The multipart boundary follows from
        the key, so the same file sent again under the same key is the same body, and the
        service's idempotency replays its first answer instead of refusing a changed body."""
        boundary = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        response = await self.request(
            service,
            "POST",
            path,
            token,
            files={"file": (filename, content, content_type)},
            content_type=f"multipart/form-data; boundary={boundary}",
            idempotency_key=idempotency_key,
        )
        return response.json()

    async def every(
        self,
        service: str,
        path: str,
        token: str,
        params: Mapping[str, str] | None = None,
        *,
        cap: int = 2_000,
    ) -> list[dict[str, Any]]:
        """Every item of a paged list, up to `cap` (a to-do list longer than that is read a
        page at a time by its own page, not here)."""
        items: list[dict[str, Any]] = []
        offset: int | None = 0
        while offset is not None and len(items) < cap:
            page = await self.get(service, path, token, limit=PAGE, offset=offset, **(params or {}))
            items += page["items"]
            offset = page.get("next_offset")
        return items[:cap]
