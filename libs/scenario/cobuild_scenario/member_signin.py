"""Members who sign in for real: the played year's members of one community go the whole
path a member with a phone goes (issue 33, "Members and experts").

An account at the provider (SCIM), a sign-in and an exchange without a grant: a `person`
token. With it the member reports (报到) as themself, naming their unit, which links the
sign-in to the member in the points service. The community worker accepts the report;
`member.reported` names the subject, and the access service grants the member role from it.
The member then exchanges for that grant and acts in the year with the token it gives.

The first 64 members of one community, not the district's 5,000: each costs six requests and
a password check at the provider (65 took 11 s of the small district's set-up on two cores), so
5,000 would spend the main job's time budget on sign-ins alone (docs/ARCHITECTURE.md, "The
played year's people"). The others keep development tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from cobuild_kit.scim import NewUser
from cobuild_stack import accounts

from .actors import Api
from .plan import Member, Plan
from .signin import REFRESH_EVERY_S, StaffSignIn

log = logging.getLogger(__name__)
# How long the access service may take to learn a grant from `member.reported`.
GRANT_WAIT_S = 120.0
HOW_MANY = 64


@dataclass(frozen=True)
class SignedInMember:
    index: int  # the member's index in the plan
    user_name: str
    community: str  # the community's name, for the accounts file


class MemberSignIn:
    """Accounts, person tokens, reports as a person, then the member grants' tokens."""

    def __init__(self, staff: StaffSignIn, plan: Plan, members: dict[int, str]) -> None:
        self.staff = staff
        self.api: Api = staff.api
        self.plan = plan
        self.members = members  # plan index → member id, filled by the set-up
        first = plan.communities[0]
        self.people = [
            SignedInMember(m.index, f"member-{m.index:05d}", first.name)
            for m in plan.members
            if m.community == first.code
        ][:HOW_MANY]
        self._persons: dict[int, str] = {}  # plan index → the person's Cobuild token
        # plan index → the provider's tokens of the first sign-in, used once for the grant
        # (they live minutes; the set-up between takes seconds)
        self._signed_in: dict[int, accounts.ProviderTokens] = {}
        self._refresher: asyncio.Task[None] | None = None

    def signs_in(self, index: int) -> bool:
        return any(p.index == index for p in self.people)

    async def accounts(self) -> None:
        """An account each, then a sign-in and an exchange without a grant."""
        t0 = time.monotonic()
        users = [
            NewUser(
                user_name=p.user_name,
                display_name=self._member(p).name,
                family_name=self._member(p).name[:1],
                password=self.staff.password,
            )
            for p in self.people
        ]
        chunks = [users[i : i + 50] for i in range(0, len(users), 50)]
        await asyncio.gather(*(accounts.provision(self.staff.provider, *c) for c in chunks))
        await self.staff.bounded(self._as_person(p) for p in self.people)
        self._took = time.monotonic() - t0

    async def report(self, index: int, unit_id: str) -> None:
        """报到 as a person: the points service links the sign-in to the member."""
        member_id = self.members[index]
        await self.api.request(
            "points",
            "POST",
            f"/members/{member_id}/report",
            token=self._persons[index],
            json={"unit_id": unit_id},
        )

    async def take_grants(self, say: Any) -> None:
        """Once the reports are accepted: each member's grant, exchanged for its token."""
        t0 = time.monotonic()
        await self.staff.bounded(self._take_grant(p, wait=True) for p in self.people)
        say(
            f"members: {len(self.people)} of one community signed in for real (accounts and "
            f"person tokens in {self._took:.0f} s, their member grants' tokens in "
            f"{time.monotonic() - t0:.0f} s); the others use development tokens"
        )
        self._refresher = asyncio.create_task(self._refresh_forever())

    async def aclose(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher

    def account_rows(self) -> list[dict[str, str]]:
        return [
            {"user_name": p.user_name, "role": "member", "party": p.community} for p in self.people
        ]

    def example(self) -> SignedInMember | None:
        return self.people[0] if self.people else None

    # -- steps ---------------------------------------------------------------------------

    def _member(self, p: SignedInMember) -> Member:
        return self.plan.members[p.index]

    async def _exchange(self, subject_token: str, grant_id: str | None) -> dict[str, Any]:
        answer = await self.api.request(
            "access",
            "POST",
            "/exchange",
            json={"subject_token": subject_token, "grant_id": grant_id},
        )
        body: dict[str, Any] = answer.json()
        return body

    async def _as_person(self, p: SignedInMember) -> None:
        tokens = await self.staff.sign_in(p.user_name)
        self._persons[p.index] = str(
            (await self._exchange(tokens.access_token, None))["access_token"]
        )

    async def _take_grant(self, p: SignedInMember, *, wait: bool) -> None:
        """Sign in, find the member grant (waiting for the access service to learn it from
        `member.reported`), exchange for it; later requests carry that token."""
        member_id = self.members[p.index]
        tokens = self._signed_in.pop(p.index, None) or await self.staff.sign_in(p.user_name)
        person = self._persons.pop(p.index, None) or str(
            (await self._exchange(tokens.access_token, None))["access_token"]
        )
        deadline = time.monotonic() + (GRANT_WAIT_S if wait else 0.0)
        while True:
            answer = await self.api.request("access", "GET", "/me/grants", token=person)
            grant = next(
                (
                    g
                    for g in answer.json()["items"]
                    if g["role"] == "member" and str(g["party_id"]) == member_id
                ),
                None,
            )
            if grant is not None:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"no member grant for {p.user_name} ({member_id})")
            await asyncio.sleep(0.5)
        taken = await self._exchange(tokens.access_token, str(grant["grant_id"]))
        self.api.tokens.use("member", member_id, str(taken["access_token"]))

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_EVERY_S)
            try:
                await self.staff.bounded(self._take_grant(p, wait=False) for p in self.people)
            except Exception as exc:  # the tokens held still work until they expire
                log.warning("members' tokens not refreshed: %r", exc)
