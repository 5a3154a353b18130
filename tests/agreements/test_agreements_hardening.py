"""What a hostile user and a careless one broke: lax booleans, concurrent bootstrap of one
party, concurrent bulk publish of one client need id."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

from agreements_support import Service, build_world, need_body
from cobuild_contracts import Role


async def _count(s: Service, sql: str, *args: Any) -> int:
    async with s.rt.pool.acquire() as conn:
        return int(await conn.fetchval(sql, *args))


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "community_id"}


# --- lax booleans (the walk over every service: tests/contracts/test_strict_booleans.py) --


async def test_active_takes_a_json_boolean_only(agreements_service: Service) -> None:
    s = agreements_service
    w = await build_world(s)
    admin = s.as_(Role.STREET_ADMIN, w.street)
    url = f"/parties/{w.community}"
    for lax in (0, 1, "yes", "false", 0.0):
        r = await s.client.patch(url, json={"active": lax}, headers=admin)
        assert r.status_code == 422, (lax, r.text)
        assert r.json()["field"] == "body.active"
    shown = await s.ok("GET", url, Role.STREET_ADMIN, w.street)
    assert shown["active"] is True and shown["version"] == 1
    done = await s.ok("PATCH", url, Role.STREET_ADMIN, w.street, json={"active": False})
    assert done["active"] is False


# --- concurrent bootstrap of one party ------------------------------------------------


async def test_concurrent_bootstrap_of_one_party_is_one_201(agreements_service: Service) -> None:
    s = agreements_service
    district = uuid4()
    headers = s.as_(Role.DISTRICT_ADMIN, district)
    body = {"party_id": str(district), "kind": "district", "name": "并发区"}
    answers = await asyncio.gather(
        *(s.client.post("/parties", json=body, headers=headers) for _ in range(10))
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [409] * 9, [r.text for r in answers]
    assert all(r.json()["field"] == "body.party_id" for r in answers if r.status_code == 409)
    assert await _count(s, "SELECT count(*) FROM party WHERE party_id = $1", district) == 1
    assert await _count(s, "SELECT count(*) FROM outbox WHERE key = $1", str(district)) == 1

    # The same for one code claimed by ten new streets at once: one is registered.
    code = f"ST-{uuid4().hex[:8]}"
    answers = await asyncio.gather(
        *(
            s.client.post(
                "/parties",
                json={"kind": "street", "name": f"街道{n}", "parent_id": str(district),
                      "code": code},
                headers=headers,
            )
            for n in range(10)
        )
    )  # fmt: skip
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [422] * 9, [r.text for r in answers]
    assert all(r.json()["field"] == "body.code" for r in answers if r.status_code == 422)
    assert await _count(s, "SELECT count(*) FROM party WHERE code = $1", code) == 1


# --- concurrent bulk publish of one client need id ------------------------------------


async def test_concurrent_bulk_with_one_need_id_never_fails(agreements_service: Service) -> None:
    s = agreements_service
    w = await build_world(s)
    community = s.as_(Role.COMMUNITY_ADMIN, w.community)
    url = f"/communities/{w.community}/needs/bulk"
    need_id = str(uuid4())
    item = {**_fields(need_body(w.community)), "need_id": need_id}
    # The same item ten times at once, no Idempotency-Key: one need, every answer names it.
    answers = await asyncio.gather(
        *(s.client.post(url, json={"items": [item]}, headers=community) for _ in range(10))
    )
    assert all(r.status_code in (201, 409) for r in answers), [r.text for r in answers]
    assert any(r.status_code == 201 for r in answers)
    for r in answers:
        if r.status_code == 201:
            assert r.json()["items"][0]["need_id"] == need_id
        else:
            assert r.json()["items"][0]["field"] == "body.items.0.need_id"
    assert await _count(s, "SELECT count(*) FROM need WHERE need_id = $1", UUID(need_id)) == 1
    published = "SELECT count(*) FROM outbox WHERE key = $1 AND event_type = 'need.published'"
    assert await _count(s, published, need_id) == 1

    # Ten different items under one new id at once: one is published, the rest are 409
    # naming the item.
    other = str(uuid4())
    answers = await asyncio.gather(
        *(
            s.client.post(
                url, json={"items": [{**item, "need_id": other, "quantity": n + 1}]},
                headers=community,
            )
            for n in range(10)
        )
    )  # fmt: skip
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [409] * 9, [r.text for r in answers]
    for r in answers:
        if r.status_code == 409:
            assert r.json()["items"][0]["field"] == "body.items.0.need_id"
    assert await _count(s, published, other) == 1


async def test_a_clash_the_lock_missed_is_a_409_naming_the_item(
    agreements_service: Service, monkeypatch: Any
) -> None:
    """The backstop behind the lock: with the lock gone, the unique key's clash is still a
    409 naming the item, with nothing written."""
    from cobuild_agreements.store import lists

    async def no_lock(conn: Any, need_ids: Any) -> None:
        return None

    monkeypatch.setattr(lists, "lock_need_ids", no_lock, raising=False)
    s = agreements_service
    w = await build_world(s)
    community = s.as_(Role.COMMUNITY_ADMIN, w.community)
    url = f"/communities/{w.community}/needs/bulk"
    need_id = str(uuid4())
    item = {**_fields(need_body(w.community)), "need_id": need_id}
    answers = await asyncio.gather(
        *(s.client.post(url, json={"items": [item]}, headers=community) for _ in range(10))
    )
    assert all(r.status_code in (201, 409) for r in answers), [r.text for r in answers]
    assert any(r.status_code == 201 for r in answers)
    assert any(r.status_code == 409 for r in answers)  # the race did happen
    for r in answers:
        if r.status_code == 409:
            assert r.json()["items"][0]["field"] == "body.items.0.need_id"
    published = "SELECT count(*) FROM outbox WHERE key = $1 AND event_type = 'need.published'"
    assert await _count(s, published, need_id) == 1
