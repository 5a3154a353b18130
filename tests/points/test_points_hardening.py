"""What a hostile user and a careless one broke in the points service, held shut: the honour
roll serves only honoured grades and only the member opts in to the full name; check-in
codes take a bounded number of guesses; a registration's answer about a phone tells the
admin no more than they may know; a transfer goes to a community of the directory."""

from __future__ import annotations

import types
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from cobuild_contracts import Grade, MemberScored, Role, topics
from cobuild_kit import rate_limits
from cobuild_kit.clock import FixedClock
from cobuild_kit.testing import TestIssuer, eventually, running_service
from cobuild_points.app import definition
from cobuild_points.domain.roster import PHONE_ELSEWHERE, PHONE_KNOWN
from cobuild_points.settings import PointsSettings
from cobuild_stack.testing import PgServer, create_topics

from tests.points.test_points_service import (
    T0,
    Env,
    ok,
    phone,
    produce_event,
    publish_activity,
    reported_member,
)

PER_MEMBER = 5  # check-in attempts a minute, per member and activity
PER_ACTIVITY = 8  # check-in attempts a minute, per activity
PHONE_REFUSALS = 6  # phones registered elsewhere a minute, per registering admin


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(
    pg_server: PgServer, kafka_bootstrap: str, tmp_path_factory: Any
) -> AsyncIterator[Env]:
    names = [t for topic in topics.ALL_TOPICS for t in (topic, topics.dlq(topic))]
    await create_topics(kafka_bootstrap, names)
    dsn = await pg_server.create_database("points")
    issuer, clock = TestIssuer(), FixedClock(T0)
    settings = PointsSettings(
        database_url=dsn,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=Path(tmp_path_factory.mktemp("points")),
        outbox_poll_interval_s=0.2,
        check_in_attempts_per_minute=PER_MEMBER,
        check_in_activity_attempts_per_minute=PER_ACTIVITY,
        phone_refusals_per_minute=PHONE_REFUSALS,
    )
    service = definition(settings, verifier=issuer.verifier, clock=clock)
    async with running_service(service) as (rt, client):
        yield Env(rt, client, clock, issuer, dsn, kafka_bootstrap, uuid4(), uuid4())


class WallClock:
    """The rate limits' wall clock, which a test may move on (the window is a minute)."""

    def __init__(self) -> None:
        self.shift = 0.0
        self._real = rate_limits.time.monotonic

    def monotonic(self) -> float:
        return self._real() + self.shift


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> Iterator[WallClock]:
    clock = WallClock()
    monkeypatch.setattr(rate_limits, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    yield clock


async def in_directory(env: Env, kind: str = "community", *, active: bool = True) -> UUID:
    """A party of the parties directory, as the agreements service's events would leave it."""
    party_id = uuid4()
    async with env.rt.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO party_directory (party_id, kind, name, active, version) "
            "VALUES ($1, $2, $3, $4, 1)",
            party_id,
            kind,
            f"{kind} {party_id}",
            active,
        )
    return party_id


async def members_with(env: Env, *phones: str) -> int:
    async with env.rt.pool.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM member WHERE phone = ANY($1::text[])", list(phones)
        )
    return count


def roster(*rows: tuple[str, ...], extra: str = "") -> dict[str, Any]:
    header = "name,phone,unit_id,community_id,grid_id" + (f",{extra}" if extra else "")
    text = "\n".join([header, *(",".join(r) for r in rows)]) + "\n"
    return {"file": ("members.csv", text.encode(), "text/csv")}


# --- 1. the honour roll: honoured grades only; the member alone opts in ----------------------


async def test_honour_roll_serves_only_the_honoured_grades(env: Env) -> None:
    best, _, _ = await reported_member(env, "优秀者")
    worst, _, _ = await reported_member(env, "不及格")
    for member_id, grade, score, rank in ((best, Grade.EXCELLENT, "96", 1),
                                          (worst, Grade.FAIL, "41", 2)):  # fmt: skip
        await produce_event(env, MemberScored(
            assessment_id=uuid4(), year=2026, policy_version="2026-v1", member_id=member_id,
            community_id=env.community, unit_id=env.unit, score=Decimal(score), grade=grade,
            rank_in_community=rank,
        ))  # fmt: skip
    url = f"/public/communities/{env.community}/honour-roll"

    async def scored_both() -> bool:
        async with env.rt.pool.acquire() as conn:
            n = await conn.fetchval(
                "SELECT count(*) FROM member_score WHERE member_id = ANY($1::uuid[])", [best, worst]
            )
        return bool(n == 2)

    await eventually(scored_both, timeout=30)
    roll = await ok(await env.http.get(url, params={"year": 2026}))
    assert [i["name"] for i in roll["items"]] == ["优*"] and roll["grade"] == "excellent"
    for grade in ("fail", "pass", "good"):
        refused = await env.http.get(url, params={"year": 2026, "grade": grade})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "query.grade" and "不" not in refused.text


async def test_only_the_member_opts_in_to_the_full_name(env: Env) -> None:
    number = phone()
    body = {"name": "高调者", "phone": number, "unit_id": str(env.unit),
            "community_id": str(env.community), "show_full_name": True}  # fmt: skip
    for actor in (env.unit_admin, env.admin):
        single = await env.http.post("/members", json=body, headers=actor)
        assert single.status_code == 422, single.text
        assert single.json()["field"] == "body.show_full_name"
        assert "only the member" in single.json()["message"]
    bulk = await env.http.post(
        f"/units/{env.unit}/members/bulk",
        json={"members": [{k: v for k, v in body.items() if k != "unit_id"}]},
        headers=env.unit_admin,
    )
    assert bulk.status_code == 422 and bulk.json()["field"] == "body.members.0.show_full_name"
    csv_file = roster(("高调者", number, str(env.unit), str(env.community), "", "true"),
                      extra="show_full_name")  # fmt: skip
    imported = await env.http.post("/members/import", files=csv_file, headers=env.unit_admin)
    assert imported.status_code == 422, imported.text
    assert [(r["row"], r["field"]) for r in imported.json()["rows"]] == [(2, "show_full_name")]
    assert await members_with(env, number) == 0  # nothing half-written

    # Registered masked; the admins may not opt the member in, the member may.
    del body["show_full_name"]
    member = await ok(await env.http.post("/members", json=body, headers=env.unit_admin), 201)
    assert member["show_full_name"] is False
    url = f"/members/{member['member_id']}/preferences"
    for actor in (env.unit_admin, env.admin):
        admin = await env.http.patch(url, json={"show_full_name": True}, headers=actor)
        assert admin.status_code == 403
    me = env.as_(Role.MEMBER, UUID(member["member_id"]))
    opted = await ok(await env.http.patch(url, json={"show_full_name": True}, headers=me))
    assert opted["show_full_name"] is True


# --- 2. check-in codes: bounded guesses ---------------------------------------------------------


async def test_check_in_guesses_are_bounded_and_a_right_code_waits_the_window(
    env: Env, wall: WallClock
) -> None:
    env.clock.set(T0)
    _, _, me_a = await reported_member(env, "猜码甲")
    _, _, me_b = await reported_member(env, "猜码乙")
    activity = await publish_activity(env, T0 + timedelta(hours=1), hours=2)
    aid, code = activity["activity_id"], activity["check_in_code"]
    for me in (me_a, me_b):
        await ok(await env.http.post(f"/activities/{aid}/sign-ups", headers=me), 201)
    env.clock.set(T0 + timedelta(hours=1, minutes=30))
    url = f"/activities/{aid}/check-in"
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    async def attempt(me: dict[str, str], given: str) -> int:
        return (await env.http.post(url, json={"code": given}, headers=me)).status_code

    # Member A: PER_MEMBER wrong guesses, then even the right code is refused.
    assert [await attempt(me_a, wrong) for _ in range(PER_MEMBER)] == [422] * PER_MEMBER
    limited = await env.http.post(url, json={"code": code}, headers=me_a)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    # Member B has guesses of their own left, but the activity's bound is shared.
    left = PER_ACTIVITY - PER_MEMBER
    assert [await attempt(me_b, wrong) for _ in range(left)] == [422] * left
    assert await attempt(me_b, code) == 429
    async with env.rt.pool.acquire() as conn:
        checked = await conn.fetchval(
            "SELECT count(*) FROM signup WHERE activity_id = $1 AND checked_in_at IS NOT NULL",
            UUID(aid),
        )
    assert checked == 0

    wall.shift = 61.0  # the minute has passed
    assert await attempt(me_a, code) == 200
    assert await attempt(me_b, code) == 200
    env.clock.set(T0)


# --- 3. a phone already registered: no more than the admin may know ----------------------------


async def test_a_taken_phone_is_named_only_to_an_admin_who_looks_after_its_member(
    env: Env,
) -> None:
    # Elsewhere: another unit in another community; and another's member who has left.
    other_unit, other_community = uuid4(), uuid4()
    other_admin = env.as_(Role.UNIT_ADMIN, other_unit)
    elsewhere, gone = phone(), phone()
    for name, number in (("别处人", elsewhere), ("离开者", gone)):
        body = {"name": name, "phone": number, "unit_id": str(other_unit),
                "community_id": str(other_community)}  # fmt: skip
        member = await ok(await env.http.post("/members", json=body, headers=other_admin), 201)
    await ok(await env.http.post(f"/members/{member['member_id']}/leave",
                                 json={"reason": "调离"}, headers=other_admin))  # fmt: skip
    _, mine, _ = await reported_member(env, "本单位")

    # A fresh unit admin (its own refusal count), registering members of its unit here.
    unit = uuid4()
    admin = env.as_(Role.UNIT_ADMIN, unit)

    def single(number: str) -> dict[str, str]:
        return {"name": "新登记", "phone": number, "unit_id": str(unit),
                "community_id": str(env.community)}  # fmt: skip

    answers = [await env.http.post("/members", json=single(p), headers=admin)
               for p in (elsewhere, gone)]  # fmt: skip
    assert [a.status_code for a in answers] == [409, 409]
    bodies = [a.json() for a in answers]
    assert bodies[0] == bodies[1]  # registered elsewhere, or left: one answer
    assert (bodies[0]["error"], bodies[0]["message"], bodies[0]["field"]) == (
        "conflict", PHONE_ELSEWHERE, "body.phone")  # fmt: skip
    for text in (answers[0].text, answers[1].text):
        assert str(other_unit) not in text and str(other_community) not in text
        assert "别处人" not in text and "离开者" not in text and "left" not in text

    # The same answer by item and by row; a phone of the admin's own member is named so.
    own = await env.http.post(
        "/members", json={**single(mine), "unit_id": str(env.unit)}, headers=env.unit_admin
    )
    assert own.status_code == 409 and own.json()["message"] == PHONE_KNOWN
    fresh = phone()
    items = [{k: v for k, v in single(p).items() if k != "unit_id"} for p in (fresh, elsewhere)]
    bulk = await env.http.post(f"/units/{unit}/members/bulk", json={"members": items},
                               headers=admin)  # fmt: skip
    assert bulk.status_code == 409
    (item,) = bulk.json()["fields"]  # the item's status, then the single path's message
    assert item == {"field": "body.members.1.phone", "message": f"conflict: {PHONE_ELSEWHERE}"}
    rows = roster(("新登记", fresh, str(unit), str(env.community), ""),
                  ("新登记", gone, str(unit), str(env.community), ""))  # fmt: skip
    imported = await env.http.post("/members/import", files=rows, headers=admin)
    assert imported.status_code == 422
    assert imported.json()["rows"] == [{"row": 3, "field": "phone", "message": PHONE_ELSEWHERE}]
    assert await members_with(env, fresh) == 0

    # 2 + 1 + 1 answers so far; the rest of the minute's allowance, then a 429 naming none.
    spent = 4
    for _ in range(PHONE_REFUSALS - spent):
        assert (await env.http.post("/members", json=single(elsewhere), headers=admin)).status_code == 409  # fmt: skip
    over = await env.http.post("/members", json=single(elsewhere), headers=admin)
    assert over.status_code == 429 and over.json().get("field") is None
    assert "retry-after" in over.headers
    over_bulk = await env.http.post(f"/units/{unit}/members/bulk", json={"members": items},
                                    headers=admin)  # fmt: skip
    assert over_bulk.status_code == 429 and not over_bulk.json().get("fields")
    # A free phone is not a guess: it registers as before.
    await ok(await env.http.post("/members", json=single(fresh), headers=admin), 201)


# --- 4. a transfer goes to a registered community -----------------------------------------------


async def test_transfer_goes_only_to_a_community_of_the_directory(env: Env) -> None:
    member_id, _, me = await reported_member(env, "搬家者")
    url = f"/members/{member_id}/transfer"
    unit = await in_directory(env, "unit")
    closed = await in_directory(env, "community", active=False)
    for target in (uuid4(), unit, closed):
        refused = await env.http.post(url, json={"to_community_id": str(target)}, headers=me)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "body.to_community_id"
    async with env.rt.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT community_id FROM member WHERE member_id = $1", member_id)
    assert row["community_id"] == env.community  # nothing half-written
    target = await in_directory(env, "community")
    moved = await ok(await env.http.post(url, json={"to_community_id": str(target)}, headers=me))
    assert moved["community_id"] == str(target)
