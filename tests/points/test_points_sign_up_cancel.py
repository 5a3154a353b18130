"""A member withdraws their sign-up before the activity starts (issue 36): the place is free
again and `activity.sign_up_cancelled` says so; once checked in, or once started, it stays;
another member cannot withdraw it, the community's admin can (代录), and the event says who
(`by_community`)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

from cobuild_contracts import ActivitySignUpCancelled, Role, decode

from tests.points.test_points_checkin_token import env
from tests.points.test_points_service import (
    T0,
    Env,
    ok,
    publish_activity,
    read_topic,
    reported_member,
)

__all__ = ["env"]


async def test_a_sign_up_is_withdrawn_before_the_start_only(env: Env) -> None:
    env.clock.set(T0)
    member_id, _, me = await reported_member(env, "退报者")
    other_id, _, other = await reported_member(env, "代退者")
    activity = await publish_activity(env, T0 + timedelta(hours=2), hours=2, capacity=1)
    aid = activity["activity_id"]
    await ok(await env.http.post(f"/activities/{aid}/sign-ups", headers=me), 201)
    full = await env.http.post(f"/activities/{aid}/sign-ups", headers=other)
    assert full.status_code == 409 and "full" in full.json()["message"]

    mine = f"/activities/{aid}/sign-ups/{member_id}"
    assert (await env.http.delete(mine, headers=other)).status_code == 403
    stranger = env.as_(Role.COMMUNITY_ADMIN, uuid4())
    assert (await env.http.delete(mine, headers=stranger)).status_code == 403
    done = await ok(await env.http.delete(mine, headers=me))
    assert done["member_id"] == str(member_id)
    again = await env.http.delete(mine, headers=me)
    assert again.status_code == 409 and "not signed up" in again.json()["message"]
    # The place is free again: the other member takes it; the community withdraws it for them.
    await ok(await env.http.post(f"/activities/{aid}/sign-ups", headers=other), 201)
    await ok(await env.http.delete(f"/activities/{aid}/sign-ups/{other_id}", headers=env.admin))

    values = await read_topic(
        env.bootstrap,
        "points.events.v1",
        lambda vs: sum(b"sign_up_cancelled" in v for v in vs) >= 2,
    )
    cancelled = [v for v in values if b"activity.sign_up_cancelled" in v and aid.encode() in v]
    assert len(cancelled) == 2
    assert not [v for v in cancelled if "退报者".encode() in v]  # ids only on the wire
    # Who cancelled it: the member first, then the community for the other (代录).
    events = [decode(v)[1] for v in cancelled]
    by = [(e.member_id, e.by_community) for e in events if isinstance(e, ActivitySignUpCancelled)]
    assert by == [(member_id, False), (other_id, True)]

    # Checked in: it stays. Started: it stays.
    await ok(await env.http.post(f"/activities/{aid}/sign-ups", headers=me), 201)
    env.clock.set(T0 + timedelta(hours=2, minutes=10))
    late = await env.http.delete(mine, headers=me)
    assert late.status_code == 409 and "started" in late.json()["message"]
    await ok(await env.http.post(f"/activities/{aid}/check-in",
                                 json={"code": activity["check_in_code"]}, headers=me))  # fmt: skip
    kept = await env.http.delete(mine, headers=me)
    assert kept.status_code == 409 and "already checked in" in kept.json()["message"]
    async with env.rt.pool.acquire() as conn:
        rows = await conn.fetchval("SELECT count(*) FROM signup WHERE activity_id = $1", UUID(aid))
    assert rows == 1
    env.clock.set(T0)
