"""The evaluation service against real PostgreSQL and the real broker: events in, ledger,
evaluations, assessment, exports and the public board out."""

from __future__ import annotations

import asyncio
import html
import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import openpyxl
import pytest
import pytest_asyncio
from cobuild_contracts import Role
from cobuild_contracts.events.commitments import CommitmentFulfilled
from cobuild_evaluation.store.policies import load as load_policy
from cobuild_kit.testing import caught_up, eventually
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


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def svc(pg_server: Any, kafka_bootstrap: str) -> AsyncIterator[tuple[Served, World]]:
    dsn = await pg_server.create_database("evaluation")
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
                    ags = await conn.fetchval(
                        "SELECT count(*) FROM agreements WHERE agreement_id = ANY($1)",
                        [world.a1, world.a2, world.a3],
                    )
                return n == 10 and pts == 5 and ags == 3

            await eventually(arrived, timeout=60)
            yield s, world


def h(s: Served, role: Role, party: Any) -> dict[str, str]:
    return s.issuer.headers(role, party)


async def ledger(s: Served, w: World, scope: str, sid: Any, as_of: str) -> dict[str, Any]:
    params = {"scope": scope, "as_of": as_of} | ({"id": str(sid)} if sid else {})
    r = await s.client.get("/ledger", params=params, headers=h(s, Role.DISTRICT_ADMIN, w.district))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def snapshot(s: Served, w: World) -> list[dict[str, Any]]:
    out = []
    for day in ("2026-03-31", "2026-12-31"):
        for scope, sid in (
            ("district", w.district),
            ("street", w.s1),
            ("street", w.s2),
            ("community", w.c1),
            ("community", w.c2),
            ("community", w.c3),
            ("unit", w.u1),
            ("unit", w.u2),
            ("agreement", w.a1),
            ("agreement", w.a3),
            ("commitment", w.k[2]),
        ):
            out.append(await ledger(s, w, scope, sid, day))
    return out


async def test_rates_at_every_level_and_two_dates(svc: tuple[Served, World]) -> None:
    s, w = svc
    march = {
        k: (await ledger(s, w, *k, "2026-03-31"))["figures"]
        for k in (
            ("district", w.district),
            ("street", w.s1),
            ("community", w.c1),
            ("community", w.c2),
            ("community", w.c3),
            ("agreement", w.a1),
            ("commitment", w.k[2]),
        )
    }
    c1 = march[("community", w.c1)]
    assert (c1["signed"], c1["fulfilled"], c1["due"], c1["on_time"], c1["overdue"]) == (
        2,
        1,
        2,
        1,
        1,
    )
    assert c1["fulfilment_rate"] == "0.5000" and c1["fulfilment_rate_fen"] == "0.2500"
    assert c1["on_time_rate"] == "0.5000" and c1["flagged_overdue"] == 1
    assert march[("community", w.c2)]["fulfilment_rate"] == "0.0000"
    assert march[("community", w.c2)]["on_time_rate"] is None  # nothing due yet
    assert march[("street", w.s1)]["fulfilment_rate"] == "0.3333"
    assert march[("street", w.s1)]["fulfilment_rate_fen"] == "0.1000"
    assert march[("district", w.district)]["fulfilment_rate"] == "0.2000"
    assert march[("district", w.district)]["fulfilment_rate_fen"] == "0.0800"
    assert march[("agreement", w.a1)] == c1
    assert march[("commitment", w.k[2])]["overdue"] == 1

    dec = await ledger(s, w, "district", w.district, "2026-12-31")
    f = dec["figures"]
    assert (f["signed"], f["cancelled"], f["fulfilled"], f["overdue"]) == (5, 1, 3, 1)
    assert f["fulfilment_rate"] == "0.7500" and f["fulfilment_rate_fen"] == "0.4583"
    assert f["on_time_rate"] == "0.5000"  # k1, k5 on time of k1, k2, k3, k5 due
    # drill-down: district → streets → communities → agreements → commitments
    streets = {c["id"]: c["figures"] for c in dec["children"]}
    assert dec["child_scope"] == "street" and streets[str(w.s1)]["fulfilment_rate"] == "0.6667"
    assert streets[str(w.s2)]["fulfilment_rate"] == "1.0000"
    assert streets[str(w.s2)]["fulfilment_rate_fen"] == "0.7500"
    street = await ledger(s, w, "street", w.s1, "2026-12-31")
    assert {c["id"] for c in street["children"]} == {str(w.c1), str(w.c2)}
    community = await ledger(s, w, "community", w.c3, "2026-12-31")
    assert [c["id"] for c in community["children"]] == [str(w.a3)]
    agreement = await ledger(s, w, "agreement", w.a3, "2026-12-31")
    kids = {c["id"]: c["figures"] for c in agreement["children"]}
    assert kids[str(w.k[4])]["cancelled"] == 1 and kids[str(w.k[5])]["on_time"] == 1
    unit = await ledger(s, w, "unit", w.u1, "2026-12-31")
    assert unit["figures"]["fulfilment_rate"] == "0.6667"
    assert {c["id"] for c in unit["children"]} == {str(w.a1), str(w.a2)}


async def test_the_drill_down_comes_in_pages(svc: tuple[Served, World]) -> None:
    """A community with thousands of agreements answers one page of them at a time."""
    s, w = svc
    hdr = h(s, Role.DISTRICT_ADMIN, w.district)
    for scope, sid, every in (
        ("unit", w.u1, {str(w.a1), str(w.a2)}),
        ("district", w.district, {str(w.s1), str(w.s2)}),
    ):
        seen: list[str] = []
        offset: int | None = 0
        while offset is not None:
            params = {"scope": scope, "id": str(sid), "as_of": "2026-12-31"}
            params |= {"children_limit": "1", "children_offset": str(offset)}
            page = (await s.client.get("/ledger", params=params, headers=hdr)).json()
            assert page["children_total"] == 2 and len(page["children"]) == 1, page
            seen += [c["id"] for c in page["children"]]
            offset = page["children_next_offset"]
        assert sorted(seen) == sorted(every)
    whole = await ledger(s, w, "agreement", w.a3, "2026-12-31")
    assert whole["children_next_offset"] is None
    assert whole["children_total"] == len(whole["children"]) >= 2
    bad = await s.client.get("/ledger", params={"scope": "all", "children_limit": "0"}, headers=hdr)
    assert bad.status_code == 422 and "children_limit" in bad.text


async def test_street_admin_reads_its_subtree_only(svc: tuple[Served, World]) -> None:
    s, w = svc
    hdr = h(s, Role.STREET_ADMIN, w.s1)
    ok = await s.client.get("/ledger", params={"scope": "community", "id": str(w.c1)}, headers=hdr)
    assert ok.status_code == 200
    # Outside its subtree: 404, the answer for what does not exist, so existence does not leak.
    other = await s.client.get(
        "/ledger", params={"scope": "community", "id": str(w.c3)}, headers=hdr
    )
    assert other.status_code == 404, other.text
    nowhere = await s.client.get(
        "/ledger", params={"scope": "community", "id": str(uuid4())}, headers=hdr
    )
    assert nowhere.json()["message"].startswith("no community")
    assert other.json()["message"] == f"no community {w.c3}"
    whole = await s.client.get(
        "/ledger", params={"scope": "district", "id": str(w.district)}, headers=hdr
    )
    assert whole.status_code == 404
    # A role that never reads ledgers is 403 whatever it names: that leaks nothing.
    member = await s.client.get(
        "/ledger", params={"scope": "community", "id": str(w.c1)}, headers=h(s, Role.MEMBER, w.m[1])
    )
    assert member.status_code == 403 and "may not" in member.json()["message"]


async def test_the_whole_ledger_is_the_operators(svc: tuple[Served, World]) -> None:
    """scope=all reaches every district: operators only; a district admin reads its own."""
    s, w = svc
    params = {"scope": "all", "as_of": "2026-12-31"}
    district = h(s, Role.DISTRICT_ADMIN, w.district)
    refused = await s.client.get("/ledger", params=params, headers=district)
    assert refused.status_code == 403 and "operators" in refused.json()["message"]
    export = await s.client.get("/exports/ledger.csv", params=params, headers=district)
    assert export.status_code == 403
    operator = h(s, Role.OPERATOR, uuid4())
    whole = await s.client.get("/ledger", params=params, headers=operator)
    assert whole.status_code == 200, whole.text
    assert str(w.district) in {c["id"] for c in whole.json()["children"]}
    assert whole.json()["figures"]["signed"] >= 5
    csv = await s.client.get("/exports/ledger.csv", params=params, headers=operator)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    own = await s.client.get(
        "/ledger", params={"scope": "district", "id": str(w.district)}, headers=district
    )
    assert own.status_code == 200
    another = await s.client.get(
        "/ledger", params={"scope": "district", "id": str(uuid4())}, headers=district
    )
    assert another.status_code == 404


async def test_rebuild_equals_incremental(svc: tuple[Served, World]) -> None:
    s, w = svc
    before = await snapshot(s, w)
    parties = "SELECT * FROM ledger_agreements ORDER BY agreement_id"
    async with s.rt.pool.acquire() as conn:  # damage the aggregates: rebuild must not need them
        known = await conn.fetch(parties)
        await conn.execute("DELETE FROM ledger_daily WHERE scope_kind = 'community'")
        await conn.execute("DELETE FROM ledger_agreements WHERE agreement_id = $1", w.a1)
    r = await s.client.post("/ops/ledger/rebuild", headers=h(s, Role.OPERATOR, uuid4()))
    assert r.status_code == 200 and r.json()["journal_entries"] >= 10
    assert await snapshot(s, w) == before
    async with s.rt.pool.acquire() as conn:
        assert await conn.fetch(parties) == known and len(known) >= 3
    for role, party in ((Role.STREET_ADMIN, w.s1), (Role.DISTRICT_ADMIN, w.district)):
        refused = await s.client.post("/ops/ledger/rebuild", headers=h(s, role, party))
        assert refused.status_code == 403 and "operators only" in refused.json()["message"]


async def test_resident_codes_single_use(svc: tuple[Served, World]) -> None:
    s, w = svc
    url = f"/commitments/{w.k[1]}/resident-codes"
    denied = await s.client.post(url, json={"count": 1}, headers=h(s, Role.COMMUNITY_ADMIN, w.c3))
    assert denied.status_code == 403
    open_one = await s.client.post(
        f"/commitments/{w.k[3]}/resident-codes", json={}, headers=h(s, Role.COMMUNITY_ADMIN, w.c2)
    )
    assert open_one.status_code == 409 and "open" in open_one.json()["message"]
    issued = await s.client.post(url, json={"count": 2}, headers=h(s, Role.COMMUNITY_ADMIN, w.c1))
    assert issued.status_code == 201, issued.text
    code, second = issued.json()["codes"]
    assert len(code) >= 16 and code != second
    first = await s.client.post(  # a resident, from an address of its own
        "/public/resident-evaluations",
        json={"code": code, "rating": 5, "comment": "好"},
        headers={"X-Forwarded-For": "10.0.0.7"},
    )
    assert first.status_code == 201, first.text
    again = await s.client.post("/public/resident-evaluations", json={"code": code, "rating": 1})
    assert again.status_code == 410 and "already been used" in again.json()["message"]
    bad = await s.client.post("/public/resident-evaluations", json={"code": "x" * 16, "rating": 3})
    assert bad.status_code == 404
    wrong = await s.client.post("/public/resident-evaluations", json={"code": second, "rating": 9})
    assert wrong.status_code == 422 and wrong.json()["field"] == "body.rating"
    async with s.rt.pool.acquire() as conn:  # only hashes are stored
        assert not await conn.fetchval(
            "SELECT count(*) FROM resident_codes WHERE code_hash = $1", code
        )
    aggs = await s.client.get(
        "/evaluations",
        params={"subject_kind": "commitment", "subject_id": str(w.k[1])},
        headers=h(s, Role.COMMUNITY_ADMIN, w.c1),
    )
    assert aggs.json()["resident"] == {"count": 1, "mean": "5.00", "distribution": {"5": 1}}


async def test_experts_score_within_assignment_only(svc: tuple[Served, World]) -> None:
    s, w = svc
    admin = h(s, Role.DISTRICT_ADMIN, w.district)
    expert = (
        await s.client.post("/experts", json={"name": "王专家", "field": "社区治理"}, headers=admin)
    ).json()
    eid = expert["expert_id"]
    assigned = await s.client.post(
        "/expert-assignments",
        json={
            "expert_id": eid,
            "subject_kind": "commitment",
            "subject_id": str(w.k[5]),
            "criteria": ["quality", "timeliness"],
        },
        headers=admin,
    )
    assert assigned.status_code == 201, assigned.text
    twice = await s.client.post(
        "/expert-assignments",
        json={"expert_id": eid, "subject_kind": "commitment", "subject_id": str(w.k[5]),
              "criteria": ["quality"]},
        headers=admin,
    )  # fmt: skip
    assert twice.status_code == 409
    async with s.rt.pool.acquire() as conn:  # in the assignment's transaction, once: ids only
        told = await conn.fetch(
            "SELECT key, envelope->'payload' AS p FROM outbox WHERE event_type = 'expert.assigned'"
            " AND envelope->'payload'->>'expert_id' = $1",
            eid,
        )
    assert [(r["key"], r["p"]) for r in told] == [
        (str(w.k[5]), {"assignment_id": assigned.json()["assignment_id"], "expert_id": eid,
                       "subject_kind": "commitment", "subject_id": str(w.k[5]),
                       "assigned_at": told[0]["p"]["assigned_at"]})
    ]  # fmt: skip
    eh = h(s, Role.EXPERT, eid)
    outside = await s.client.post(
        "/expert-evaluations",
        json={"subject_kind": "commitment", "subject_id": str(w.k[1]), "criteria": {"quality": 90}},
        headers=eh,
    )
    assert outside.status_code == 403 and "not assigned" in outside.json()["message"]
    wrong = await s.client.post(
        "/expert-evaluations",
        json={"subject_kind": "commitment", "subject_id": str(w.k[5]), "criteria": {"quality": 90}},
        headers=eh,
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "body.criteria"
    ok = await s.client.post(
        "/expert-evaluations",
        json={
            "subject_kind": "commitment",
            "subject_id": str(w.k[5]),
            "criteria": {"quality": 90, "timeliness": 80},
        },
        headers=eh,
    )
    assert ok.status_code == 201 and ok.json()["score"] == "85.00"
    mine = await s.client.get("/expert-assignments", headers=eh)
    assert mine.status_code == 200, mine.text
    (only,) = mine.json()["items"]
    assert only["subject_id"] == str(w.k[5]) and only["evaluated_at"] is not None
    assert mine.json()["total"] == 1 and mine.json()["next_offset"] is None
    assert (await s.client.get("/expert-assignments", headers=admin)).status_code == 403
    listed = await s.client.get("/experts", params={"limit": 500}, headers=admin)
    assert eid in {e["expert_id"] for e in listed.json()["items"]}
    rated = await s.client.post(
        "/member-ratings",
        json={"member_id": str(w.m[1]), "year": 2026, "score": "80"},
        headers=h(s, Role.COMMUNITY_ADMIN, w.c1),
    )
    assert rated.status_code == 201, rated.text
    not_mine = await s.client.post(
        "/member-ratings",
        json={"member_id": str(w.m[3]), "year": 2026, "score": "80"},
        headers=h(s, Role.COMMUNITY_ADMIN, w.c1),
    )
    assert not_mine.status_code == 403


async def _publishable(s: Served) -> None:
    await eventually(lambda: caught_up(s.rt), timeout=30)


async def results(s: Served, w: World, subject: str, headers: dict[str, str]) -> dict[str, Any]:
    r = await s.client.get(
        "/assessments/2026",
        params={"district_id": str(w.district), "subject": subject},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_preview_equals_publish_and_is_deterministic(svc: tuple[Served, World]) -> None:
    s, w = svc
    s.clock.set(at(2027, 1, 5))
    admin = h(s, Role.DISTRICT_ADMIN, w.district)
    body = {"district_id": str(w.district), "policy_version": "2026-v1"}
    p1 = await s.client.post("/assessments/2026/preview", json=body, headers=admin)
    p2 = await s.client.post("/assessments/2026/preview", json=body, headers=admin)
    assert p1.status_code == 200, p1.text
    assert p1.content == p2.content  # byte-identical
    preview = p1.json()
    members = {m["subject_id"]: m for m in preview["members"]}
    assert members[str(w.m[1])]["score"] == "94.00" and members[str(w.m[1])]["grade"] == "excellent"
    assert members[str(w.m[3])]["score"] == "75.00" and members[str(w.m[4])]["score"] == "8.33"
    units = {u["subject_id"]: u for u in preview["units"]}
    assert units[str(w.u2)]["score"] == "97.19" and units[str(w.u2)]["grade"] == "excellent"
    assert units[str(w.u1)]["score"] == "62.75" and units[str(w.u1)]["grade"] == "pass"
    assert preview["totals"]["member_grades"] == {"excellent": 1, "good": 1, "pass": 0, "fail": 2}

    denied = await s.client.post(
        "/assessments/2026/publish", json=body, headers=h(s, Role.STREET_ADMIN, w.s1)
    )
    assert denied.status_code == 403
    await _publishable(s)
    pub = await s.client.post("/assessments/2026/publish", json=body, headers=admin)
    assert pub.status_code == 201, pub.text
    assert pub.json()["digest"] == preview["digest"]
    stored = await results(s, w, "member", admin)
    assert stored["items"] == preview["members"] and stored["total"] == 4
    assert (await results(s, w, "unit", admin))["items"] == preview["units"]
    assert stored["totals"] == preview["totals"]
    paged = await s.client.get(
        "/assessments/2026",
        params={"district_id": str(w.district), "limit": 3, "offset": 3},
        headers=admin,
    )
    assert paged.json()["items"] == preview["members"][3:] and paged.json()["next_offset"] is None
    elsewhere = await s.client.get(
        "/assessments/2026",
        params={"district_id": str(w.district)},
        headers=h(s, Role.DISTRICT_ADMIN, uuid4()),
    )
    assert elsewhere.status_code == 404  # another district's: as if never published
    async with s.rt.pool.acquire() as conn:
        completed = await conn.fetchval(
            """SELECT envelope->'payload'->>'district_id' FROM outbox
               WHERE event_type = 'assessment.completed'
                 AND envelope->'payload'->>'assessment_id' = $1""",
            pub.json()["assessment_id"],
        )
    assert completed == str(w.district)  # assessment.completed names the district assessed

    async with s.rt.pool.acquire() as conn:
        kinds = await conn.fetch(
            "SELECT event_type, count(*) AS n FROM outbox WHERE envelope->'payload'->>'assessment_id' = $1 GROUP BY 1",
            pub.json()["assessment_id"],
        )
    assert {r["event_type"]: r["n"] for r in kinds} == {
        "member.scored": 4,
        "unit.scored": 2,
        "assessment.completed": 1,
    }

    again = await s.client.post("/assessments/2026/publish", json=body, headers=admin)
    assert again.status_code == 409 and "re-publication" in again.json()["message"]
    v2 = {"district_id": str(w.district), "policy_version": "2026-v2"}
    no_reason = await s.client.post("/assessments/2026/publish", json=v2, headers=admin)
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "body.reason"
    await _publishable(s)
    re = await s.client.post(
        "/assessments/2026/publish", json=v2 | {"reason": "value-weighted"}, headers=admin
    )
    assert re.status_code == 201, re.text
    assert re.json()["supersedes_assessment_id"] == pub.json()["assessment_id"]
    async with s.rt.pool.acquire() as conn:
        sup = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE envelope->'payload'->>'supersedes_assessment_id' = $1",
            pub.json()["assessment_id"],
        )
    assert sup == 7

    ranks = await s.client.get(
        "/assessments/2026/rankings",
        params={"district_id": str(w.district), "scope": "community", "id": str(w.c1)},
        headers=h(s, Role.COMMUNITY_ADMIN, w.c1),
    )
    assert [(r["rank"], r["subject_id"]) for r in ranks.json()["items"]] == [
        (1, str(w.m[1])),
        (2, str(w.m[2])),
    ]
    assert ranks.json()["total"] == 2
    outside = await s.client.get(
        "/assessments/2026/rankings",
        params={"district_id": str(w.district), "scope": "community", "id": str(w.c3)},
        headers=h(s, Role.COMMUNITY_ADMIN, w.c1),
    )
    assert outside.status_code == 404


async def test_xlsx_and_csv_exports(svc: tuple[Served, World]) -> None:
    s, w = svc
    admin = h(s, Role.DISTRICT_ADMIN, w.district)
    r = await s.client.get(
        "/exports/ledger.xlsx",
        params={"scope": "street", "id": str(w.s1), "as_of": "2026-12-31"},
        headers=admin,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    header = rows[0]
    top = dict(zip(header, rows[1], strict=True))
    assert top["signed"] == 3 and top["fulfilled"] == 2 and float(top["fulfilment_rate"]) == 0.6667
    children = {row[2]: dict(zip(header, row, strict=True)) for row in rows[2:]}
    assert children[str(w.c1)]["fulfilment_rate"] == 1 and children[str(w.c2)]["overdue"] == 1
    unit = await s.client.get(
        "/exports/ledger.csv",
        params={"scope": "unit", "id": str(w.u1), "as_of": "2026-12-31"},
        headers=admin,
    )
    text = unit.content.decode("utf-8-sig")
    assert ",'=恒达公司" in text  # a name that starts with '=' cannot run as a formula
    res = await s.client.get(
        "/exports/assessments/2026.xlsx", params={"district_id": str(w.district)}, headers=admin
    )
    sheet = openpyxl.load_workbook(io.BytesIO(res.content)).active
    got = {row[1]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert got[str(w.u2)][6] in ("excellent", "good")  # current = the 2026-v2 re-publication
    assert len(got) == 6


def _chromium() -> str:
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )
    if path:
        return path
    if os.geteuid() == 0:
        subprocess.run("apt-get update && apt-get install -y chromium", shell=True, check=True)
        return "/usr/bin/chromium"
    pytest.fail("Debian's chromium is missing: install it with `sudo apt-get install -y chromium`")


@pytest.mark.browser
async def test_public_board_renders_in_chromium(svc: tuple[Served, World]) -> None:
    s, w = svc
    browser = await asyncio.to_thread(_chromium)
    s.clock.set(at(2027, 1, 5))
    with tempfile.TemporaryDirectory() as profile:
        proc = await asyncio.create_subprocess_exec(
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            f"{s.base_url}/public/streets/{w.s1}?year=2026",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    dom = out.decode()
    assert f"东街道 {w.tag}" in dom
    assert 'id="fulfilment-rate">66.67%<' in dom  # street S1 as of today: 2 of 3
    assert 'id="rate-chart"' in dom and dom.count('class="bar"') == 3  # total + 2 communities
    assert 'data-rate="1.0000"' in dom  # community C1
    assert str(w.a1) in dom and str(w.a2) in dom and str(w.a3) not in dom
    assert f"http://points.example/public/communities/{w.c1}/honour-roll" in dom
    assert "<title>" in dom
    # community page over plain HTTP: the honour roll lists the excellent unit of C3
    page = await s.client.get(f"/public/communities/{w.c3}", params={"year": 2026})
    assert page.status_code == 200 and f"实验学校 {w.tag}" in page.text
    for m in w.m.values():
        assert str(m) not in dom and str(m) not in page.text  # no personal data


async def test_the_board_answers_json_with_names_to_a_client_that_asks(
    svc: tuple[Served, World],
) -> None:
    """The console's public pages read the board as JSON (Accept: application/json) from the
    same address: names of the street's communities and the community's units, the place
    above, the agreements; HTML stays the default."""
    s, w = svc
    json_only = {"accept": "application/json"}
    street = await s.client.get(f"/public/streets/{w.s1}", headers=json_only)
    assert street.status_code == 200 and street.headers["content-type"] == "application/json"
    b = street.json()
    assert (b["kind"], b["id"], b["name"]) == ("street", str(w.s1), f"东街道 {w.tag}")
    assert b["parent"] == {"kind": "district", "id": str(w.district), "name": f"测试区 {w.tag}"}
    assert {c["name"] for c in b["children"]} == {f"花园社区 {w.tag}", f"河畔社区 {w.tag}"}
    assert sum(c["figures"]["signed"] for c in b["children"]) == b["figures"]["signed"]
    assert {a["unit"] for a in b["agreements"]} == {f"=恒达公司 {w.tag}"}
    community = (
        await s.client.get(f"/public/communities/{w.c1}", headers=json_only, params={"year": 2026})
    ).json()
    assert community["parent"] == {"kind": "street", "id": str(w.s1), "name": f"东街道 {w.tag}"}
    [unit] = community["children"]
    assert (unit["id"], unit["name"], unit["agreements"]) == (str(w.u1), f"=恒达公司 {w.tag}", 1)
    assert unit["figures"] == community["figures"]
    # A browser asks for HTML first: the page, as before.
    page = await s.client.get(
        f"/public/streets/{w.s1}", headers={"accept": "text/html,application/json;q=0.9"}
    )
    assert page.headers["content-type"].startswith("text/html") and "<title>" in page.text
    assert (await s.client.get(f"/public/streets/{w.s1}")).text.startswith("<!doctype html>")
    for m in w.m.values():
        assert str(m) not in street.text  # no personal data
    # With the console's address set, a browser is sent to its board; JSON stays here.
    s.rt.settings.board_url = "http://console.example:8100/"
    try:
        moved = await s.client.get(f"/public/communities/{w.c1}", params={"year": 2026})
        assert moved.status_code == 307
        assert moved.headers["location"] == (
            f"http://console.example:8100/board/communities/{w.c1}?year=2026"
        )
        kept = await s.client.get(f"/public/streets/{w.s1}", headers=json_only)
        assert kept.status_code == 200 and kept.json()["id"] == str(w.s1)
    finally:
        s.rt.settings.board_url = ""


async def test_work_confirmed_after_publication_waits_for_a_republication(
    svc: tuple[Served, World], kafka_bootstrap: str
) -> None:
    """The documented rule (publish's description): the ledger books late work on its
    confirmation date at once; the published scores stay until the year is published again,
    and a re-publication still reads the year's ledger as of 31 December."""
    s, _ = svc
    w = World()  # a district of its own: the module's district is published already
    late = {3, 5}  # k3 (unit u1) and k5 (unit u2) stay open until after the publication
    done = [
        e
        for e in commitment_events(w)
        if not (isinstance(e, CommitmentFulfilled) and e.commitment_id in {w.k[i] for i in late})
    ]
    await send(kafka_bootstrap, "agreements", agreement_events(w))
    await send(kafka_bootstrap, "commitments", done)
    admin = h(s, Role.DISTRICT_ADMIN, w.district)
    body = {"district_id": str(w.district), "policy_version": "2026-v1"}
    v2 = {"district_id": str(w.district), "policy_version": "2026-v2"}

    async def journal(n: int) -> bool:
        async with s.rt.pool.acquire() as conn:
            got = await conn.fetchval(
                "SELECT count(*) FROM ledger_journal WHERE commitment_id = ANY($1)",
                list(w.k.values()),
            )
        return bool(got == n)

    await eventually(lambda: journal(9), timeout=60)
    await _publishable(s)
    pub = await s.client.post("/assessments/2026/publish", json=body, headers=admin)
    assert pub.status_code == 201, pub.text
    before = await results(s, w, "unit", admin)
    v2_before = (await s.client.post("/assessments/2026/preview", json=v2, headers=admin)).json()
    u1_2026 = (await ledger(s, w, "unit", w.u1, "2026-12-31"))["figures"]

    plan = w.plan()

    def fulfilled(i: int, confirmed: datetime) -> CommitmentFulfilled:
        agreement, community, unit_id, deadline, fen = plan[i]
        return CommitmentFulfilled(
            commitment_id=w.k[i],
            agreement_id=agreement,
            community_id=community,
            unit_id=unit_id,
            obligor_party_id=unit_id,
            beneficiary_party_id=community,
            participants=[],
            committed_quantity=1,
            actual_quantity=1,
            partial=False,
            committed_fen=fen,
            paid_fen=fen,
            deadline=deadline,
            done_at=confirmed,
            done_date=confirmed.date(),
            confirmed_at=confirmed,
            on_time=False,
        )

    # k3 confirmed within the year (20 December), k5 in the next (10 January 2027).
    await send(
        kafka_bootstrap,
        "commitments",
        [fulfilled(3, at(2026, 12, 20)), fulfilled(5, at(2027, 1, 10))],
    )
    await eventually(lambda: journal(11), timeout=60)

    # The ledger books each on its confirmation date.
    assert (await ledger(s, w, "commitment", w.k[3], "2026-12-19"))["figures"]["fulfilled"] == 0
    assert (await ledger(s, w, "commitment", w.k[3], "2026-12-20"))["figures"]["fulfilled"] == 1
    assert (await ledger(s, w, "commitment", w.k[5], "2026-12-31"))["figures"]["fulfilled"] == 0
    assert (await ledger(s, w, "commitment", w.k[5], "2027-01-10"))["figures"]["fulfilled"] == 1
    assert (await ledger(s, w, "unit", w.u1, "2026-12-31"))["figures"] != u1_2026

    # The published scores do not move.
    assert await results(s, w, "unit", admin) == before

    # A re-publication scores the inputs as they stand: k3 (dated 2026) counts, k5 (2027) not.
    await _publishable(s)
    re = await s.client.post(
        "/assessments/2026/publish", json=v2 | {"reason": "late confirmations"}, headers=admin
    )
    assert re.status_code == 201, re.text
    assert re.json()["supersedes_assessment_id"] == pub.json()["assessment_id"]
    after = {u["subject_id"]: u for u in (await results(s, w, "unit", admin))["items"]}
    was = {u["subject_id"]: u for u in v2_before["units"]}
    assert after[str(w.u1)] != was[str(w.u1)]  # k3's fulfilment reached the year's scores
    assert after[str(w.u2)] == was[str(w.u2)]  # k5's, dated 2027, did not


async def _fresh_world(s: Served, bootstrap: str) -> World:
    """A district of its own (the module's is published already), its ledger arrived."""
    w = World()
    await send(bootstrap, "agreements", agreement_events(w))
    await send(bootstrap, "commitments", commitment_events(w))

    async def arrived() -> bool:
        async with s.rt.pool.acquire() as conn:
            n = await conn.fetchval(
                "SELECT count(*) FROM ledger_journal WHERE commitment_id = ANY($1)",
                list(w.k.values()),
            )
        return bool(n == 10)

    await eventually(arrived, timeout=60)
    return w


async def test_resident_codes_are_bounded_per_commitment(
    svc: tuple[Served, World], kafka_bootstrap: str
) -> None:
    """Hardening: a beneficiary minted codes without limit. A commitment has at most
    `resident_codes_per_commitment` in all; past it, 409 naming body.count, nothing written."""
    s, _ = svc
    w = await _fresh_world(s, kafka_bootstrap)
    cap = 50  # the default of the setting resident_codes_per_commitment
    url = f"/commitments/{w.k[5]}/resident-codes"
    admin = h(s, Role.COMMUNITY_ADMIN, w.c3)

    async def issued() -> int:
        async with s.rt.pool.acquire() as conn:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM resident_codes WHERE commitment_id = $1", w.k[5]
                )
            )

    alone = await s.client.post(url, json={"count": cap + 1}, headers=admin)
    assert alone.status_code == 422 and alone.json()["field"] == "body.count", alone.text
    first = await s.client.post(url, json={"count": 40}, headers=admin)
    assert first.status_code == 201 and len(first.json()["codes"]) == 40
    over = await s.client.post(url, json={"count": 11}, headers=admin)
    assert over.status_code == 409, over.text
    assert over.json()["field"] == "body.count" and "40 issued" in over.json()["message"]
    assert await issued() == 40  # nothing half-written
    rest = await s.client.post(url, json={"count": 10}, headers=admin)
    assert rest.status_code == 201, rest.text
    again = await s.client.post(url, json={"count": 1}, headers=admin)
    assert again.status_code == 409 and again.json()["field"] == "body.count"
    assert await issued() == cap
    # Concurrent issues cannot pass the bound together.
    other = f"/commitments/{w.k[1]}/resident-codes"
    c1 = h(s, Role.COMMUNITY_ADMIN, w.c1)
    answers = await asyncio.gather(
        *(s.client.post(other, json={"count": 20}, headers=c1) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [201, 201, 409, 409]
    assert s.rt.settings.resident_codes_per_commitment == cap


async def test_a_self_redemption_is_flagged_audited_and_left_out_of_the_means(
    svc: tuple[Served, World], kafka_bootstrap: str
) -> None:
    """Hardening: 40 ratings of 1 redeemed by the issuing community moved a unit's resident
    mean to 1.00. A redemption from the issuing address, or with the issuing party's token,
    is stored flagged, audited, and counts neither in the commitment's aggregate nor in the
    assessment's resident component; supervisors see how many were flagged."""
    s, _ = svc
    w = await _fresh_world(s, kafka_bootstrap)
    was = s.clock.now()
    s.clock.set(at(2026, 12, 1))
    per_minute = s.rt.settings.resident_redeem_attempts_per_minute
    s.rt.settings.resident_redeem_attempts_per_minute = 100  # 42 redemptions from two addresses
    try:
        c1 = h(s, Role.COMMUNITY_ADMIN, w.c1)
        issued = await s.client.post(
            f"/commitments/{w.k[1]}/resident-codes", json={"count": 42}, headers=c1
        )
        assert issued.status_code == 201, issued.text
        codes = issued.json()["codes"]
        url = "/public/resident-evaluations"
        resident = await s.client.post(
            url, json={"code": codes[0], "rating": 5}, headers={"X-Forwarded-For": "10.9.8.7"}
        )
        assert resident.status_code == 201, resident.text
        # the issuing admin's own address (this client's, 127.0.0.1), 40 times
        for code in codes[1:41]:
            own = await s.client.post(url, json={"code": code, "rating": 1})
            assert own.status_code == 201, own.text  # not told apart to the redeemer
        # from elsewhere, but with the issuing party's token
        token = await s.client.post(
            url,
            json={"code": codes[41], "rating": 1},
            headers={"X-Forwarded-For": "10.9.8.8", **c1},
        )
        assert token.status_code == 201, token.text

        street = h(s, Role.STREET_ADMIN, w.s1)
        aggs = await s.client.get(
            "/evaluations",
            params={"subject_kind": "commitment", "subject_id": str(w.k[1])},
            headers=street,
        )
        assert aggs.status_code == 200, aggs.text
        assert aggs.json()["resident"] == {"count": 1, "mean": "5.00", "distribution": {"5": 1}}
        assert aggs.json()["flagged"] == 41

        admin = h(s, Role.DISTRICT_ADMIN, w.district)
        preview = await s.client.post(
            "/assessments/2026/preview",
            json={"district_id": str(w.district), "policy_version": "2026-v1"},
            headers=admin,
        )
        assert preview.status_code == 200, preview.text
        units = {u["subject_id"]: u for u in preview.json()["units"]}
        assert units[str(w.u1)]["components"]["resident_mean"] == "100.00"  # 5 × 20, not 1.10

        async with s.rt.pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT action, actor_subject, party_id, client_address, flagged, flag_reason,
                          evaluation_id, code_hash
                   FROM resident_code_audit WHERE commitment_id = $1 ORDER BY id""",
                w.k[1],
            )
            stored = await conn.fetch(
                "SELECT flagged FROM evaluations WHERE subject_id = $1", w.k[1]
            )
        issues = [r for r in rows if r["action"] == "issued"]
        redemptions = [r for r in rows if r["action"] == "redeemed"]
        assert len(issues) == 42 and len(redemptions) == 42
        assert {(r["actor_subject"], r["party_id"], r["client_address"]) for r in issues} == {
            (f"community_admin:{w.c1}", w.c1, "127.0.0.1")
        }
        assert all(code not in {r["code_hash"] for r in rows} for code in codes)  # hashed
        flagged = [r for r in redemptions if r["flagged"]]
        assert len(flagged) == 41
        assert {r["client_address"] for r in redemptions if not r["flagged"]} == {"10.9.8.7"}
        assert redemptions[-1]["party_id"] == w.c1 and redemptions[-1]["flagged"]
        assert "token" in redemptions[-1]["flag_reason"]
        assert "address" in flagged[0]["flag_reason"]
        assert all(r["evaluation_id"] is not None for r in redemptions)
        assert sorted(r["flagged"] for r in stored) == [False] + [True] * 41
    finally:
        s.clock.set(was)
        s.rt.settings.resident_redeem_attempts_per_minute = per_minute


async def test_the_board_honours_only_the_policys_grades(
    svc: tuple[Served, World], kafka_bootstrap: str
) -> None:
    """Hardening item "public honour roll serves every grade": the board's units are those
    graded into the policy's unit_honour_grades only."""
    s, _ = svc
    w = await _fresh_world(s, kafka_bootstrap)
    admin = h(s, Role.DISTRICT_ADMIN, w.district)
    await _publishable(s)
    pub = await s.client.post(
        "/assessments/2026/publish",
        json={"district_id": str(w.district), "policy_version": "2026-v1"},
        headers=admin,
    )
    assert pub.status_code == 201, pub.text
    grades = {u["subject_id"]: u["grade"] for u in (await results(s, w, "unit", admin))["items"]}
    honoured = {g.value for g in load_policy("2026-v1").unit_honour_grades}
    assert grades[str(w.u1)] not in honoured, grades  # so the check below means something
    names = {str(w.u1): f"=恒达公司 {w.tag}", str(w.u2): f"实验学校 {w.tag}"}
    pairs = {str(w.u1): (w.c1, w.c2), str(w.u2): (w.c3,)}
    for unit, communities in pairs.items():
        for community in communities:
            page = await s.client.get(f"/public/communities/{community}", params={"year": 2026})
            assert page.status_code == 200, page.text
            roll = page.text.split('id="honour-roll"', 1)[1]
            shown = html.escape(names[unit]) in roll
            assert shown == (grades[unit] in honoured), (unit, grades[unit], roll)


async def test_a_members_ratings_are_read_by_the_member_and_its_communitys_admins_only(
    svc: tuple[Served, World],
) -> None:
    """The hardening issue's "Member ratings readable by any community or street admin": m1
    serves in c1 (street s1). c3 is under s2; to its admins m1 is unknown, as an id that does
    not exist."""
    s, w = svc
    params = {"subject_kind": "member", "subject_id": str(w.m[1])}

    async def read(role: Role, party: Any) -> int:
        answer = await s.client.get("/evaluations", params=params, headers=h(s, role, party))
        return answer.status_code

    assert await read(Role.MEMBER, w.m[1]) == 200
    assert await read(Role.COMMUNITY_ADMIN, w.c1) == 200
    assert await read(Role.STREET_ADMIN, w.s1) == 200
    assert await read(Role.DISTRICT_ADMIN, w.district) == 200
    assert await read(Role.COMMUNITY_ADMIN, w.c3) == 404
    assert await read(Role.STREET_ADMIN, w.s2) == 404
    assert await read(Role.MEMBER, w.m[2]) == 404
    unknown = await s.client.get(
        "/evaluations",
        params={"subject_kind": "member", "subject_id": str(uuid4())},
        headers=h(s, Role.COMMUNITY_ADMIN, w.c3),
    )
    hidden = await s.client.get(
        "/evaluations", params=params, headers=h(s, Role.COMMUNITY_ADMIN, w.c3)
    )
    assert unknown.json()["field"] == hidden.json()["field"] == "query.subject_id"


async def test_an_expert_joining_the_directory_is_published_with_its_sign_in(
    svc: tuple[Served, World],
) -> None:
    """`expert.registered` (issue 33): the access service grants the expert role from it.
    It carries the expert id and, when the admin gave it, the sign-in; never the name."""
    s, w = svc
    admin = h(s, Role.DISTRICT_ADMIN, w.district)
    signed, unsigned = uuid4(), uuid4()
    for expert_id, extra in ((signed, {"subject": "oidc|expert-li"}), (unsigned, {})):
        body = {"expert_id": str(expert_id), "name": "李评审", **extra}
        added = await s.client.post("/experts", json=body, headers=admin)
        assert added.status_code == 201, added.text
    again = await s.client.post(
        "/experts", json={"expert_id": str(signed), "name": "李评审"}, headers=admin
    )
    assert again.status_code == 409
    blank = await s.client.post("/experts", json={"name": "李评审", "subject": ""}, headers=admin)
    assert blank.status_code == 422 and blank.json()["field"] == "body.subject"
    async with s.rt.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT key, envelope FROM outbox WHERE event_type = 'expert.registered' "
            "AND key = ANY($1::text[]) ORDER BY id",
            [str(signed), str(unsigned)],
        )
    payloads = [r["envelope"]["payload"] for r in rows]
    assert [(p["expert_id"], p["subject"]) for p in payloads] == [
        (str(signed), "oidc|expert-li"),
        (str(unsigned), None),
    ]
    assert all("李评审" not in json.dumps(r["envelope"], ensure_ascii=False) for r in rows)
