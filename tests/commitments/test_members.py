"""Assignees and participants are the obligor's registered members (hardening: "participants
and assignees may be any id, even unregistered or another unit's members, and get task points
on confirmation").

The service learns members from points.events.v1 (member.reported / transferred / left) into
its own read model; a refusal is a 422 naming the item, says "not (yet)" (the read model
follows the points service by a moment) and writes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import pytest_asyncio
from cobuild_contracts import MemberLeft, MemberReported, MemberTransferred, Role
from cobuild_kit.clock import FixedClock
from cobuild_kit.service import Runtime
from cobuild_kit.testing import TestIssuer, eventually
from commitments_support import (
    T0,
    envelope,
    item,
    members_known,
    opened,
    publish,
    publish_points,
    register_members,
    row,
    service,
    settings,
    settled,
    signed,
)

DEADLINE = date(2025, 6, 30)


class Stack:
    def __init__(self, rt: Runtime, client: httpx.AsyncClient, bootstrap: str) -> None:
        self.rt, self.client, self.bootstrap = rt, client, bootstrap


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    pg_server: object,
    kafka_bootstrap: str,
    issuer: TestIssuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    dsn = await pg_server.create_database("commitments_members")  # type: ignore[attr-defined]
    s = settings(dsn, kafka_bootstrap, tmp_path_factory.mktemp("commitments-members"))
    async with service(s, issuer, FixedClock(T0)) as (rt, client):
        yield Stack(rt, client, kafka_bootstrap)


async def claimed(stack: Stack, issuer: TestIssuer, obligor: str = "unit") -> tuple[Any, ...]:
    """A fresh agreement of a community and a unit, its one item claimed by the obligor."""
    community, unit = uuid4(), uuid4()
    by, to = (unit, community) if obligor == "unit" else (community, unit)
    it = item(by, to, DEADLINE)
    await publish(stack.bootstrap, envelope(signed(community, unit, [it])))
    await opened(stack.rt, it.commitment_id)
    role = Role.UNIT_ADMIN if obligor == "unit" else Role.COMMUNITY_ADMIN
    h = issuer.headers(role, by)
    r = await stack.client.post(f"/commitments/{it.commitment_id}/claim", headers=h)
    assert r.status_code == 200, r.text
    return community, unit, it.commitment_id, h


async def history(stack: Stack, cid: UUID) -> list[str]:
    async with stack.rt.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT event_type FROM commitment_history WHERE commitment_id = $1 ORDER BY seq", cid
        )
    return [r["event_type"] for r in rows]


def refused_item(r: httpx.Response, field: str, party: UUID, kind: str) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == field, body
    assert f"not (yet) a registered member of {kind} {party}" in body["message"], body


async def test_assignees_must_be_the_obligor_units_current_members(
    stack: Stack, issuer: TestIssuer
) -> None:
    community, unit, cid, h = await claimed(stack, issuer)
    own, other_units, gone = uuid4(), uuid4(), uuid4()
    await register_members(stack.bootstrap, stack.rt, unit, community, own, gone)
    await register_members(stack.bootstrap, stack.rt, uuid4(), community, other_units)
    await publish_points(stack.bootstrap, MemberLeft(member_id=gone, reason="moved", left_at=T0))

    async def has_left() -> bool:
        async with stack.rt.pool.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT left_at IS NOT NULL FROM members WHERE member_id = $1", gone
                )
            )

    await eventually(has_left, timeout=30)
    before = await history(stack, cid)
    url = f"/commitments/{cid}/assignees"
    for ids, failing in (
        ([own, own, uuid4()], None),  # a repeat is the domain's 422 (body.member_ids)
        ([own, uuid4()], 1),  # never registered anywhere
        ([own, other_units], 1),  # another unit's member, serving in the same community
        ([gone, own], 0),  # left
    ):
        r = await stack.client.put(url, json={"member_ids": [str(m) for m in ids]}, headers=h)
        if failing is None:
            assert r.status_code == 422 and r.json()["field"] == "body.member_ids"
        else:
            refused_item(r, f"body.member_ids.{failing}", unit, "unit")
    # Nothing half-written: no assignment, no event.
    assert (await row(stack.rt, cid) or {})["member_ids"] == []
    assert await history(stack, cid) == before

    r = await stack.client.put(url, json={"member_ids": [str(own)]}, headers=h)
    assert r.status_code == 200 and r.json()["member_ids"] == [str(own)]


async def test_every_failing_item_is_named_and_the_first_is_the_field(
    stack: Stack, issuer: TestIssuer
) -> None:
    community, unit, cid, h = await claimed(stack, issuer)
    own = uuid4()
    await register_members(stack.bootstrap, stack.rt, unit, community, own)
    ids = [own, uuid4(), uuid4(), uuid4()]
    r = await stack.client.put(
        f"/commitments/{cid}/assignees", json={"member_ids": [str(m) for m in ids]}, headers=h
    )
    refused_item(r, "body.member_ids.1", unit, "unit")
    assert "body.member_ids.2, body.member_ids.3" in r.json()["message"]


async def test_a_member_reported_a_moment_later_is_accepted_once_known(
    stack: Stack, issuer: TestIssuer
) -> None:
    """The ordering: refused while the report has not reached this service, accepted after."""
    community, unit, cid, h = await claimed(stack, issuer)
    late = uuid4()
    url = f"/commitments/{cid}/assignees"
    r = await stack.client.put(url, json={"member_ids": [str(late)]}, headers=h)
    refused_item(r, "body.member_ids.0", unit, "unit")
    await register_members(stack.bootstrap, stack.rt, unit, community, late)
    r = await stack.client.put(url, json={"member_ids": [str(late)]}, headers=h)
    assert r.status_code == 200, r.text


async def test_done_participants_must_serve_in_the_obligor_community(
    stack: Stack, issuer: TestIssuer
) -> None:
    """A community obligor: members serving in it, of any unit; one transferred away is not."""
    community, unit, cid, h = await claimed(stack, issuer, obligor="community")
    serving, elsewhere, moved = uuid4(), uuid4(), uuid4()
    await register_members(stack.bootstrap, stack.rt, uuid4(), community, serving, moved)
    await register_members(stack.bootstrap, stack.rt, unit, uuid4(), elsewhere)
    await publish_points(
        stack.bootstrap,
        MemberTransferred(
            member_id=moved,
            unit_id=unit,
            from_community_id=community,
            to_community_id=uuid4(),
            transferred_at=T0,
        ),
    )

    async def moved_away() -> bool:
        async with stack.rt.pool.acquire() as conn:
            got = await conn.fetchval(
                "SELECT community_id FROM members WHERE member_id = $1", moved
            )
        return bool(got != community)

    await eventually(moved_away, timeout=30)
    url = f"/commitments/{cid}/done"
    for who, at in (([serving, elsewhere], 1), ([moved, serving], 0)):
        body = {"participants": [{"member_id": str(m), "hours": "2"} for m in who]}
        r = await stack.client.post(url, json=body, headers=h)
        refused_item(r, f"body.participants.{at}.member_id", community, "community")
    got = await row(stack.rt, cid) or {}
    assert (got["status"], got["done_at"], got["participants"]) == ("claimed", None, [])

    body = {"participants": [{"member_id": str(serving), "hours": "2"}]}
    r = await stack.client.post(url, json=body, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "done_pending_confirmation"


async def test_confirm_participants_are_checked_too(stack: Stack, issuer: TestIssuer) -> None:
    """The beneficiary's replacement participants: the same rule, the obligor's members."""
    community, unit, cid, h = await claimed(stack, issuer)
    own, stranger = uuid4(), uuid4()
    await register_members(stack.bootstrap, stack.rt, unit, community, own)
    done = {"participants": [{"member_id": str(own), "hours": "1.5"}]}
    assert (await stack.client.post(f"/commitments/{cid}/done", json=done, headers=h)).is_success
    beneficiary = issuer.headers(Role.COMMUNITY_ADMIN, community)
    body = {
        "participants": [
            {"member_id": str(own), "hours": "1"},
            {"member_id": str(stranger), "hours": "9"},
        ]
    }
    r = await stack.client.post(f"/commitments/{cid}/confirm", json=body, headers=beneficiary)
    refused_item(r, "body.participants.1.member_id", unit, "unit")
    assert (await row(stack.rt, cid) or {})["status"] == "done_pending_confirmation"
    r = await stack.client.post(f"/commitments/{cid}/confirm", json={}, headers=beneficiary)
    assert r.status_code == 200 and r.json()["participants"] == [
        {"member_id": str(own), "hours": "1.5"}
    ]


async def test_a_member_who_left_and_reported_again_is_current(
    stack: Stack, issuer: TestIssuer
) -> None:
    """The read model applies member.* in order, in one batch or several."""
    community, unit, cid, h = await claimed(stack, issuer)
    back = uuid4()
    await publish_points(
        stack.bootstrap,
        MemberReported(member_id=back, unit_id=unit, community_id=community, reported_at=T0),
        MemberLeft(member_id=back, reason="moved", left_at=T0 + timedelta(days=1)),
        MemberReported(
            member_id=back, unit_id=unit, community_id=community, reported_at=T0 + timedelta(days=2)
        ),
    )
    await members_known(stack.rt, back)
    await settled(stack.rt)  # all three applied
    r = await stack.client.put(
        f"/commitments/{cid}/assignees", json={"member_ids": [str(back)]}, headers=h
    )
    assert r.status_code == 200, r.text
