"""The access service: the token exchange (a provider token for a Cobuild token of one
grant, or a `person` token) and the signed-in person's grants for the role switch."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable, forwarded


class ExchangeRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"exchange refused ({status}): {message}")
        self.status = status


@dataclass(frozen=True)
class CobuildToken:
    token: str
    expires_at: float
    role: str
    party_id: str
    grant_id: str | None

    def fresh(self, margin_s: float = 60.0) -> bool:
        return time.time() + margin_s < self.expires_at


@dataclass(frozen=True)
class Grant:
    grant_id: str
    role: str
    party_id: str
    party_name: str


class InvitationRefused(Exception):
    """The access service would not show or accept an invitation link: 404 (no such link),
    409 (used), 410 (expired, withdrawn, or its inviter no longer holds the role), 429."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"invitation refused ({status}): {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Invitation:
    """What a link invites to, as the access service previews it (no token needed)."""

    role: str
    party_name: str | None
    expires_at: datetime
    state: str  # open | accepted | withdrawn | expired


class Access:
    """The access service limits exchanges and invitation-link lookups per address: every call
    carries the browser's (gateways.services.forwarded), as to the other services."""

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url.rstrip("/")
        self.http = http

    async def exchange(self, subject_token: str, grant_id: str | None) -> CobuildToken:
        try:
            answer = await self.http.post(
                f"{self.url}/exchange",
                json={"subject_token": subject_token, "grant_id": grant_id},
                headers=forwarded(),
            )
        except httpx.HTTPError as exc:
            raise ExchangeRefused(503, type(exc).__name__) from exc
        if answer.status_code != 200:
            raise ExchangeRefused(answer.status_code, _message(answer))
        body = answer.json()
        return CobuildToken(
            token=body["access_token"],
            expires_at=time.time() + float(body.get("expires_in", 900)),
            role=str(body["role"]),
            party_id=str(body["party_id"]),
            grant_id=str(body["grant_id"]) if body.get("grant_id") else None,
        )

    async def grants(self, token: str) -> list[Grant]:
        try:
            answer = await self.http.get(
                f"{self.url}/me/grants", headers=forwarded({"Authorization": f"Bearer {token}"})
            )
        except httpx.HTTPError as exc:
            raise ExchangeRefused(503, type(exc).__name__) from exc
        if answer.status_code != 200:
            raise ExchangeRefused(answer.status_code, _message(answer))
        return [_grant(g) for g in _items(answer.json())]

    async def invitation(self, link_token: str) -> Invitation:
        answer = await self._link("GET", link_token, None)
        body = answer.json()
        return Invitation(
            role=str(body["role"]),
            party_name=body.get("party_name"),
            expires_at=datetime.fromisoformat(str(body["expires_at"])),
            state=str(body["state"]),
        )

    async def accept_invitation(self, person_token: str, link_token: str) -> Grant:
        """The invitation becomes the signed-in person's grant (a `person` token is enough)."""
        return _grant((await self._link("POST", link_token, person_token)).json())

    async def _link(self, method: str, link_token: str, bearer: str | None) -> httpx.Response:
        path = f"/invitation-links/{quote(link_token, safe='')}"
        headers = forwarded({"Authorization": f"Bearer {bearer}"} if bearer else {})
        try:
            answer = await self.http.request(
                method,
                f"{self.url}{path}{'/accept' if method == 'POST' else ''}",
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable("access", type(exc).__name__) from exc
        if answer.status_code >= 500:
            raise ServiceUnavailable("access", f"HTTP {answer.status_code}")
        if answer.status_code == 401:  # the person token: the sign-in is over
            raise ExchangeRefused(401, _message(answer))
        if answer.status_code >= 400:
            raise InvitationRefused(answer.status_code, _message(answer))
        return answer

    async def record_on_behalf(
        self, token: str, action: str, party_id: str | None, detail: str
    ) -> None:
        """An act done for someone else (代录), in the access audit under the acting person
        (the token's subject and grant)."""
        body: dict[str, Any] = {"action": action, "detail": detail[:500]}
        if party_id:
            body["party_id"] = party_id
        try:
            answer = await self.http.post(
                f"{self.url}/audit/on-behalf",
                json=body,
                headers=forwarded({"Authorization": f"Bearer {token}"}),
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable("access", type(exc).__name__) from exc
        if answer.status_code >= 500:
            raise ServiceUnavailable("access", f"HTTP {answer.status_code}")
        if answer.status_code >= 400:
            raise ServiceRefusal("access", answer.status_code, {"message": _message(answer)})


def _items(body: Any) -> list[dict[str, Any]]:
    """A page (`items`), a `grants` list or a bare list: the shapes such a listing takes."""
    if isinstance(body, dict):
        body = body.get("items", body.get("grants", []))
    return [g for g in body if isinstance(g, dict)] if isinstance(body, list) else []


def _grant(g: dict[str, Any]) -> Grant:
    nested = g.get("party")
    party: dict[str, Any] = nested if isinstance(nested, dict) else {}
    name = g.get("party_name") or party.get("name") or str(g.get("party_id", ""))
    return Grant(
        grant_id=str(UUID(str(g["grant_id"]))),
        role=str(g["role"]),
        party_id=str(g.get("party_id") or party.get("party_id")),
        party_name=str(name),
    )


def _message(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("message", answer.text[:200]))
    except ValueError:
        return answer.text[:200]
