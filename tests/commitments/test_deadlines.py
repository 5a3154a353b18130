"""Deadlines under a test clock: reminders and overdue flags, exactly once across a restart."""

from __future__ import annotations

import asyncio
from datetime import date
from uuid import uuid4

from cobuild_contracts import Role
from cobuild_kit.clock import FixedClock
from cobuild_kit.testing import TestIssuer, eventually
from commitments_support import (
    T0,
    envelope,
    item,
    of_type,
    opened,
    publish,
    row,
    service,
    settings,
    settled,
    signed,
    topic_events,
)


def day(d: date) -> object:
    """10:00 Shanghai time on business date `d`, as UTC."""
    return T0 + (d - date(2025, 3, 1))


async def test_overdue_exactly_once_across_a_restart(
    pg_server: object, kafka_bootstrap: str, issuer: TestIssuer, tmp_path: object
) -> None:
    dsn = await pg_server.create_database("commitments_deadlines")  # type: ignore[attr-defined]
    s = settings(dsn, kafka_bootstrap, tmp_path, reminder_days=3)
    clock = FixedClock(T0)
    community, unit = uuid4(), uuid4()
    x = item(unit, community, date(2025, 3, 10), title="Due first")
    y = item(unit, community, date(2025, 3, 20), title="Due after the restart")
    z = item(unit, community, date(2025, 3, 10), title="Done in time, refused late")
    ids = [x.commitment_id, y.commitment_id, z.commitment_id]
    h_unit = issuer.headers(Role.UNIT_ADMIN, unit)
    h_comm = issuer.headers(Role.COMMUNITY_ADMIN, community)

    async def flagged(cid: object) -> bool:
        return (await row(rt, cid) or {}).get("overdue_at") is not None  # type: ignore[arg-type]

    async with service(s, issuer, clock) as (rt, client):
        await publish(kafka_bootstrap, envelope(signed(community, unit, [x, y, z])))
        await opened(rt, *ids)
        zid = z.commitment_id
        assert (await client.post(f"/commitments/{zid}/claim", headers=h_unit)).status_code == 200
        r = await client.post(f"/commitments/{zid}/done", json={}, headers=h_unit)
        assert r.status_code == 200  # done well in time: no reminder, no overdue

        clock.set(day(date(2025, 3, 8)))  # x within 3 days of its deadline: a reminder

        async def x_reminded() -> bool:
            return (await row(rt, x.commitment_id) or {}).get("reminded_at") is not None

        await eventually(x_reminded)
        tasks = (await client.get(f"/units/{unit}/tasks", headers=h_unit)).json()["items"]
        by_id = {t["commitment_id"]: t for t in tasks}
        assert by_id[str(x.commitment_id)]["reminder"]["days_left"] == 2
        assert by_id[str(y.commitment_id)]["reminder"] is None

        clock.set(day(date(2025, 3, 11)))  # the day after x's deadline
        await eventually(lambda: flagged(x.commitment_id))
        await asyncio.sleep(1.0)  # several scans: z was done in time, y is not due
        assert not await flagged(zid) and not await flagged(y.commitment_id)
        tasks = (await client.get(f"/units/{unit}/tasks", headers=h_unit)).json()["items"]
        assert tasks[0]["commitment_id"] == str(x.commitment_id) and tasks[0]["overdue"]

        # z refused after its deadline: overdue at once, in the refusal's own transaction.
        r = await client.post(
            f"/commitments/{zid}/refuse", json={"reason": "photos missing"}, headers=h_comm
        )
        assert r.status_code == 200 and r.json()["overdue"] is True
        # ... and it can still be fulfilled, late.
        assert (
            await client.post(f"/commitments/{zid}/done", json={}, headers=h_unit)
        ).status_code == 200
        r = await client.post(f"/commitments/{zid}/confirm", headers=h_comm)
        assert r.status_code == 200 and r.json()["on_time"] is False
        await settled(rt)

    clock.set(day(date(2025, 3, 21)))  # y crosses its deadline while the service is down
    async with service(s, issuer, clock) as (rt, client):
        await eventually(lambda: flagged(y.commitment_id))
        await asyncio.sleep(1.0)  # several more scans
        await settled(rt)

    out = await topic_events(kafka_bootstrap, ids)
    for cid in ids:
        overdue = of_type(out, "commitment.overdue", cid)
        assert len(overdue) == 1, (cid, overdue)
        assert len(of_type(out, "commitment.reminder_due", cid)) == (0 if cid == zid else 1)
    assert (
        of_type(out, "commitment.overdue", x.commitment_id)[0]
        .payload["detected_at"]
        .startswith("2025-03-11")
    )
    assert (
        of_type(out, "commitment.overdue", y.commitment_id)[0]
        .payload["detected_at"]
        .startswith("2025-03-21")
    )
    fulfilled = of_type(out, "commitment.fulfilled", zid)
    assert len(fulfilled) == 1 and fulfilled[0].payload["on_time"] is False
