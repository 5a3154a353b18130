"""The signed check-in token the community's QR code carries (issue 36): a member checks in by
opening its link during the activity's window; before it opens and after it closes the refusal
says when; a second check-in is refused; a token edited, forged or of another activity is not
a token; only the activity's community admin gets one. A member verifies their own chain. Pure checks of the token first, then the
service against real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from cobuild_contracts import Role, topics
from cobuild_kit.clock import FixedClock
from cobuild_kit.errors import Conflict, Invalid
from cobuild_kit.testing import TestIssuer, running_service
from cobuild_points.app import definition
from cobuild_points.domain import check_in_tokens
from cobuild_points.settings import PointsSettings
from cobuild_stack.testing import PgServer, create_topics

from tests.points.test_points_service import T0, Env, ok, publish_activity, reported_member

KEY = b"k" * 32
START = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
END = START + timedelta(hours=2)


def test_a_token_names_its_window_and_only_its_activity() -> None:
    activity = uuid4()
    token = check_in_tokens.sign(KEY, activity, START, END)
    assert check_in_tokens.window(KEY, activity, token) == (START, END)
    version, nb, na, mac = token.split(".")
    stretched = ".".join([version, nb, str(int(na) + 86_400), mac])
    for bad, key, aid in (
        (token, KEY, uuid4()),  # another activity's
        (token, b"x" * 32, activity),  # another key's
        (stretched, KEY, activity),  # the window edited
        ("1.2.3", KEY, activity),
        ("", KEY, activity),
    ):
        with pytest.raises(Invalid) as refused:
            check_in_tokens.window(key, aid, bad)
        assert refused.value.field == "body.token"


def test_outside_the_window_the_refusal_says_when() -> None:
    check_in_tokens.check_open(START, START, END)
    check_in_tokens.check_open(END, START, END)
    with pytest.raises(Conflict, match="opens at 2026-03-01 09:00"):
        check_in_tokens.check_open(START - timedelta(seconds=1), START, END)
    with pytest.raises(Conflict, match="closed at 2026-03-01 11:00"):
        check_in_tokens.check_open(END + timedelta(seconds=1), START, END)


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
    )
    service = definition(settings, verifier=issuer.verifier, clock=clock)
    async with running_service(service) as (rt, client):
        yield Env(rt, client, clock, issuer, dsn, kafka_bootstrap, uuid4(), uuid4())


async def test_a_member_checks_in_with_the_qr_token_once_and_in_the_window(env: Env) -> None:
    env.clock.set(T0)
    member_id, _, me = await reported_member(env, "扫码者")
    _, _, other = await reported_member(env, "旁观者")
    activity = await publish_activity(env, T0 + timedelta(hours=1), hours=2)
    aid = activity["activity_id"]
    await ok(await env.http.post(f"/activities/{aid}/sign-ups", headers=me), 201)

    issued = await ok(await env.http.get(f"/activities/{aid}/check-in-token", headers=env.admin))
    token = issued["token"]
    assert issued["not_before"] == activity["starts_at"]
    assert issued["not_after"] == activity["ends_at"]
    assert activity["check_in_code"] not in token  # the QR code does not give the code away
    for stranger in (me, env.as_(Role.COMMUNITY_ADMIN, uuid4())):
        hidden = await env.http.get(f"/activities/{aid}/check-in-token", headers=stranger)
        assert hidden.status_code in (403, 404), hidden.text

    url = f"/activities/{aid}/check-in"
    early = await env.http.post(url, json={"token": token}, headers=me)
    assert early.status_code == 409 and "opens at 2026-03-01 10:00" in early.json()["message"]

    env.clock.set(T0 + timedelta(hours=1, minutes=20))
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    bad = await env.http.post(url, json={"token": forged}, headers=me)
    assert bad.status_code == 422 and bad.json()["field"] == "body.token"
    both = await env.http.post(url, json={"token": token, "code": "123456"}, headers=me)
    assert both.status_code == 422
    not_signed_up = await env.http.post(url, json={"token": token}, headers=other)
    assert not_signed_up.status_code == 409

    done = await ok(await env.http.post(url, json={"token": token}, headers=me))
    assert done["member_id"] == str(member_id)
    again = await env.http.post(url, json={"token": token}, headers=me)
    assert again.status_code == 409 and "already checked in" in again.json()["message"]

    # After the window: refused, saying when it closed (a late member signed up in time).
    late_id, _, late = await reported_member(env, "迟到者")
    await ok(await env.http.post(f"/activities/{aid}/sign-ups", headers=late), 201)
    env.clock.set(T0 + timedelta(hours=3, minutes=1))
    closed = await env.http.post(url, json={"token": token}, headers=late)
    assert closed.status_code == 409 and "closed at 2026-03-01 12:00" in closed.json()["message"]
    async with env.rt.pool.acquire() as conn:
        checked = await conn.fetch(
            "SELECT member_id FROM signup WHERE activity_id = $1 AND checked_in_at IS NOT NULL",
            UUID(aid),
        )
    assert [r["member_id"] for r in checked] == [member_id]
    assert late_id != member_id

    # Attendance confirmed, points follow; the member verifies their own chain (a tick on
    # their phone), which nobody else but their community may ask about.
    await ok(
        await env.http.post(
            f"/activities/{aid}/attendances",
            json={"member_id": str(member_id), "hours": "2"},
            headers=env.admin,
        )
    )
    verify = f"/members/{member_id}/points/verify"
    mine = await ok(await env.http.get(verify, params={"year": 2026}, headers=me))
    assert (mine["ok"], mine["chains_checked"], mine["entries_checked"]) == (True, 1, 1)
    ours = await ok(await env.http.get(verify, params={"year": 2026}, headers=env.admin))
    assert ours["ok"] is True
    theirs = await env.http.get(verify, params={"year": 2026}, headers=late)
    assert theirs.status_code == 404
    async with env.rt.pool.acquire() as conn:
        await conn.execute(
            "UPDATE points_chain SET balance = balance + 1 WHERE member_id = $1", member_id
        )
    altered = await ok(await env.http.get(verify, params={"year": 2026}, headers=me))
    assert altered["ok"] is False and "altered" in altered["first_bad"]["problem"]
    empty = await ok(await env.http.get(verify, params={"year": 2025}, headers=me))
    assert (empty["ok"], empty["entries_checked"]) == (True, 0)
    env.clock.set(T0)


async def test_the_code_still_works_and_another_activitys_token_does_not(env: Env) -> None:
    env.clock.set(T0)
    _, _, me = await reported_member(env, "输码者")
    first = await publish_activity(env, T0, hours=2)
    second = await publish_activity(env, T0, hours=2)
    for a in (first, second):
        await ok(await env.http.post(f"/activities/{a['activity_id']}/sign-ups", headers=me), 201)
    token_of_first = (
        await ok(
            await env.http.get(
                f"/activities/{first['activity_id']}/check-in-token", headers=env.admin
            )
        )
    )["token"]
    env.clock.set(T0 + timedelta(minutes=30))
    wrong = await env.http.post(
        f"/activities/{second['activity_id']}/check-in", json={"token": token_of_first}, headers=me
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "body.token"
    await ok(
        await env.http.post(
            f"/activities/{second['activity_id']}/check-in",
            json={"code": second["check_in_code"]},
            headers=me,
        )
    )
    env.clock.set(T0)
