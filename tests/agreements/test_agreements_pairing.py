"""Pairing across districts: pairing a unit with a community binds the community (the unit
reads and claims its paired-only needs, a claim signs at once), so it takes authority over
both."""

from __future__ import annotations

from typing import Any

from agreements_support import Service, build_world, need_body
from cobuild_contracts import Role


async def _count(s: Service, sql: str, *args: Any) -> int:
    async with s.rt.pool.acquire() as conn:
        return int(await conn.fetchval(sql, *args))


async def test_pairing_needs_authority_over_the_community_too(agreements_service: Service) -> None:
    s = agreements_service
    a = await build_world(s)
    b = await build_world(s)
    admin_b = s.as_(Role.DISTRICT_ADMIN, b.district)
    url = f"/parties/{b.unit}/pairings"
    before = await s.ok("GET", f"/parties/{b.unit}", Role.DISTRICT_ADMIN, b.district)
    outbox = await _count(s, "SELECT count(*) FROM outbox WHERE key = $1", str(b.unit))

    # District B's admin pairs its own unit with a community of district A: refused.
    r = await s.client.put(
        url, json={"community_ids": [str(b.community), str(a.community)]}, headers=admin_b
    )
    assert r.status_code == 403, r.text
    assert r.json()["field"] == "body.community_ids.1"
    assert str(a.community) in r.json()["message"] and "authority" in r.json()["message"]
    # Nor may it register a new unit already paired there.
    r = await s.client.post(
        "/parties",
        json={
            "kind": "unit",
            "name": "越界单位",
            "parent_id": str(b.district),
            "unit_type": "enterprise",
            "paired_community_ids": [str(a.community)],
        },
        headers=admin_b,
    )
    assert r.status_code == 403 and r.json()["field"] == "body.paired_community_ids.0", r.text
    # A street admin above the community has no authority over the unit.
    r = await s.client.put(
        f"/parties/{a.unit}/pairings",
        json={"community_ids": [str(a.other_community)]},
        headers=s.as_(Role.STREET_ADMIN, a.street),
    )
    assert r.status_code == 403
    # Nothing was written: the unit is as it was, and no party.updated left.
    after = await s.ok("GET", f"/parties/{b.unit}", Role.DISTRICT_ADMIN, b.district)
    assert after == before
    assert await _count(s, "SELECT count(*) FROM outbox WHERE key = $1", str(b.unit)) == outbox

    # So the unit cannot read nor claim district A's paired-only need.
    need = await s.ok(
        "POST",
        "/needs",
        Role.COMMUNITY_ADMIN,
        a.community,
        json=need_body(a.community, visibility="paired_units"),
    )
    unit_b = s.as_(Role.UNIT_ADMIN, b.unit)
    assert (await s.client.get(f"/needs/{need['need_id']}", headers=unit_b)).status_code == 404
    claim = await s.client.post(
        f"/needs/{need['need_id']}/claims",
        json={"unit_id": str(b.unit), "responsible_title": "书记"},
        headers=unit_b,
    )
    assert claim.status_code == 403, claim.text

    # Within the admin's own district pairing works, and dropping a pairing needs no more.
    both = [str(b.community), str(b.other_community)]
    done = await s.ok("PUT", url, Role.DISTRICT_ADMIN, b.district, json={"community_ids": both})
    assert done["paired_community_ids"] == both
    done = await s.ok("PUT", url, Role.DISTRICT_ADMIN, b.district, json={"community_ids": []})
    assert done["paired_community_ids"] == []
