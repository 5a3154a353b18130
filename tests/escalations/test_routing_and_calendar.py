"""Routing tables are versioned data (a change applies to new matters only), and the working
calendar beyond its known data counts Monday to Friday, marked provisional, until an admin
publishes the year."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from cobuild_contracts import Role
from cobuild_kit.clock import FixedClock
from cobuild_kit.testing import TestIssuer
from escalations_support import World, announce, local, parties_known, served, settings, shanghai

NOISE = "noise"


async def test_a_routing_change_applies_to_new_matters_only(
    pg_server: Any, kafka_bootstrap: str, issuer: TestIssuer, tmp_path: Any
) -> None:
    w = World()
    await announce(kafka_bootstrap, w.events())
    dsn = await pg_server.create_database("escalations_routing")
    async with served(settings(dsn, kafka_bootstrap, tmp_path), issuer, FixedClock(
        local(2026, 4, 7, 10)
    )) as s:  # fmt: skip
        await parties_known(s.rt, w.parties())
        admin = s.h(Role.DISTRICT_ADMIN, w.district)
        worker = s.h(Role.COMMUNITY_ADMIN, w.c1)
        url = f"/districts/{w.district}/routing"
        builtin = (await s.client.get(url, headers=admin)).json()
        assert builtin["version"] == 0 and builtin["rules"] == []

        v1 = {"rules": [{"department_id": str(w.d1), "category": NOISE}], "note": "v1"}
        assert (await s.client.put(url, json=v1, headers=admin)).status_code == 201
        body = {"title": "夜间施工噪音", "category": NOISE, "place_id": str(w.c1)}
        first = (await s.client.post("/whistles", json=body, headers=worker)).json()
        assert (first["receiver_party_id"], first["routing_version"]) == (str(w.d1), 1)

        v2 = {
            "rules": [
                {"department_id": str(w.d3), "category": NOISE},
                # More specific: the same category in street 1 goes to 住建.
                {"department_id": str(w.d2), "category": NOISE, "street_id": str(w.s1)},
            ],
            "limits": [{"urgency": "normal", "respond": "4h", "resolve": "2d"}],
            "note": "v2: noise to civil affairs, street 1's to housing",
        }
        r = await s.client.put(url, json=v2, headers=admin)
        assert r.status_code == 201 and r.json()["version"] == 2, r.text
        second = (await s.client.post("/whistles", json=body, headers=worker)).json()
        assert (second["receiver_party_id"], second["routing_version"]) == (str(w.d2), 2)
        assert shanghai(second["respond_by"]) == datetime(2026, 4, 7, 14, 0)
        elsewhere = {**body, "place_id": str(w.c3)}
        third = (
            await s.client.post(
                "/whistles", json=elsewhere, headers=s.h(Role.COMMUNITY_ADMIN, w.c3)
            )
        ).json()
        assert third["receiver_party_id"] == str(w.d3)
        # The first whistle keeps the receiver and limits version 1 gave it.
        again = (await s.client.get(f"/whistles/{first['whistle_id']}", headers=worker)).json()
        assert (again["receiver_party_id"], again["routing_version"]) == (str(w.d1), 1)
        assert again["respond_by"] == first["respond_by"]
        old = (await s.client.get(f"{url}/versions/1", headers=admin)).json()
        assert old["rules"][0]["department_id"] == str(w.d1)
        versions = (await s.client.get(f"{url}/versions", headers=admin)).json()["items"]
        assert [(v["version"], v["note"]) for v in versions] == [(1, "v1"), (2, v2["note"])]
        street = s.h(Role.STREET_ADMIN, w.s1)
        assert (await s.client.get(url, headers=street)).json()["version"] == 2

        # What a table may not say.
        async def refused(table: dict[str, Any], headers: dict[str, str] = admin) -> Any:
            return await s.client.put(url, json=table, headers=headers)

        r = await refused({"rules": [{"department_id": str(w.firm)}]})
        assert r.status_code == 422 and r.json()["field"] == "body.rules.0.department_id"
        r = await refused({"rules": [{"department_id": str(w.d1), "street_id": str(uuid4())}]})
        assert r.status_code == 422 and r.json()["field"] == "body.rules.0.street_id"
        twice = {"department_id": str(w.d1), "category": NOISE}
        r = await refused({"rules": [twice, {**twice, "department_id": str(w.d2)}]})
        assert r.status_code == 422 and r.json()["field"] == "body.rules.1"
        short = {"urgency": "urgent", "respond": "2d", "resolve": "4h"}
        r = await refused({"limits": [short]})
        assert r.status_code == 422 and r.json()["field"] == "body.limits.0.resolve"
        assert (await refused(v1, street)).status_code == 403
        other = s.h(Role.DISTRICT_ADMIN, uuid4())
        assert (await refused(v1, other)).status_code == 403
        assert (await s.client.get(url, headers=worker)).status_code == 403
        latest = (await s.client.get(url, headers=admin)).json()
        assert latest["version"] == 2  # nothing refused was kept

        # Who may whistle for which place.
        r = await s.client.post("/whistles", json={**body, "place_id": str(w.c3)}, headers=worker)
        assert r.status_code == 403
        r = await s.client.post("/whistles", json={**body, "place_id": str(uuid4())}, headers=worker)
        assert r.status_code == 422 and r.json()["field"] == "body.place_id"
        r = await s.client.post("/whistles", json={**body, "place_id": str(w.grid)}, headers=street)
        assert r.status_code == 201
        assert r.json()["raiser_level"] == "street" and r.json()["receiver_party_id"] == str(w.d2)
        r = await s.client.post("/whistles", json=body, headers=s.h(Role.UNIT_ADMIN, w.d1))
        assert r.status_code == 403


async def test_beyond_the_calendar_provisional_until_the_year_is_published(
    pg_server: Any, kafka_bootstrap: str, issuer: TestIssuer, tmp_path: Any
) -> None:
    w = World()
    await announce(kafka_bootstrap, w.events())
    dsn = await pg_server.create_database("escalations_calendar")
    clock = FixedClock(local(2027, 9, 30, 15))  # Thursday; 2027 is not in the package
    async with served(settings(dsn, kafka_bootstrap, tmp_path), issuer, clock) as s:
        await parties_known(s.rt, w.parties())
        worker = s.h(Role.COMMUNITY_ADMIN, w.c1)
        body = {"title": "井盖缺失", "category": "road_safety", "place_id": str(w.c1)}
        before = (await s.client.post("/whistles", json=body, headers=worker)).json()
        # Monday to Friday: Friday 1 October 2027 counts as a working day, provisionally.
        assert shanghai(before["respond_by"]) == datetime(2027, 10, 1, 17, 0)
        assert before["respond_by_provisional"] and before["resolve_by_provisional"]
        cal = (await s.client.get("/working-calendar", headers=worker)).json()
        assert cal["known_through"] == "2026-12-31" and 2027 not in cal["known_years"]

        national_day = [
            {"day": f"2027-10-0{d}", "kind": "holiday", "name": "国庆节"} for d in range(1, 8)
        ]
        year = {
            "days": [*national_day, {"day": "2027-10-09", "kind": "working_day", "name": "国庆节"}],
            "source": "国办发明电〔2026〕X号",
        }
        url = "/working-calendar/years/2027"
        assert (await s.client.post(url, json=year, headers=worker)).status_code == 403
        monday = {"days": [{"day": "2027-10-11", "kind": "working_day"}], "source": "x"}
        district = s.h(Role.DISTRICT_ADMIN, w.district)
        r = await s.client.post(url, json=monday, headers=district)
        assert r.status_code == 422 and r.json()["field"] == "body.days.0.day"
        r = await s.client.post(url, json=year, headers=district)
        assert r.status_code == 201, r.text
        assert r.json()["versions"][0]["version"] == 1

        after = (await s.client.post("/whistles", json=body, headers=worker)).json()
        assert shanghai(after["respond_by"]) == datetime(2027, 10, 8, 17, 0)
        assert not after["respond_by_provisional"]
        # The whistle raised before keeps its limit, and still says it was provisional.
        kept = (await s.client.get(f"/whistles/{before['whistle_id']}", headers=worker)).json()
        assert kept["respond_by"] == before["respond_by"] and kept["respond_by_provisional"]
        y = (await s.client.get(url, headers=worker)).json()
        assert y["known"] and len(y["days"]) == 8 and y["source"].startswith("admin v1")
