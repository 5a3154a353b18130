"""A whistle's life under the business clock: raised on the Friday before the 2026 Spring
Festival, routed, handed on (history kept), answered on the adjusted Saturday, resolved with
evidence, reopened, resolved again, confirmed, rated; and a missed limit escalating exactly
once with the service restarted twice."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from cobuild_contracts import Role
from cobuild_kit.clock import FixedClock
from cobuild_kit.testing import TestIssuer, eventually
from escalations_support import (
    World,
    announce,
    local,
    of_type,
    parties_known,
    served,
    settings,
    settled,
    shanghai,
    topic_events,
    upload,
)

MUNICIPAL = "municipal_facilities"


def routing(w: World) -> dict[str, Any]:
    return {
        "rules": [{"department_id": str(w.d1), "category": MUNICIPAL, "raiser_level": "community"}],
        "limits": [{"category": MUNICIPAL, "urgency": "normal", "respond": "1d", "resolve": "5d"}],
        "note": "城管 takes the communities' municipal facilities",
    }


async def test_a_whistle_from_raising_to_rating(
    pg_server: Any, kafka_bootstrap: str, issuer: TestIssuer, tmp_path: Any
) -> None:
    w = World()
    await announce(kafka_bootstrap, w.events())
    dsn = await pg_server.create_database("escalations_life")
    friday = local(2026, 2, 13, 16)  # the Friday before the Spring Festival holiday
    clock = FixedClock(friday)
    async with served(settings(dsn, kafka_bootstrap, tmp_path), issuer, clock) as s:
        await parties_known(s.rt, w.parties())
        district, worker = s.h(Role.DISTRICT_ADMIN, w.district), s.h(Role.COMMUNITY_ADMIN, w.c1)
        d1, d2 = s.h(Role.UNIT_ADMIN, w.d1), s.h(Role.UNIT_ADMIN, w.d2)
        r = await s.client.put(f"/districts/{w.district}/routing", json=routing(w), headers=district)
        assert r.status_code == 201 and r.json()["version"] == 1, r.text

        body = {"title": "路灯不亮", "description": "三号网格的路灯坏了一周", "category": MUNICIPAL,
                "place_id": str(w.grid)}  # fmt: skip
        r = await s.client.post("/whistles", json=body, headers=worker)
        assert r.status_code == 201, r.text
        x = r.json()
        wid = x["whistle_id"]
        assert x["receiver_party_id"] == str(w.d1) and x["receiver_kind"] == "department"
        assert x["routing_version"] == 1 and x["state"] == "routed" and x["level"] == "community"
        # 1 working day: the close of Saturday 14 February, the adjusted working day.
        assert shanghai(x["respond_by"]) == datetime(2026, 2, 14, 17, 0)
        # 5 working days: 14 Feb, then over the holiday (15-23 Feb) to 24, 25, 26 and 27 Feb.
        assert shanghai(x["resolve_by"]) == datetime(2026, 2, 27, 17, 0)
        assert not x["respond_by_provisional"] and not x["resolve_by_provisional"]
        photo = await upload(s, wid, worker)

        # Not theirs: 城管 hands it on to 住建 with a reason; to an enterprise it may not.
        firm = {"to_party_id": str(w.firm), "reason": "x"}
        r = await s.client.post(f"/whistles/{wid}/hand-on", json=firm, headers=d1)
        assert r.status_code == 422 and r.json()["field"] == "body.to_party_id"
        on = {"to_party_id": str(w.d2), "reason": "the lamps belong to the housing estate"}
        r = await s.client.post(f"/whistles/{wid}/hand-on", json=on, headers=d1)
        assert r.status_code == 200, r.text
        assert r.json()["receiver_party_id"] == str(w.d2)
        assert r.json()["respond_by"] == x["respond_by"]  # the limits do not restart
        # 城管 is no longer in it: its queue is empty and it cannot respond.
        r = await s.client.post(
            f"/whistles/{wid}/respond", json={"who_comes": "维修班"}, headers=d1
        )
        assert r.status_code == 404
        queue = (await s.client.get("/whistles?box=received", headers=d2)).json()
        assert [q["whistle_id"] for q in queue["items"]] == [wid]

        s.clock.set(local(2026, 2, 14, 10))  # the adjusted Saturday: a working day
        r = await s.client.post(
            f"/whistles/{wid}/respond", json={"who_comes": "物业维修班两人"}, headers=d2
        )
        assert r.status_code == 200 and r.json()["responded_in_time"] is True, r.text
        r = await s.client.post(f"/whistles/{wid}/resolve", json={"evidence_ids": [photo]},
                                headers=d2)  # fmt: skip
        assert r.status_code == 422 and r.json()["field"] == "body.evidence_ids.0"
        s.clock.set(local(2026, 2, 24, 11))
        fixed = await upload(s, wid, d2)
        r = await s.client.post(
            f"/whistles/{wid}/resolve", json={"evidence_ids": [fixed], "note": "换了灯"}, headers=d2
        )
        assert r.status_code == 200 and r.json()["state"] == "resolved", r.text
        # The raiser: one lamp still dark.
        r = await s.client.post(
            f"/whistles/{wid}/reopen", json={"reason": "东头一盏还不亮"}, headers=worker
        )
        assert r.status_code == 200 and r.json()["state"] == "responded"
        s.clock.set(local(2026, 2, 26, 15))
        fixed2 = await upload(s, wid, d2)
        r = await s.client.post(
            f"/whistles/{wid}/resolve", json={"evidence_ids": [fixed2]}, headers=d2
        )
        assert r.status_code == 200 and r.json()["resolved_in_time"] is True
        r = await s.client.post(f"/whistles/{wid}/confirm", headers=d2)
        assert r.status_code == 403  # the receiver does not confirm its own work
        r = await s.client.post(f"/whistles/{wid}/confirm", headers=worker)
        assert r.status_code == 200 and r.json()["state"] == "closed"

        # Residents who follow it: codes from the worker, one rating each, from their phones.
        r = await s.client.post(f"/whistles/{wid}/rating-codes", json={"count": 3}, headers=worker)
        assert r.status_code == 201, r.text
        a, b, c = r.json()["codes"]
        for code, stars in ((a, 5), (b, 2)):
            r = await s.resident.post("/public/whistle-ratings", json={"code": code, "rating": stars})
            assert r.status_code == 201, r.text
        again = await s.resident.post("/public/whistle-ratings", json={"code": a, "rating": 1})
        assert again.status_code == 410
        own = await s.client.post("/public/whistle-ratings", json={"code": c, "rating": 5})
        assert own.status_code == 201  # the worker's own address: kept, flagged, not counted
        summary = (await s.client.get(f"/whistles/{wid}/ratings", headers=worker)).json()
        assert (summary["rated"], summary["satisfied"], summary["codes_used"]) == (2, 1, 3)

        history = (await s.client.get(f"/whistles/{wid}/history", headers=worker)).json()
        steps = [(e["event_type"], e["detail"].get("reason")) for e in history["items"]]
        assert steps == [
            ("whistle.raised", None),
            ("whistle.routed", None),
            ("whistle.handed_on", "the lamps belong to the housing estate"),
            ("whistle.responded", None),
            ("whistle.resolved", None),
            ("whistle.reopened", "东头一盏还不亮"),
            ("whistle.resolved", None),
            ("whistle.closed", None),
            ("whistle.rated", None),
            ("whistle.rated", None),
        ]
        routed = history["items"][1]["payload"]
        assert routed["receiver_party_id"] == str(w.d1)
        handed = history["items"][2]["payload"]
        assert (handed["from_party_id"], handed["to_party_id"]) == (str(w.d1), str(w.d2))
        # Strangers see nothing: another community's worker, another street.
        r = await s.client.get(f"/whistles/{wid}", headers=s.h(Role.COMMUNITY_ADMIN, w.c3))
        assert r.status_code == 404
        r = await s.client.get(f"/whistles/{wid}", headers=s.h(Role.STREET_ADMIN, w.s2))
        assert r.status_code == 404
        r = await s.client.get(f"/whistles/{wid}", headers=s.h(Role.STREET_ADMIN, w.s1))
        assert r.status_code == 200
        await settled(s.rt)

    out = await topic_events(kafka_bootstrap, [wid])
    assert [e.event_type for e in out] == [step for step, _ in steps]
    assert all("title" not in e.payload and "reason" not in e.payload for e in out)


async def test_a_missed_limit_escalates_once_across_two_restarts(
    pg_server: Any, kafka_bootstrap: str, issuer: TestIssuer, tmp_path: Any
) -> None:
    w = World()
    await announce(kafka_bootstrap, w.events())
    dsn = await pg_server.create_database("escalations_once")
    s_ = settings(dsn, kafka_bootstrap, tmp_path)
    clock = FixedClock(local(2026, 3, 2, 10))  # a Monday
    worker = issuer.headers(Role.COMMUNITY_ADMIN, w.c2)
    async with served(s_, issuer, clock) as s:
        await parties_known(s.rt, w.parties())
        body = {"title": "积水", "category": "drainage", "place_id": str(w.c2), "urgency": "urgent"}
        r = await s.client.post("/whistles", json=body, headers=worker)
        assert r.status_code == 201, r.text
        x = r.json()
        wid = x["whistle_id"]
        # No routing table: to the level above (the street), with the urgent defaults.
        assert x["receiver_party_id"] == str(w.s1) and x["receiver_kind"] == "street"
        assert shanghai(x["respond_by"]) == datetime(2026, 3, 2, 12, 0)  # 2 working hours
        assert shanghai(x["resolve_by"]) == datetime(2026, 3, 3, 17, 0)  # 1 working day
        s.clock.set(local(2026, 3, 2, 12, 30))  # the response limit passed

        async def flagged() -> bool:
            r = await s.client.get(f"/whistles/{wid}", headers=worker)
            return bool(r.json()["response_missed"])

        await eventually(flagged)
        # The street missed its own limit: escalated past it, to the district.
        r = (await s.client.get(f"/whistles/{wid}", headers=worker)).json()
        assert r["level"] == "district"
        await asyncio.sleep(0.5)  # several scans
        await settled(s.rt)

    for _ in range(2):  # restarted twice, with the clock past the limit all along
        async with served(s_, issuer, clock) as s:
            await asyncio.sleep(0.6)  # several scans each time
            await settled(s.rt)

    s_street = issuer.headers(Role.STREET_ADMIN, w.s1)
    clock.set(local(2026, 3, 3, 16))
    async with served(s_, issuer, clock) as s:
        r = await s.client.post(
            f"/whistles/{wid}/respond", json={"who_comes": "街道城建科"}, headers=s_street
        )
        assert r.status_code == 200 and r.json()["responded_in_time"] is False
        clock.set(local(2026, 3, 4, 9, 30))  # past the limit to resolve, still open

        async def resolution_flagged() -> bool:
            r = await s.client.get(f"/whistles/{wid}", headers=worker)
            return bool(r.json()["resolution_missed"])

        await eventually(resolution_flagged)
        await asyncio.sleep(0.5)
        await settled(s.rt)

    out = await topic_events(kafka_bootstrap, [wid])
    escalated = of_type(out, "whistle.escalated")
    assert [e.payload["limit"] for e in escalated] == ["respond", "resolve"]
    first, second = (e.payload for e in escalated)
    assert (first["from_level"], first["to_level"], first["to_party_id"]) == (
        "community", "district", str(w.district),
    )  # fmt: skip
    assert (second["from_level"], second["to_level"]) == ("district", "district")
    assert first["receiver_party_id"] == str(w.s1)


async def test_reopened_past_its_limit_is_flagged_by_the_reopening_itself(
    pg_server: Any, kafka_bootstrap: str, issuer: TestIssuer, tmp_path: Any
) -> None:
    """Resolved in time, reopened after the limit to resolve, resolved again and confirmed at
    once: the resolution was missed, whether or not a scan fell in between (the scan here
    waits an hour, so only the commands can flag it; the played year caught the race)."""
    w = World()
    await announce(kafka_bootstrap, w.events())
    dsn = await pg_server.create_database("escalations_reopened")
    clock = FixedClock(local(2026, 3, 2, 10))  # a Monday
    worker = issuer.headers(Role.COMMUNITY_ADMIN, w.c2)
    street = issuer.headers(Role.STREET_ADMIN, w.s1)
    s_ = settings(dsn, kafka_bootstrap, tmp_path, escalation_scan_interval_s=3600.0)
    async with served(s_, issuer, clock) as s:
        await parties_known(s.rt, w.parties())
        body = {"title": "积水", "category": "drainage", "place_id": str(w.c2), "urgency": "urgent"}
        r = await s.client.post("/whistles", json=body, headers=worker)
        assert r.status_code == 201, r.text
        wid = r.json()["whistle_id"]
        r = await s.client.post(f"/whistles/{wid}/respond", json={"who_comes": "城建科"},
                                headers=street)  # fmt: skip
        assert r.status_code == 200, r.text
        fixed = await upload(s, wid, street)
        r = await s.client.post(f"/whistles/{wid}/resolve", json={"evidence_ids": [fixed]},
                                headers=street)  # fmt: skip
        assert r.status_code == 200 and r.json()["resolution_missed"] is False, r.text

        clock.set(local(2026, 3, 10, 10))  # a week on: long past the limit to resolve
        r = await s.client.post(f"/whistles/{wid}/reopen", json={"reason": "又积水了"},
                                headers=worker)  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["resolution_missed"] is True and r.json()["level"] == "district"
        again = await upload(s, wid, street)
        r = await s.client.post(f"/whistles/{wid}/resolve", json={"evidence_ids": [again]},
                                headers=street)  # fmt: skip
        assert r.status_code == 200, r.text
        r = await s.client.post(f"/whistles/{wid}/confirm", headers=worker)
        assert r.status_code == 200 and r.json()["state"] == "closed", r.text
        await settled(s.rt)

    out = await topic_events(kafka_bootstrap, [wid])
    assert [e.payload["limit"] for e in of_type(out, "whistle.escalated")] == ["resolve"]
