"""The parties directory keeps every saved version of a party (issue 35): a rename, a code
and a new pairing each leave one, newest first, with who saved it and when; the history is
for those who may change the party, and a party no one knows is 404."""

from __future__ import annotations

import uuid

from agreements_support import Service, build_world
from cobuild_contracts import Role


async def test_each_change_of_a_party_is_kept_with_who_made_it(
    agreements_service: Service,
) -> None:
    s = agreements_service
    w = await build_world(s)
    url = f"/parties/{w.community}/history"
    first = await s.ok("GET", url, Role.DISTRICT_ADMIN, w.district)
    assert first["total"] == 1 and first["items"][0]["version"] == 1
    old_name = first["items"][0]["name"]

    await s.ok(
        "PATCH", f"/parties/{w.community}", Role.STREET_ADMIN, w.street, json={"name": "和兴社区"}
    )
    await s.ok(
        "PATCH", f"/parties/{w.community}", Role.DISTRICT_ADMIN, w.district, json={"code": "HX-01"}
    )
    history = await s.ok("GET", url, Role.STREET_ADMIN, w.street)
    assert [v["version"] for v in history["items"]] == [3, 2, 1]
    assert [v["name"] for v in history["items"]] == ["和兴社区", "和兴社区", old_name]
    assert history["items"][0]["code"] == "HX-01" and history["items"][1]["code"] != "HX-01"
    # Who saved each version: the street's admin renamed it, the district's set the code.
    street_sub, district_sub = f"street_admin:{w.street}", f"district_admin:{w.district}"
    assert history["items"][1]["changed_by"] == street_sub
    assert history["items"][0]["changed_by"] == district_sub
    assert history["items"][0]["changed_at"] >= history["items"][1]["changed_at"]

    # A pairing is a version of the unit.
    await s.ok(
        "PUT",
        f"/parties/{w.unit}/pairings",
        Role.DISTRICT_ADMIN,
        w.district,
        json={"community_ids": [str(w.community), str(w.other_community)]},
    )
    unit = await s.ok("GET", f"/parties/{w.unit}/history", Role.DISTRICT_ADMIN, w.district)
    assert len(unit["items"][0]["paired_community_ids"]) == 2
    assert unit["items"][0]["version"] == unit["items"][1]["version"] + 1

    # Paged, newest first.
    page = await s.ok("GET", url + "?limit=1&offset=1", Role.DISTRICT_ADMIN, w.district)
    assert [v["version"] for v in page["items"]] == [2] and page["next_offset"] == 2


async def test_the_history_is_for_those_who_may_change_the_party(
    agreements_service: Service,
) -> None:
    s = agreements_service
    w = await build_world(s)
    other = await build_world(s)
    url = f"/parties/{w.community}/history"
    for role, party in (
        (Role.COMMUNITY_ADMIN, w.community),
        (Role.UNIT_ADMIN, w.unit),
        (Role.DISTRICT_ADMIN, other.district),
        (Role.STREET_ADMIN, other.street),
    ):
        r = await s.client.get(url, headers=s.as_(role, party))
        assert r.status_code == 403, (role, r.text)
    r = await s.client.get(
        f"/parties/{uuid.uuid4()}/history", headers=s.as_(Role.DISTRICT_ADMIN, w.district)
    )
    assert r.status_code == 404 and r.json()["field"] == "path.party_id"
