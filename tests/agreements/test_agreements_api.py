"""The API as a product: reference data, bad codes refused with the valid ones, pages,
unseen resources answered as missing, and bulk publishing of needs, all or none."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from agreements_support import Service, build_world, need_body
from cobuild_contracts import HongfanCategory, ItemKind, Role, UnitType
from cobuild_contracts.reference import CATEGORY_LABELS, valid_codes


async def _count(s: Service, sql: str, *args: Any) -> int:
    async with s.rt.pool.acquire() as conn:
        return int(await conn.fetchval(sql, *args))


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "community_id"}


async def test_reference_data_needs_no_token(agreements_service: Service) -> None:
    r = await agreements_service.client.get("/reference")
    assert r.status_code == 200, r.text
    ref = r.json()
    assert [c["code"] for c in ref["categories"]] == [c.value for c in HongfanCategory]
    assert ref["categories"][0]["labels"] == CATEGORY_LABELS[HongfanCategory.NEIGHBOURHOOD_WATCH]
    assert {c["code"] for c in ref["need_kinds"]} == {k.value for k in ItemKind}
    assert ref["need_kinds"] == ref["resource_kinds"]
    assert {c["code"] for c in ref["unit_types"]} == {u.value for u in UnitType}
    for vocabulary in ("party_kinds", "roles", "visibility"):
        assert all(set(c["labels"]) == {"zh-CN", "en"} for c in ref[vocabulary]), vocabulary


async def test_a_bad_code_is_refused_with_the_valid_ones(agreements_service: Service) -> None:
    s = agreements_service
    w = await build_world(s)
    community = s.as_(Role.COMMUNITY_ADMIN, w.community)
    r = await s.client.post("/needs", json=need_body(w.community, category="x"), headers=community)
    assert r.status_code == 422
    categories = valid_codes(s.rt.settings.categories)
    assert r.json()["field"] == "body.category"
    assert r.json()["message"] == f"unknown category 'x'; {categories}"
    r = await s.client.post("/needs", json=need_body(w.community, kind="wish"), headers=community)
    assert r.status_code == 422 and r.json()["field"] == "body.kind"
    assert f"unknown kind 'wish'; {valid_codes(ItemKind)}" in r.json()["message"]
    district = s.as_(Role.DISTRICT_ADMIN, w.district)
    unit = {"kind": "unit", "name": "x", "parent_id": str(w.district), "unit_type": "bank"}
    r = await s.client.post("/parties", json=unit, headers=district)
    assert r.status_code == 422 and r.json()["field"] == "body.unit_type"
    assert f"unknown unit type 'bank'; {valid_codes(UnitType)}" in r.json()["message"]


async def test_lists_are_pages(agreements_service: Service) -> None:
    s = agreements_service
    w = await build_world(s)
    district = (Role.DISTRICT_ADMIN, w.district)
    first = await s.ok(
        "GET", "/parties", *district, params={"parent_id": str(w.street), "limit": 1}
    )
    assert first["total"] == 2 and first["limit"] == 1 and first["next_offset"] == 1
    second = await s.ok(
        "GET", "/parties", *district, params={"parent_id": str(w.street), "limit": 1, "offset": 1}
    )
    assert second["next_offset"] is None
    names = {first["items"][0]["name"], second["items"][0]["name"]}
    assert names == {"和兴社区", "和顺社区"}
    past = await s.ok(
        "GET", "/parties", *district, params={"parent_id": str(w.street), "offset": 9}
    )
    assert past["items"] == [] and past["total"] == 2
    community = (Role.COMMUNITY_ADMIN, w.community)
    await s.ok("POST", "/needs", *community, json=need_body(w.community))
    needs = await s.ok("GET", "/needs", *community, params={"community_id": str(w.community)})
    assert needs["total"] == 1 and needs["items"][0]["funds_fen"] == 1_850_000
    agreements = await s.ok("GET", "/agreements", *community, params={"party_id": str(w.community)})
    assert agreements == {"items": [], "total": 0, "limit": 100, "offset": 0, "next_offset": None}


async def test_what_one_may_not_read_is_not_found(agreements_service: Service) -> None:
    s = agreements_service
    w = await build_world(s)
    need = await s.ok(
        "POST", "/needs", Role.COMMUNITY_ADMIN, w.community, json=need_body(w.community)
    )
    other = s.as_(Role.COMMUNITY_ADMIN, w.other_community)
    for url in (f"/needs/{need['need_id']}", f"/needs/{need['need_id']}/matches"):
        r = await s.client.get(url, headers=other)
        assert r.status_code == 404, url
        assert r.json()["message"] == f"need {need['need_id']} does not exist"
        assert r.json()["field"] == "path.need_id"
    missing = uuid4()
    r = await s.client.get(f"/needs/{missing}", headers=other)
    assert r.json() == {
        "error": "not_found",
        "message": f"need {missing} does not exist",
        "field": "path.need_id",
    }
    # A write naming a community one may not act for says why (403), as before.
    r = await s.client.put(
        f"/needs/{need['need_id']}", json=_fields(need_body(w.community)), headers=other
    )
    assert r.status_code == 403 and "may not" in r.json()["message"]


async def test_bulk_publishes_every_need_or_none(agreements_service: Service) -> None:
    s = agreements_service
    w = await build_world(s)
    community = s.as_(Role.COMMUNITY_ADMIN, w.community)
    url = f"/communities/{w.community}/needs/bulk"
    good = [_fields(need_body(w.community, title=f"路灯 {n}")) for n in range(5)]
    outbox = await _count(s, "SELECT count(*) FROM outbox")

    # One bad item among many: nothing written, no event, every bad item named.
    bad = [*good]
    bad[1] = {**bad[1], "category": "space_travel"}
    bad[3] = {**bad[3], "wanted_by": "2025-02-01"}
    r = await s.client.post(url, json={"items": bad}, headers=community)
    assert r.status_code == 422, r.text
    refused = r.json()
    assert refused["field"] == "body.items"
    assert [(i["index"], i["field"]) for i in refused["items"]] == [
        (1, "body.items.1.category"),
        (3, "body.items.3.wanted_by"),
    ]
    assert "valid: " in refused["items"][0]["message"]
    # A refusal of the schema is given per item too.
    r = await s.client.post(
        url, json={"items": [*good[:2], {**good[2], "quantity": 0}]}, headers=community
    )
    assert r.status_code == 422
    assert [(i["index"], i["field"]) for i in r.json()["items"]] == [(2, "body.items.2.quantity")]
    # At most 1,000 items.
    r = await s.client.post(url, json={"items": [good[0]] * 1001}, headers=community)
    assert r.status_code == 422 and r.json()["field"] == "body.items"
    assert await _count(s, "SELECT count(*) FROM need WHERE community_id = $1", w.community) == 0
    assert await _count(s, "SELECT count(*) FROM outbox") == outbox

    # Another community's admin may not publish here.
    r = await s.client.post(
        url, json={"items": good}, headers=s.as_(Role.COMMUNITY_ADMIN, w.other_community)
    )
    assert r.status_code == 403
    r = await s.client.post(
        f"/communities/{uuid4()}/needs/bulk", json={"items": good}, headers=community
    )
    assert r.status_code in (403, 404)

    # All good: one need each, in order, each published and matched.
    done = (await s.client.post(url, json={"items": good}, headers=community)).json()
    assert [(i["index"], i["version"]) for i in done["items"]] == [(n, 1) for n in range(5)]
    listed = await s.ok(
        "GET", "/needs", Role.COMMUNITY_ADMIN, w.community,
        params={"community_id": str(w.community)},
    )  # fmt: skip
    assert {n["need_id"] for n in listed["items"]} == {i["need_id"] for i in done["items"]}
    published = await _count(
        s, "SELECT count(*) FROM outbox WHERE event_type = 'need.published' AND key = ANY($1)",
        [i["need_id"] for i in done["items"]],
    )  # fmt: skip
    assert published == 5


async def test_bulk_items_with_their_own_ids_can_be_sent_again(
    agreements_service: Service,
) -> None:
    s = agreements_service
    w = await build_world(s)
    community = s.as_(Role.COMMUNITY_ADMIN, w.community)
    url = f"/communities/{w.community}/needs/bulk"
    ids = [str(uuid4()) for _ in range(3)]
    items = [
        {**_fields(need_body(w.community, title=f"助老 {n}")), "need_id": ids[n]} for n in range(3)
    ]
    first = await s.client.post(url, json={"items": items[:2]}, headers=community)
    assert first.status_code == 201, first.text
    assert [i["need_id"] for i in first.json()["items"]] == ids[:2]
    outbox = await _count(s, "SELECT count(*) FROM outbox")
    again = await s.client.post(url, json={"items": items}, headers=community)
    assert again.status_code == 201, again.text
    assert [i["need_id"] for i in again.json()["items"]] == ids
    # Only the new third need was published (and matched): the first two are as they were.
    assert await _count(
        s, "SELECT count(*) FROM outbox WHERE event_type = 'need.published' "
        "AND key = ANY($1)", ids[:2],
    ) == 2  # fmt: skip
    assert await _count(s, "SELECT count(*) FROM outbox") > outbox
    changed = [{**items[0], "quantity": 7}]
    r = await s.client.post(url, json={"items": changed}, headers=community)
    assert r.status_code == 409, r.text
    assert r.json()["items"][0]["field"] == "body.items.0.need_id"
    twice = [items[2], items[2]]
    r = await s.client.post(url, json={"items": twice}, headers=community)
    assert r.status_code == 422 and r.json()["items"][0]["index"] == 1
