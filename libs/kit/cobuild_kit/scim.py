"""A small SCIM 2.0 client (RFC 7643/7644) for provisioning accounts at the identity provider.

Accounts are made through the provider's SCIM API, never by writing its tables: the seeding
of a played district, the tests, and the access service's invitations all go through
`ScimClient`. The bearer token is the provisioning client's (client credentials).

Only what Cobuild needs: create a user, read one, find one by user name, and `ensure_user`
for an idempotent seeding. Servers differ in what they accept; the request carries only the
attributes every server reads (no `primary` or `type` on emails and phones: Canaille refuses
them), and a lookup by user name checks the answer itself, because a server may ignore a
filter it does not support and return every user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_JSON = "application/scim+json"


class ScimError(Exception):
    """The SCIM server refused or failed a request."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"SCIM {status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class NewUser:
    """A person's account as the provider keeps it. The provider alone holds the password."""

    user_name: str
    display_name: str
    family_name: str
    given_name: str = ""
    email: str | None = None
    phone: str | None = None  # E.164, e.g. +8613800138000
    password: str | None = None
    preferred_language: str | None = "zh-CN"

    def resource(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": [USER_SCHEMA],
            "userName": self.user_name,
            "displayName": self.display_name,
            "name": {
                "formatted": self.display_name,
                "familyName": self.family_name,
                "givenName": self.given_name,
            },
            "active": True,
        }
        if self.email:
            body["emails"] = [{"value": self.email}]
        if self.phone:
            body["phoneNumbers"] = [{"value": self.phone}]
        if self.password:
            body["password"] = self.password
        if self.preferred_language:
            body["preferredLanguage"] = self.preferred_language
        return body


@dataclass(frozen=True)
class ScimUser:
    id: str
    user_name: str
    display_name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    active: bool

    @classmethod
    def from_resource(cls, data: dict[str, Any]) -> ScimUser:
        return cls(
            id=str(data["id"]),
            user_name=str(data.get("userName", "")),
            display_name=str(data.get("displayName") or ""),
            emails=tuple(str(e["value"]) for e in data.get("emails") or [] if "value" in e),
            phones=tuple(str(p["value"]) for p in data.get("phoneNumbers") or [] if "value" in p),
            active=bool(data.get("active", True)),
        )


class ScimClient:
    """`async with ScimClient(base_url, token) as scim: await scim.create_user(...)`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            timeout=timeout_s,
            headers={"Authorization": f"Bearer {token}", "Accept": SCIM_JSON},
            transport=transport,
        )

    async def __aenter__(self) -> ScimClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create_user(self, user: NewUser) -> ScimUser:
        response = await self._http.post(
            f"{self.base_url}/Users",
            json=user.resource(),
            headers={"Content-Type": SCIM_JSON},
        )
        if response.status_code != 201:
            raise ScimError(response.status_code, _detail(response))
        return ScimUser.from_resource(response.json())

    async def get_user(self, user_id: str) -> ScimUser | None:
        """The user of that SCIM id (Canaille also takes the user name there); None if none."""
        response = await self._http.get(f"{self.base_url}/Users/{quote(user_id, safe='')}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ScimError(response.status_code, _detail(response))
        return ScimUser.from_resource(response.json())

    async def find_user(self, user_name: str) -> ScimUser | None:
        """The user named `user_name`, by filter; the answer is checked here, not trusted."""
        escaped = user_name.replace("\\", "\\\\").replace('"', '\\"')
        response = await self._http.get(
            f"{self.base_url}/Users", params={"filter": f'userName eq "{escaped}"'}
        )
        if response.status_code != 200:
            raise ScimError(response.status_code, _detail(response))
        for resource in response.json().get("Resources") or []:
            if str(resource.get("userName", "")).lower() == user_name.lower():
                return ScimUser.from_resource(resource)
        return None

    async def ensure_user(self, user: NewUser) -> tuple[ScimUser, bool]:
        """The user, made if missing; (user, created). A second seeding changes nothing.

        Asks for the user name as an id first (one request on Canaille, which takes it
        there), then creates. A refused creation (409 by the RFC; Canaille 0.3 answers 500 to
        a taken name) is looked up by filter before it is believed: a server that ignores
        filters lists every user, so this costly path is only for that case."""
        found = await self.get_user(user.user_name)
        if found is not None and found.user_name.lower() == user.user_name.lower():
            return found, False
        try:
            return await self.create_user(user), True
        except ScimError as refused:
            if refused.status not in (409, 500):
                raise
            found = await self.find_user(user.user_name)
            if found is None:
                raise
            return found, False


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("detail") or body)[:300]
    return str(body)[:300]
