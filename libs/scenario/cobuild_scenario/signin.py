"""The district's staff as real people: accounts at the provider, grants at the access
service, tokens through the exchange (issue 33, "Seeding").

Everything goes through the interfaces a deployment has, never their tables: accounts through
the provider's SCIM API, the first district admin through the access service's bootstrap (as
`cobuild access grant` does), every other grant by the admin above it under the delegation
rules (the district admin grants street and unit admins, each street admin its communities'
workers), and each person's Cobuild token by signing in at the provider (its pages, or the
password grant of the main job's own client) and exchanging the provider's token for the
grant. The year is then played with those tokens.

One community's members sign in too (cobuild_scenario.member_signin); the others keep
development tokens (`cobuild token`'s key): 5,000 sign-ins and exchanges would spend the main
job's budget on the provider alone (docs/ARCHITECTURE.md, "The played year's people").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt
from cobuild_kit.scim import NewUser
from cobuild_stack import accounts
from cobuild_stack.discovery import ProviderInfo, write_private

from .actors import Api
from .plan import Plan

T = TypeVar("T")
log = logging.getLogger(__name__)

# Sign-ins at once: the provider is one process on the same two cores as everything else.
CONCURRENCY = 8
# Cobuild tokens live 15 minutes; a long run (the fault suite) signs in again before then.
REFRESH_EVERY_S = 10 * 60
ACCOUNTS_FILE = "accounts.json"
# The staff's mail addresses in their notification settings (the catcher delivers nothing).
MAIL_DOMAIN = "staff.cobuild.localhost"


@dataclass(frozen=True)
class Staff:
    """One person who administers one party."""

    role: str
    code: str  # the party's code in the plan ("D1" for the district)
    user_name: str
    display_name: str
    family_name: str


def staff_of(plan: Plan) -> list[Staff]:
    """A district admin, a secretary per street, a worker per community, an administrator per
    unit. Names say the post, as a shared office account would; a real person's name is
    theirs to enter at the provider."""
    people = [Staff("district_admin", "D1", "district-admin", "示范区管理员", "示范区")]
    people += [
        Staff("street_admin", s.code, f"street-{s.code.lower()}", f"{s.name}管理员", s.name)
        for s in plan.streets
    ]
    people += [
        Staff(
            "community_admin",
            c.code,
            f"community-{c.code.lower()}",
            f"{c.name}工作者",
            c.name,
        )
        for c in plan.communities
    ]
    people += [
        Staff("unit_admin", u.code, f"unit-{u.code.lower()}", f"{u.name}管理员", u.name)
        for u in plan.units
    ]
    return people


class StaffSignIn:
    """Provision, grant and sign in the staff, then keep their tokens fresh."""

    def __init__(
        self,
        api: Api,
        provider: ProviderInfo,
        plan: Plan,
        parties: dict[str, str],
        say: Callable[[str], None],
    ) -> None:
        self.api = api
        self.provider = provider
        self.plan = plan
        self.parties = parties  # plan code → party id, filled by the set-up
        self.say = say
        self.password = secrets.token_urlsafe(9)
        self.staff = staff_of(plan)
        self.grants: dict[str, str] = {}  # user name → grant id
        self.subjects: dict[str, str] = {}  # user name → the provider's subject
        self._gate = asyncio.Semaphore(CONCURRENCY)
        self._refresher: asyncio.Task[None] | None = None

    async def seed(self) -> None:
        """Accounts, grants and tokens for every staff member; afterwards their requests
        carry exchanged tokens. Each person's provider token is exchanged right after the
        sign-in (it lives minutes), so the grants come first: the subjects are known from
        the accounts, checked against the first sign-in's ID token."""
        t0 = time.monotonic()
        users = [
            NewUser(
                user_name=p.user_name,
                display_name=p.display_name,
                family_name=p.family_name,
                password=self.password,
            )
            for p in self.staff
        ]
        chunks = [users[i : i + 50] for i in range(0, len(users), 50)]
        made = await asyncio.gather(*(accounts.provision(self.provider, *c) for c in chunks))
        scim_ids = {user.user_name: user.id for chunk in made for user, _ in chunk}
        t1 = time.monotonic()
        district = self.staff[0]
        first = await self.sign_in(district.user_name)
        # (The password grant gives no ID token; the access token is a JWT too.)
        token = first.id_token or first.access_token
        sub = str(jwt.decode(token, options={"verify_signature": False})["sub"])
        # The provider's subject is its SCIM id on some providers and the user name on
        # others (Canaille 0.3.6 gives the user name as `sub`): learn which from one sign-in.
        if sub == scim_ids[district.user_name]:
            self.subjects = {p.user_name: scim_ids[p.user_name] for p in self.staff}
        elif sub == district.user_name:
            self.subjects = {p.user_name: p.user_name for p in self.staff}
        else:
            raise RuntimeError(
                f"the provider's subject {sub!r} is neither the SCIM id nor the name"
            )
        await self._grant_all(first)
        t2 = time.monotonic()
        done = {district.user_name, *(p.user_name for p in self.staff if p.role == "street_admin")}
        await self.bounded(
            self._exchange_one(p, None) for p in self.staff if p.user_name not in done
        )
        t3 = time.monotonic()
        if "notifications" in self.api.urls:
            await self.bounded(self._mail_address(p) for p in self.staff)
        self.say(
            f"staff: {len(self.staff)} accounts through SCIM in {t1 - t0:.0f} s, their grants "
            f"in {t2 - t1:.0f} s, sign-ins and exchanges in {t3 - t2:.0f} s"
        )
        self._refresher = asyncio.create_task(self._refresh_forever())

    async def aclose(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher

    def write(
        self, var_dir: Path, console_url: str | None, more: list[dict[str, str]] | None = None
    ) -> Path:
        """The sign-ins, for the person at the keyboard (owner-only: it holds the password);
        `more`: other accounts with the same password (the members who sign in)."""
        path = var_dir / ACCOUNTS_FILE
        body = {
            "console": console_url,
            "password": self.password,
            "accounts": [
                {"user_name": p.user_name, "role": p.role, "party": p.display_name}
                for p in self.staff
            ]
            + (more or []),
        }
        write_private(path, json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        return path

    def examples(self) -> dict[str, Staff]:
        """The first person of each role, for the printed sign-in lines."""
        first: dict[str, Staff] = {}
        for p in self.staff:
            first.setdefault(p.role, p)
        return first

    # -- steps ---------------------------------------------------------------------------

    async def bounded(self, jobs: Iterable[Awaitable[T]]) -> list[T]:
        async def one(job: Awaitable[T]) -> T:
            async with self._gate:
                return await job

        return list(await asyncio.gather(*(one(j) for j in jobs)))

    async def sign_in(self, user_name: str) -> accounts.ProviderTokens:
        """The provider's pages, as a person signs in; or, when the main job's stack
        registered its own client (ProviderSettings.driver_client), the password grant:
        one request instead of eight, which is what the district's 370 sign-ins cost."""
        driver = self.provider["clients"].get("driver")
        if driver is None:
            return await accounts.sign_in(self.provider, user_name, self.password)
        async with httpx.AsyncClient(timeout=30.0) as http:
            answer = await http.post(
                self.provider["token_endpoint"],
                data={
                    "grant_type": "password",
                    "username": user_name,
                    "password": self.password,
                    "scope": "openid profile",
                },
                auth=(driver["client_id"], driver["client_secret"]),
            )
        if answer.status_code != 200:
            raise RuntimeError(f"sign-in of {user_name}: {answer.status_code} {answer.text[:200]}")
        return accounts.ProviderTokens.from_json(answer.json())

    async def _grant_all(self, district_tokens: accounts.ProviderTokens) -> None:
        district = self.staff[0]
        operator = self.api.tokens.token("operator", self.parties["D1"])
        answer = await self.api.request(
            "access",
            "POST",
            "/bootstrap/grants",
            token=operator,
            json={
                "subject": self.subjects[district.user_name],
                "role": district.role,
                "party_id": self.parties["D1"],
            },
            ok=(201,),
        )
        self.grants[district.user_name] = str(answer.json()["grant_id"])
        by_role: dict[str, list[Staff]] = {}
        for p in self.staff[1:]:
            by_role.setdefault(p.role, []).append(p)
        # The district admin's own token first: it grants the streets and the units. (The
        # provider's tokens of the sign-in above: a second sign-in by the same person within
        # a second is a 500 at Canaille 0.3.6.)
        await self._exchange_one(district, district_tokens)
        street_of = {c.code: c.street for c in self.plan.communities}
        await self.bounded(
            self._grant(p, "district_admin", "D1")
            for p in by_role.get("street_admin", []) + by_role.get("unit_admin", [])
        )
        await self.bounded(self._exchange_one(p, None) for p in by_role.get("street_admin", []))
        await self.bounded(
            self._grant(p, "street_admin", street_of[p.code])
            for p in by_role.get("community_admin", [])
        )

    async def _grant(self, p: Staff, granter_role: str, granter_code: str) -> None:
        granter = self.api.tokens.token(granter_role, self.parties[granter_code])
        answer = await self.api.request(
            "access",
            "POST",
            "/grants",
            token=granter,
            json={
                "subject": self.subjects[p.user_name],
                "role": p.role,
                "party_id": self.parties[p.code],
            },
            ok=(201,),
        )
        self.grants[p.user_name] = str(answer.json()["grant_id"])

    async def _exchange_one(self, p: Staff, tokens: accounts.ProviderTokens | None) -> None:
        """Sign in (unless given the provider's tokens) and exchange for the grant."""
        if tokens is None:
            tokens = await self.sign_in(p.user_name)
        answer = await self.api.request(
            "access",
            "POST",
            "/exchange",
            json={"subject_token": tokens.access_token, "grant_id": self.grants[p.user_name]},
        )
        self.api.tokens.use(p.role, self.parties[p.code], str(answer.json()["access_token"]))

    async def _mail_address(self, p: Staff) -> None:
        """The person enters a mail address in their notification settings (kept by the
        notifications service only), so the played year's notifications reach the stack's
        mail catcher as well as the workbench's inbox."""
        await self.api.request(
            "notifications",
            "PUT",
            "/preferences",
            json={"email": f"{p.user_name}@{MAIL_DOMAIN}"},
            token=self.api.tokens.token(p.role, self.parties[p.code]),
        )

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_EVERY_S)
            try:
                await self.bounded(self._exchange_one(p, None) for p in self.staff)
            except Exception as exc:  # the tokens held still work until they expire
                log.warning("staff tokens not refreshed: %r", exc)


def provider_of(info: Any) -> ProviderInfo | None:
    """The embedded provider, when the stack runs one and the access service beside it."""
    provider = info.get("provider")
    if provider is None or "access" not in info.get("services", {}):
        return None
    return provider  # type: ignore[no-any-return]
