"""A unit's resources list in one command (POST /units/{unit_id}/resources/bulk): every
resource or none, every refused item named, the unit admin's authority only, each resource
matched as one offered alone, and items with ids of the client's own safe to send again."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

from agreements_support import Service, build_world, need_body
from cobuild_contracts import Role


async def _count(s: Service, sql: str, *args: Any) -> int:
    async with s.rt.pool.acquire() as conn:
        return int(await conn.fetchval(sql, *args))


def resource(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "happy_compound",
        "kind": "task",
        "title": "电工志愿服务队",
        "capacity": 60,
        "capacity_unit": "lamps",
        "funds_fen": 2_000_000,
        "available_from": "2025-03-01",
        "available_until": "2025-12-31",
    }
    body.update(kw)
    return body


async def test_bulk_offers_every_resource_or_none(agreements_service: Service) -> None:
    s = agreements_service
    w = await build_world(s)
    unit = s.as_(Role.UNIT_ADMIN, w.unit)
    url = f"/units/{w.unit}/resources/bulk"
    good = [resource(title=f"志愿服务 {n}") for n in range(5)]
    outbox = await _count(s, "SELECT count(*) FROM outbox")

    # Bad items among good ones: nothing written, no event, every bad item and field named.
    bad = [*good]
    bad[1] = {**bad[1], "category": "space_travel"}
    bad[2] = {**bad[2], "available_until": "2025-02-01"}
    bad[4] = {**bad[4], "community_ids": [str(w.community), str(uuid4())]}
    r = await s.client.post(url, json={"items": bad}, headers=unit)
    assert r.status_code == 422, r.text
    refused = r.json()
    assert refused["field"] == "body.items"
    assert refused["message"] == "3 of 5 item(s) refused; nothing was offered"
    assert [(i["index"], i["field"]) for i in refused["items"]] == [
        (1, "body.items.1.category"),
        (2, "body.items.2.available_until"),
        (4, "body.items.4.community_ids.1"),
    ]
    assert "valid: " in refused["items"][0]["message"]
    assert "is not a registered community" in refused["items"][2]["message"]
    # A refusal of the schema is given per item too.
    r = await s.client.post(
        url, json={"items": [good[0], {**good[1], "capacity": 0}]}, headers=unit
    )
    assert r.status_code == 422
    assert [(i["index"], i["field"]) for i in r.json()["items"]] == [(1, "body.items.1.capacity")]
    # A unit_id in an item is not the item's to say: the path names the unit.
    r = await s.client.post(
        url, json={"items": [{**good[0], "unit_id": str(w.unit)}]}, headers=unit
    )
    assert r.status_code == 422 and r.json()["items"][0]["field"] == "body.items.0.unit_id"
    # At most 1,000 items.
    r = await s.client.post(url, json={"items": [good[0]] * 1001}, headers=unit)
    assert r.status_code == 422 and r.json()["field"] == "body.items"
    assert await _count(s, "SELECT count(*) FROM resource WHERE unit_id = $1", w.unit) == 0
    assert await _count(s, "SELECT count(*) FROM outbox") == outbox

    # Only the unit's own admin: not another unit's, not the paired community's admin.
    for role, party in (
        (Role.UNIT_ADMIN, w.other_unit),
        (Role.COMMUNITY_ADMIN, w.community),
        (Role.DISTRICT_ADMIN, w.district),
    ):
        r = await s.client.post(url, json={"items": good}, headers=s.as_(role, party))
        assert r.status_code == 403, (role, r.text)
    r = await s.client.post(f"/units/{uuid4()}/resources/bulk", json={"items": good}, headers=unit)
    assert r.status_code in (403, 404)
    assert await _count(s, "SELECT count(*) FROM resource WHERE unit_id = $1", w.unit) == 0

    # All good: one resource each, in order, each offered (an event) and matched, as one
    # offered alone would be.
    need = await s.ok(
        "POST", "/needs", Role.COMMUNITY_ADMIN, w.community, json=need_body(w.community)
    )
    items = [*good[:4], {**good[4], "community_ids": [str(w.community)]}]
    r = await s.client.post(url, json={"items": items}, headers=unit)
    assert r.status_code == 201, r.text
    done = r.json()
    assert [(i["index"], i["version"], i["warnings"]) for i in done["items"]] == [
        (n, 1, []) for n in range(5)
    ]
    ids = [i["resource_id"] for i in done["items"]]
    listed = await s.ok(
        "GET", "/resources", Role.UNIT_ADMIN, w.unit, params={"unit_id": str(w.unit)}
    )
    assert {x["resource_id"] for x in listed["items"]} == set(ids)
    last = await s.ok("GET", f"/resources/{ids[4]}", Role.UNIT_ADMIN, w.unit)
    assert last["community_ids"] == [str(w.community)] and last["title"] == "志愿服务 4"
    offered = await _count(
        s, "SELECT count(*) FROM outbox WHERE event_type = 'resource.offered' AND key = ANY($1)",
        ids,
    )  # fmt: skip
    assert offered == 5
    for resource_id in ids:
        matched = await s.ok("GET", f"/resources/{resource_id}/matches", Role.UNIT_ADMIN, w.unit)
        assert need["need_id"] in [m["need_id"] for m in matched["items"]]


async def test_bulk_resources_with_their_own_ids_can_be_sent_again(
    agreements_service: Service,
) -> None:
    s = agreements_service
    w = await build_world(s)
    unit = s.as_(Role.UNIT_ADMIN, w.unit)
    url = f"/units/{w.unit}/resources/bulk"
    ids = [str(uuid4()) for _ in range(3)]
    items = [
        resource(title=f"场地 {n}", resource_id=ids[n], description="联系 13812345678")
        for n in range(3)
    ]
    first = await s.client.post(url, json={"items": items[:2]}, headers=unit)
    assert first.status_code == 201, first.text
    assert [i["resource_id"] for i in first.json()["items"]] == ids[:2]
    # Personal data in the text is named (and published masked), as for one resource.
    assert [w_["field"] for w_ in first.json()["items"][0]["warnings"]] == [
        "body.items.0.description"
    ]
    outbox = await _count(s, "SELECT count(*) FROM outbox")
    again = await s.client.post(url, json={"items": items}, headers=unit)
    assert again.status_code == 201, again.text
    answered = again.json()["items"]
    assert [(i["resource_id"], i["version"]) for i in answered] == [(x, 1) for x in ids]
    assert answered[1]["warnings"][0]["field"] == "body.items.1.description"
    # Only the new third resource was offered: the first two are as they were.
    offered = "SELECT count(*) FROM outbox WHERE event_type = 'resource.offered' AND key = ANY($1)"
    assert await _count(s, offered, ids) == 3
    assert await _count(s, "SELECT count(*) FROM outbox") > outbox
    # The same items once more: nothing changes at all, no event either.
    outbox = await _count(s, "SELECT count(*) FROM outbox")
    again = await s.client.post(url, json={"items": items}, headers=unit)
    assert again.status_code == 201, again.text
    assert await _count(s, "SELECT count(*) FROM outbox") == outbox

    # An id that exists with other content is a conflict naming the item, nothing written.
    r = await s.client.post(
        url, json={"items": [resource(title="新的"), {**items[0], "capacity": 7}]}, headers=unit
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "conflict"
    assert [(i["index"], i["field"]) for i in r.json()["items"]] == [
        (1, "body.items.1.resource_id")
    ]
    assert "revise it with PUT /resources/" in r.json()["items"][0]["message"]
    # So is another unit's resource of the same id (same content or not).
    other = s.as_(Role.UNIT_ADMIN, w.other_unit)
    r = await s.client.post(
        f"/units/{w.other_unit}/resources/bulk", json={"items": [items[0]]}, headers=other
    )
    assert r.status_code == 409 and r.json()["items"][0]["field"] == "body.items.0.resource_id"
    # A resource revised since is answered as it stands (the item is what it was first
    # offered as): re-sending an old file does not undo the revision.
    await s.ok(
        "PUT", f"/resources/{ids[2]}", Role.UNIT_ADMIN, w.unit,
        json={k: v for k, v in items[2].items() if k != "resource_id"} | {"capacity": 9},
    )  # fmt: skip
    r = await s.client.post(url, json={"items": [items[2]]}, headers=unit)
    assert r.status_code == 201 and r.json()["items"][0]["version"] == 2
    now = await s.ok("GET", f"/resources/{ids[2]}", Role.UNIT_ADMIN, w.unit)
    assert (now["version"], now["capacity"]) == (2, 9)
    # An id named twice in one request is bad input, naming the second.
    twice = [resource(resource_id=str(uuid4())), resource(resource_id=None)]
    twice[1]["resource_id"] = twice[0]["resource_id"]
    r = await s.client.post(url, json={"items": twice}, headers=unit)
    assert r.status_code == 422 and r.json()["items"][0]["index"] == 1
    assert r.json()["items"][0]["field"] == "body.items.1.resource_id"
    assert await _count(s, "SELECT count(*) FROM resource WHERE unit_id = $1", w.unit) == 3


async def test_concurrent_bulk_with_one_resource_id_offers_it_once(
    agreements_service: Service,
) -> None:
    s = agreements_service
    w = await build_world(s)
    unit = s.as_(Role.UNIT_ADMIN, w.unit)
    url = f"/units/{w.unit}/resources/bulk"
    resource_id = str(uuid4())
    item = resource(resource_id=resource_id)
    answers = await asyncio.gather(
        *(s.client.post(url, json={"items": [item]}, headers=unit) for _ in range(6))
    )
    assert all(r.status_code == 201 for r in answers), [r.text for r in answers]
    assert {r.json()["items"][0]["resource_id"] for r in answers} == {resource_id}
    count = "SELECT count(*) FROM resource WHERE resource_id = $1"
    assert await _count(s, count, UUID(resource_id)) == 1
