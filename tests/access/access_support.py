"""Test support for the access service: a fake OpenID Connect issuer served on 127.0.0.1
(discovery, JWKS, introspection), a mailer that keeps what it sends, and the parties a
district's delegation needs, fed as party.registered events."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import jwt
import uvicorn
from cobuild_access.adapters.mail import Mail
from cobuild_contracts import (
    PartyKind,
    PartyRegistered,
    UnitType,
    encode,
    headers,
    new_event_id,
    topics,
    wrap,
)
from cobuild_stack.ports import free_port
from cobuild_stack.testing import produce
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CLIENT_ID = "cobuild-access"
CLIENT_SECRET = "s3cret-of-access"
AUDIENCE = "cobuild-console"


def _b64(n: int, size: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _b64(numbers.x, 32), "y": _b64(numbers.y, 32),
                "kid": self.kid, "use": "sig", "alg": "ES256"}  # fmt: skip


class FakeIssuer:
    """An OIDC provider of the shape the access service expects, with what a test needs to
    make good and bad tokens: `token(...)` signs an ID token; `opaque(...)` makes a token only
    introspection knows."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.keys = [SigningKey("fake-1")]
        self.opaque_tokens: dict[str, dict[str, Any]] = {}
        self.jwks_fetches = 0
        self.introspections = 0

    def token(
        self,
        subject: str,
        *,
        name: str | None = None,
        issuer: str | None = None,
        audience: str = AUDIENCE,
        ttl: int = 300,
        key: SigningKey | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body = {"iss": issuer or self.url, "sub": subject, "aud": audience, "iat": now,
                "exp": now + ttl, "auth_time": now, "jti": secrets.token_hex(8), **claims}  # fmt: skip
        if name:
            body["name"] = name
        signer = key or self.keys[-1]
        return jwt.encode(body, signer.private, algorithm="ES256", headers={"kid": signer.kid})

    def opaque(self, client_id: str, *, active: bool = True, subject: str | None = None) -> str:
        token = secrets.token_urlsafe(32)
        now = int(time.time())
        claims: dict[str, Any] = {"active": active, "client_id": client_id, "iss": self.url,
                                  "iat": now, "exp": now + 300, "aud": [CLIENT_ID]}  # fmt: skip
        if subject:
            claims["sub"] = subject
        self.opaque_tokens[token] = claims
        return token

    def rotate(self) -> SigningKey:
        key = SigningKey(f"fake-{len(self.keys) + 1}")
        self.keys.append(key)
        return key

    def app(self) -> Starlette:
        async def discovery(_: Request) -> JSONResponse:
            return JSONResponse({
                "issuer": self.url,
                "jwks_uri": f"{self.url}/jwks",
                "introspection_endpoint": f"{self.url}/introspect",
                "token_endpoint": f"{self.url}/token",
            })  # fmt: skip

        async def jwks(_: Request) -> JSONResponse:
            self.jwks_fetches += 1
            return JSONResponse({"keys": [k.jwk() for k in self.keys]})

        async def introspect(request: Request) -> JSONResponse:
            self.introspections += 1
            auth = request.headers.get("authorization", "")
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if auth != f"Basic {expected}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            form = await request.form()
            claims = self.opaque_tokens.get(str(form.get("token")))
            return JSONResponse(claims if claims else {"active": False})

        return Starlette(routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/jwks", jwks),
            Route("/introspect", introspect, methods=["POST"]),
        ])  # fmt: skip

    @asynccontextmanager
    async def served(self) -> AsyncIterator[FakeIssuer]:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_config=None,
                                access_log=False, lifespan="off")  # fmt: skip
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        try:
            yield self
        finally:
            server.should_exit = True
            await task


class KeptMail:
    """A mailer that keeps what it is asked to send (and can be made to fail)."""

    def __init__(self) -> None:
        self.sent: list[Mail] = []
        self.fail = False

    async def send(self, mail: Mail) -> None:
        if self.fail:
            raise OSError("mail server away")
        self.sent.append(mail)


@dataclass(frozen=True)
class District:
    """D: streets S1 (communities C1, C3) and S2 (community C2), unit U1 (paired with C2)."""

    d: UUID = field(default_factory=uuid4)
    s1: UUID = field(default_factory=uuid4)
    s2: UUID = field(default_factory=uuid4)
    c1: UUID = field(default_factory=uuid4)
    c2: UUID = field(default_factory=uuid4)
    c3: UUID = field(default_factory=uuid4)
    u1: UUID = field(default_factory=uuid4)

    def events(self) -> list[PartyRegistered]:
        def party(
            pid: UUID, kind: PartyKind, name: str, parent: UUID | None, **more: Any
        ) -> PartyRegistered:
            return PartyRegistered(
                party_id=pid, kind=kind, name=name, parent_id=parent, version=1, **more
            )

        return [
            party(self.d, PartyKind.DISTRICT, "测试区", None),
            party(self.s1, PartyKind.STREET, "一街道", self.d),
            party(self.s2, PartyKind.STREET, "二街道", self.d),
            party(self.c1, PartyKind.COMMUNITY, "和平社区", self.s1),
            party(self.c3, PartyKind.COMMUNITY, "幸福社区", self.s1),
            party(self.c2, PartyKind.COMMUNITY, "团结社区", self.s2),
            party(self.u1, PartyKind.UNIT, "区税务局", self.d,
                  unit_type=UnitType.GOVERNMENT_OFFICE, paired_community_ids=[self.c2]),
        ]  # fmt: skip


async def publish(bootstrap: str, topic: str, events: list[Any], producer: str) -> None:
    messages = []
    for event in events:
        envelope = wrap(event, producer=producer, occurred_at=datetime.now(UTC))
        raw_headers = {k: v.encode() for k, v in headers(envelope).items()}
        messages.append((event.key().encode(), encode(envelope), raw_headers))
    await produce(bootstrap, topic, messages)


async def publish_raw(
    bootstrap: str,
    topic: str,
    event_type: str,
    key: str,
    payload: dict[str, Any],
    producer: str,
    event_id: UUID | None = None,
) -> UUID:
    """An envelope written by hand: a producer newer than these contracts (an added field).
    The same `event_id` again is a redelivery."""
    event_id = event_id or new_event_id()
    envelope = {"event_id": str(event_id), "event_type": event_type, "schema_version": 1,
                "occurred_at": datetime.now(UTC).isoformat(), "producer": producer,
                "correlation_id": f"test-{event_id}", "causation_id": None, "key": key,
                "payload": payload}  # fmt: skip
    raw = json.dumps(envelope).encode()
    raw_headers = {k: v.encode() for k, v in headers(envelope).items()}
    await produce(bootstrap, topic, [(key.encode(), raw, raw_headers)])
    return event_id


__all__ = ["District", "FakeIssuer", "KeptMail", "publish", "publish_raw", "topics"]
