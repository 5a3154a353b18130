"""Helpers for the notifications tests: a real SMTP server (aiosmtpd) that keeps what it is
handed, events built from the contracts' samples, and the service in-process under a test
clock."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID

import cobuild_contracts
import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cobuild_contracts import Event, encode, headers, wrap
from cobuild_contracts.registry import event_class
from cobuild_kit.clock import BUSINESS_TZ, FixedClock
from cobuild_kit.service import Runtime, create_app
from cobuild_kit.testing import TestIssuer, caught_up, eventually
from cobuild_notifications.app import definition
from cobuild_notifications.settings import NotificationsSettings
from cobuild_stack.ports import free_port
from cobuild_stack.testing import create_topics, produce
from cobuild_stack.topics import suite_topics

SAMPLES = Path(cobuild_contracts.__file__).parent / "samples"


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BUSINESS_TZ)


def sample(event_type: str, **changes: Any) -> Event:
    """The contracts' sample of `event_type` with `changes` to its payload."""
    payload = json.loads((SAMPLES / f"{event_type}.json").read_text())["payload"]
    payload.update({k: (str(v) if isinstance(v, UUID) else v) for k, v in changes.items()})
    return event_class(event_type).model_validate(payload)


async def publish(bootstrap: str, at: datetime, *events: Event) -> None:
    """Events onto their topics, as their services' relays send them, occurring at `at`."""
    await create_topics(bootstrap, suite_topics())
    for e in events:
        env = wrap(e, producer="test", occurred_at=at)
        hdrs = {k: v.encode() for k, v in headers(env).items()}
        await produce(bootstrap, e.TOPIC, [(env.key.encode(), encode(env), hdrs)])


class _Keeper:
    def __init__(self, server: MailServer) -> None:
        self._server = server

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._server.delay_s:
            await asyncio.sleep(self._server.delay_s)  # a slow mail server
        raw = envelope.original_content or envelope.content or b""
        message = email.message_from_bytes(
            raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default
        )
        assert isinstance(message, EmailMessage)
        with self._server.lock:
            self._server.messages.append(message)
        return "250 OK"


class MailServer:
    """aiosmtpd on 127.0.0.1 in a thread of its own; `messages` in the order received."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.delay_s = 0.0
        self._controller = Controller(_Keeper(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]


def settings(dsn: str, bootstrap: str, smtp_port: int | None, **kw: Any) -> NotificationsSettings:
    fast: dict[str, Any] = {
        "outbox_poll_interval_s": 0.2,
        "sender_interval_s": 0.1,
        "database_pool_min": 1,
        "database_pool_max": 5,
        "consumer_session_timeout_ms": 4000,
        "send_backoff_base_s": 0.1,
    }
    if smtp_port is not None:
        fast |= {"smtp_host": "127.0.0.1", "smtp_port": smtp_port}
    return NotificationsSettings(database_url=dsn, kafka_bootstrap=bootstrap, **(fast | kw))


@dataclass
class Served:
    rt: Runtime[NotificationsSettings]
    client: httpx.AsyncClient
    issuer: TestIssuer
    clock: FixedClock

    def as_(self, subject: str) -> dict[str, str]:
        """A person's headers (their token's subject is what the inbox is keyed by)."""
        from cobuild_contracts import Role
        from cobuild_kit.actor import person_party_id

        return self.issuer.headers(Role.PERSON, person_party_id(subject), subject=subject)

    async def inbox(self, subject: str) -> list[dict[str, Any]]:
        r = await self.client.get("/inbox?limit=100&lang=en", headers=self.as_(subject))
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    async def kinds(self, subject: str) -> list[str]:
        return sorted(i["kind"] for i in await self.inbox(subject))

    async def settle(self) -> None:
        await eventually(lambda: caught_up(self.rt), timeout=30)


@asynccontextmanager
async def served(
    s: NotificationsSettings, issuer: TestIssuer, clock: FixedClock
) -> AsyncIterator[Served]:
    app = create_app(definition(s, verifier=issuer.verifier, clock=clock))
    rt: Runtime[NotificationsSettings] = app.state.runtime
    await rt.start()
    try:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Served(rt, client, issuer, clock)
    finally:
        await rt.stop()


async def deliveries(rt: Runtime[Any]) -> dict[str, int]:
    async with rt.pool.acquire() as conn:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM deliveries GROUP BY status")
    return {r["status"]: int(r["n"]) for r in rows}
