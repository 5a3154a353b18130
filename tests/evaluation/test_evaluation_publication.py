"""The 公示 period against real PostgreSQL and the real broker (issue 35): a capped preview,
publication for objections with a deadline in working days, a member's objection with an
attachment, an upheld correction that moves another member's grade under the quota (and
gives that member a new window), a rejection, and finalisation only after the last window."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cobuild_contracts import Role
from cobuild_kit.testing import caught_up, eventually
from cobuild_kit.working_time import official_calendar
from evaluation_support import (
    Served,
    World,
    agreement_events,
    at,
    commitment_events,
    points_events,
    send,
    served,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def svc(pg_server: Any, kafka_bootstrap: str) -> AsyncIterator[tuple[Served, World]]:
    dsn = await pg_server.create_database("evaluation_publication")
    world = World()
    with tempfile.TemporaryDirectory() as tmp:
        async with served(dsn, kafka_bootstrap, Path(tmp)) as s:
            await send(kafka_bootstrap, "agreements", agreement_events(world))
            await send(kafka_bootstrap, "commitments", commitment_events(world))
            await send(kafka_bootstrap, "points", points_events(world))

            async def arrived() -> bool:
                async with s.rt.pool.acquire() as conn:
                    n = await conn.fetchval(
                        "SELECT count(*) FROM ledger_journal WHERE commitment_id = ANY($1)",
                        list(world.k.values()),
                    )
                    pts = await conn.fetchval(
                        "SELECT count(*) FROM points_entries WHERE member_id = ANY($1)",
                        list(world.m.values()),
                    )
                return n == 10 and pts == 5

            await eventually(arrived, timeout=60)
            await eventually(lambda: caught_up(s.rt), timeout=30)
            yield s, world


def h(s: Served, role: Role, party: Any, subject: str | None = None) -> dict[str, str]:
    return s.issuer.headers(role, party, subject=subject)


def grades(outcome: dict[str, Any], kind: str) -> dict[str, str]:
    return {r["subject_id"]: r["grade"] for r in outcome[kind]}


async def own(s: Served, headers: dict[str, str]) -> dict[str, Any]:
    r = await s.client.get("/assessments/2026/own", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _final_scored(s: Served) -> list[dict[str, Any]]:
    async with s.rt.pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT envelope->'payload' AS p FROM outbox
               WHERE event_type IN ('member.scored', 'unit.scored')"""
        )
    return [dict(r["p"]) for r in rows]


async def test_preview_publicise_object_uphold_reject_finalise(svc: tuple[Served, World]) -> None:
    s, w = svc
    published_at = at(2027, 1, 4)  # a Monday
    s.clock.set(published_at)
    admin = h(s, Role.DISTRICT_ADMIN, w.district, subject="secretary")
    body: dict[str, Any] = {"district_id": str(w.district), "policy_version": "2026-v1"}

    # Preview: uncapped, one member excellent (m1, 100); a 20% quota of 4 leaves no place.
    free = (await s.client.post("/assessments/2026/preview", json=body, headers=admin)).json()
    assert grades(free, "members")[str(w.m[1])] == "excellent"
    capped = await s.client.post(
        "/assessments/2026/preview", json=body | {"excellent_quota": "0.20"}, headers=admin
    )
    assert capped.status_code == 200, capped.text
    assert grades(capped.json(), "members")[str(w.m[1])] == "good"
    assert capped.json()["totals"]["excellent_quota"] == "0.2000"
    assert capped.json()["totals"]["member_excellent_rate"] == "0.0000"
    bad = await s.client.post(
        "/assessments/2026/preview", json=body | {"excellent_quota": "1.5"}, headers=admin
    )
    assert bad.status_code == 422 and "excellent_quota" in bad.text

    # Publish for 公示 under a 25% quota: one place, m1 keeps it.
    quota = body | {"excellent_quota": "0.25"}
    pub = await s.client.post("/assessments/2026/publish", json=quota, headers=admin)
    assert pub.status_code == 201, pub.text
    first_id = pub.json()["assessment_id"]
    deadline = official_calendar().add_working_days(published_at, 5).at
    head = (
        await s.client.get(
            "/assessments/2026", params={"district_id": str(w.district)}, headers=admin
        )
    ).json()
    assert head["state"] == "publicised" and head["excellent_quota"] == "0.2500"
    assert datetime.fromisoformat(head["objection_deadline"]) == deadline
    scored = await _final_scored(s)
    assert scored and all(p["state"] == "publicised" for p in scored)
    board = await s.client.get(f"/public/streets/{w.s1}")
    assert "公示中" in board.text and deadline.date().isoformat() in board.text

    # Those concerned read their own score; a district admin has none of its own.
    m1_h = h(s, Role.MEMBER, w.m[1], subject="member-1")
    m3_h = h(s, Role.MEMBER, w.m[3], subject="member-3")
    m1 = await own(s, m1_h)
    assert m1["state"] == "publicised" and m1["result"]["grade"] == "excellent"
    assert m1["may_object"] and datetime.fromisoformat(m1["objection_deadline"]) == deadline
    unit = await own(s, h(s, Role.UNIT_ADMIN, w.u2))
    assert unit["subject_kind"] == "unit" and unit["result"]["grade"] == "good"  # 0 places of 2
    assert (await s.client.get("/assessments/2026/own", headers=admin)).status_code == 403

    # m3 (75, good) objects with a reason and a PNG; bad input is a 422 naming the field.
    no_reason = await s.client.post(
        "/assessments/2026/objections", data={"reason": " "}, headers=m3_h
    )
    assert no_reason.status_code == 422 and "body.reason" in no_reason.text
    not_image = await s.client.post(
        "/assessments/2026/objections",
        data={"reason": "my points"},
        files={"files": ("note.txt", b"hello", "text/plain")},
        headers=m3_h,
    )
    assert not_image.status_code == 422 and "body.files" in not_image.text
    filed = await s.client.post(
        "/assessments/2026/objections",
        data={"reason": "15 points of the volunteer day are missing"},
        files={"files": ("sign-in.png", PNG, "image/png")},
        headers=m3_h,
    )
    assert filed.status_code == 201, filed.text
    objection = filed.json()
    assert objection["state"] == "open" and objection["files"] == 1
    again = await s.client.post(
        "/assessments/2026/objections", data={"reason": "again"}, headers=m3_h
    )
    assert again.status_code == 409
    listed = await s.client.get(
        "/assessments/2026/objections", params={"district_id": str(w.district)}, headers=admin
    )
    assert [o["objection_id"] for o in listed.json()["objections"]] == [objection["objection_id"]]

    # Uphold: m3's points were 60. m3 scores 100, tied with m1; the tie does not fit the one
    # place, so neither is excellent: m1's grade moved, and m1 gets a new window.
    s.clock.set(at(2027, 1, 6))
    oid = objection["objection_id"]
    unknown = await s.client.post(
        f"/objections/{oid}/uphold",
        json={"reason": "sign-in sheet", "corrections": {"fulfilment_rate": "1"}},
        headers=admin,
    )
    assert unknown.status_code == 422 and "body.corrections.fulfilment_rate" in unknown.text
    not_theirs = await s.client.post(
        f"/objections/{oid}/uphold",
        json={"reason": "x", "corrections": {"points": "60"}},
        headers=h(s, Role.STREET_ADMIN, w.s1),
    )
    assert not_theirs.status_code == 403
    upheld = await s.client.post(
        f"/objections/{oid}/uphold",
        json={"reason": "the sign-in sheet shows it", "corrections": {"points": "60"}},
        headers=admin,
    )
    assert upheld.status_code == 200, upheld.text
    up = upheld.json()
    window = official_calendar().add_working_days(at(2027, 1, 6), 5).at
    assert up["state"] == "upheld" and datetime.fromisoformat(up["objection_deadline"]) == window
    assert {(r["subject_id"], r["grade_before"], r["grade_after"]) for r in up["regraded"]} == {
        (str(w.m[1]), "excellent", "good")
    }
    m3 = await own(s, m3_h)
    assert m3["result"]["score"] == "100.00" and m3["result"]["grade"] == "good"
    assert m3["objections"][0]["state"] == "upheld"
    m1 = await own(s, m1_h)
    assert m1["result"]["grade"] == "good" and m1["assessment_id"] == up["corrected_assessment_id"]
    assert datetime.fromisoformat(m1["objection_deadline"]) == window  # its own, later window
    assert datetime.fromisoformat(m3["objection_deadline"]) == deadline  # unchanged grade

    # m1 objects in its new window; the admin rejects, and a rejection needs a reason.
    filed = await s.client.post(
        "/assessments/2026/objections", data={"reason": "I was excellent"}, headers=m1_h
    )
    assert filed.status_code == 201, filed.text
    rid = filed.json()["objection_id"]
    empty = await s.client.post(f"/objections/{rid}/reject", json={"reason": ""}, headers=admin)
    assert empty.status_code == 422 and "reason" in empty.text
    rejected = await s.client.post(
        f"/objections/{rid}/reject", json={"reason": "the quota's tie rule"}, headers=admin
    )
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    twice = await s.client.post(f"/objections/{rid}/reject", json={"reason": "x"}, headers=admin)
    assert twice.status_code == 409

    # Final only after the last window, on the business clock.
    fin = {"district_id": str(w.district)}
    s.clock.set(deadline + timedelta(minutes=1))  # past the publication's, not m1's window
    early = await s.client.post("/assessments/2026/finalise", json=fin, headers=admin)
    assert early.status_code == 409 and "objection period" in early.text
    s.clock.set(window + timedelta(minutes=1))
    late_objection = await s.client.post(
        "/assessments/2026/objections", data={"reason": "late"}, headers=m1_h
    )
    assert late_objection.status_code == 409
    done = await s.client.post("/assessments/2026/finalise", json=fin, headers=admin)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "final" and done.json()["member_count"] == 4
    assert (await own(s, m1_h))["state"] == "final"
    finals = [p for p in await _final_scored(s) if p["state"] == "final"]
    assert len(finals) == 4 + 2
    assert all(p["assessment_id"] == up["corrected_assessment_id"] for p in finals)
    board = await s.client.get(f"/public/streets/{w.s1}")
    assert "已定档" in board.text and "公示中" not in board.text
    again_final = await s.client.post("/assessments/2026/finalise", json=fin, headers=admin)
    assert again_final.status_code == 409

    # The audit trail tells it in order, with who.
    trail = await s.client.get(
        "/assessments/2026/audit", params={"district_id": str(w.district)}, headers=admin
    )
    entries = trail.json()["items"]
    actions = [(e["action"], e["actor"]) for e in entries]
    assert actions == [
        ("publicised", "secretary"),
        ("objection_filed", "member-3"),
        ("republicised", "secretary"),
        ("objection_upheld", "secretary"),
        ("objection_filed", "member-1"),
        ("objection_rejected", "secretary"),
        ("finalised", "secretary"),
    ]
    assert entries[0]["assessment_id"] == first_id
    assert entries[3]["detail"]["regraded"][0]["subject_id"] == str(w.m[1])


async def test_the_attachment_is_the_objectors_and_the_districts(
    svc: tuple[Served, World],
) -> None:
    s, w = svc
    admin = h(s, Role.DISTRICT_ADMIN, w.district)
    async with s.rt.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT f.file_id, o.objection_id FROM objection_files f JOIN objections o "
            "USING (objection_id) WHERE o.district_id = $1",
            w.district,
        )
    assert row is not None
    url = f"/objections/{row['objection_id']}/files/{row['file_id']}"
    got = await s.client.get(url, headers=admin)
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"
    mine = await s.client.get(url, headers=h(s, Role.MEMBER, w.m[3], subject="member-3"))
    assert mine.status_code == 200
    other = await s.client.get(url, headers=h(s, Role.MEMBER, w.m[1], subject="member-1"))
    assert other.status_code == 404
