"""The rules the API description states, each held here: when the overdue flag is and is not
raised for work marked done but not yet confirmed, what a refusal after the deadline does, and
which business date commitment.fulfilled carries (the year of its task points).

The deadlines worker scans once at start and then sleeps for an hour, so each scan below is
called by the test at the instant it chooses (`usecases.deadlines.scan`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from cobuild_commitments.app import definition
from cobuild_commitments.usecases import deadlines
from cobuild_contracts import Role
from cobuild_kit.clock import FixedClock
from cobuild_kit.service import create_app
from cobuild_kit.testing import TestIssuer
from commitments_support import (
    T0,
    envelope,
    item,
    of_type,
    opened,
    publish,
    register_members,
    service,
    settings,
    settled,
    signed,
    topic_events,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEADLINE = date(2025, 3, 10)


def shanghai(d: date, hour: int, minute: int = 0) -> datetime:
    """`hour:minute` on business date `d` in Asia/Shanghai, as UTC."""
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_the_rules_are_written_where_a_client_reads_them() -> None:
    doc = create_app(definition()).openapi()
    text = doc["info"]["description"]
    for phrase in ("on or before", "**not** flagged", "**after** the deadline", "at once"):
        assert phrase in text, phrase
    assert "done_date" in text and "points service" in text
    confirm = doc["paths"]["/commitments/{commitment_id}/confirm"]["post"]["description"]
    assert "done_date" in confirm and "year" in confirm and "Asia/Shanghai" in confirm
    refuse = doc["paths"]["/commitments/{commitment_id}/refuse"]["post"]["description"]
    assert "at once" in refuse


async def test_overdue_for_done_but_unconfirmed_work_and_late_refusals(
    pg_server: object, kafka_bootstrap: str, issuer: TestIssuer, tmp_path: object
) -> None:
    dsn = await pg_server.create_database("commitments_rules")  # type: ignore[attr-defined]
    s = settings(dsn, kafka_bootstrap, tmp_path).model_copy(
        update={"deadline_scan_interval_s": 3600.0}
    )
    clock = FixedClock(T0)
    community, unit = uuid4(), uuid4()
    its = {
        name: item(unit, community, DEADLINE, title=name)
        for name in (
            "done on the deadline's last minutes",
            "never done",
            "done just after the deadline",
            "refused on the deadline",
            "refused after the deadline",
        )
    }
    on_time, owed, late, refused_in_time, refused_late = (i.commitment_id for i in its.values())
    h_unit = issuer.headers(Role.UNIT_ADMIN, unit)
    h_comm = issuer.headers(Role.COMMUNITY_ADMIN, community)

    async with service(s, issuer, clock) as (rt, client):

        async def post(cid: UUID, step: str, headers: dict[str, str], **kw: Any) -> Any:
            r = await client.post(f"/commitments/{cid}/{step}", headers=headers, **kw)
            assert r.status_code == 200, (step, r.text)
            return r.json()

        async def get(cid: UUID) -> Any:
            return (await client.get(f"/commitments/{cid}", headers=h_unit)).json()

        await publish(kafka_bootstrap, envelope(signed(community, unit, list(its.values()))))
        await opened(rt, *(i.commitment_id for i in its.values()))
        for cid in (on_time, owed, late, refused_in_time, refused_late):
            await post(cid, "claim", h_unit)
        for cid in (refused_in_time, refused_late):  # done well in time
            await post(cid, "done", h_unit, json={})

        # The deadline's last minutes in Shanghai (15:30 UTC, the same UTC date).
        clock.set(shanghai(DEADLINE, 23, 30))
        done = await post(on_time, "done", h_unit, json={})
        assert done["done_date"] == str(DEADLINE)
        r = await post(refused_in_time, "refuse", h_comm, json={"reason": "photos missing"})
        assert r["status"] == "in_progress" and r["overdue"] is False  # not past the deadline
        assert r["done_at"] is None and r["done_date"] is None

        # Half an hour later it is the next business date (still the deadline's date in UTC).
        clock.set(shanghai(date(2025, 3, 11), 0, 30))
        done = await post(late, "done", h_unit, json={})
        assert done["done_date"] == "2025-03-11" and done["overdue"] is False  # not yet scanned
        r = await post(refused_late, "refuse", h_comm, json={"reason": "receipt unreadable"})
        assert r["overdue"] is True  # at once, in the refusal's own transaction
        await deadlines.scan(rt)  # type: ignore[arg-type]
        assert (await get(owed))["overdue"] is True  # owed work
        assert (await get(late))["overdue"] is True  # done late, awaiting confirmation
        assert (await get(refused_in_time))["overdue"] is True  # owed again after the refusal
        waiting = await get(on_time)
        assert waiting["status"] == "done_pending_confirmation" and waiting["overdue"] is False

        # Weeks on, still waiting: done in time is never flagged, and confirmed it is on time.
        clock.set(shanghai(date(2025, 4, 20), 10))
        await deadlines.scan(rt)  # type: ignore[arg-type]
        assert (await get(on_time))["overdue"] is False
        r = await post(on_time, "confirm", h_comm)
        assert (r["on_time"], r["overdue"], r["done_date"]) == (True, False, str(DEADLINE))
        r = await post(late, "confirm", h_comm)
        assert (r["on_time"], r["overdue"]) == (False, True)
        # Refused after the deadline: the in-time done no longer counts, the next one decides.
        await post(refused_late, "done", h_unit, json={})
        r = await post(refused_late, "confirm", h_comm)
        assert (r["on_time"], r["done_date"]) == (False, "2025-04-20")
        await settled(rt)

    ids = [i.commitment_id for i in its.values()]
    out = await topic_events(kafka_bootstrap, ids)
    flagged = {UUID(e.key) for e in of_type(out, "commitment.overdue")}
    assert flagged == {owed, late, refused_in_time, refused_late}
    assert all(len(of_type(out, "commitment.overdue", cid)) == 1 for cid in flagged)
    # The late refusal's flag follows the refusal itself.
    late_refusal = [
        e.event_type
        for e in out
        if e.key == str(refused_late)
        and e.event_type in ("commitment.confirmation_refused", "commitment.overdue")
    ]
    assert late_refusal == ["commitment.confirmation_refused", "commitment.overdue"]
    fulfilled = {UUID(e.key): e.payload for e in of_type(out, "commitment.fulfilled")}
    assert (fulfilled[on_time]["done_date"], fulfilled[on_time]["on_time"]) == (
        str(DEADLINE),
        True,
    )
    assert fulfilled[on_time]["confirmed_at"].startswith("2025-04-20")
    assert (fulfilled[late]["done_date"], fulfilled[late]["on_time"]) == ("2025-03-11", False)


async def test_fulfilment_carries_the_shanghai_date_it_was_marked_done(
    pg_server: object, kafka_bootstrap: str, issuer: TestIssuer, tmp_path: object
) -> None:
    """Marked done on 31 December in Shanghai and confirmed in January: commitment.fulfilled
    carries 31 December, so the task points go to that year. Half an hour after midnight in
    Shanghai (still 31 December in UTC), the date is 1 January."""
    dsn = await pg_server.create_database("commitments_done_date")  # type: ignore[attr-defined]
    s = settings(dsn, kafka_bootstrap, tmp_path).model_copy(
        update={"deadline_scan_interval_s": 3600.0}
    )
    clock = FixedClock(T0)
    community, unit = uuid4(), uuid4()
    year_end = date(2025, 12, 31)
    before, after = item(unit, community, year_end), item(unit, community, year_end)
    h_unit = issuer.headers(Role.UNIT_ADMIN, unit)
    h_comm = issuer.headers(Role.COMMUNITY_ADMIN, community)
    member = uuid4()
    body = {"participants": [{"member_id": str(member), "hours": "2.5"}]}

    async with service(s, issuer, clock) as (rt, client):
        await publish(kafka_bootstrap, envelope(signed(community, unit, [before, after])))
        await register_members(kafka_bootstrap, rt, unit, community, member)
        await opened(rt, before.commitment_id, after.commitment_id)
        for it in (before, after):
            r = await client.post(f"/commitments/{it.commitment_id}/claim", headers=h_unit)
            assert r.status_code == 200
        clock.set(shanghai(year_end, 23, 30))
        r = await client.post(
            f"/commitments/{before.commitment_id}/done", json=body, headers=h_unit
        )
        assert r.json()["done_date"] == "2025-12-31"
        clock.set(shanghai(date(2026, 1, 1), 0, 30))
        assert clock.now().date() == year_end  # UTC still says 31 December
        r = await client.post(f"/commitments/{after.commitment_id}/done", json=body, headers=h_unit)
        assert r.json()["done_date"] == "2026-01-01"
        clock.set(shanghai(date(2026, 1, 5), 9))
        for it in (before, after):
            r = await client.post(f"/commitments/{it.commitment_id}/confirm", headers=h_comm)
            assert r.status_code == 200, r.text
            assert r.json()["participants"] == [{"member_id": str(member), "hours": "2.5"}]
        await settled(rt)

    out = await topic_events(kafka_bootstrap, [before.commitment_id, after.commitment_id])
    fulfilled = {UUID(e.key): e.payload for e in of_type(out, "commitment.fulfilled")}
    assert fulfilled[before.commitment_id]["done_date"] == "2025-12-31"
    assert fulfilled[before.commitment_id]["on_time"] is True
    assert fulfilled[before.commitment_id]["confirmed_at"].startswith("2026-01-05")
    assert fulfilled[after.commitment_id]["done_date"] == "2026-01-01"
    assert fulfilled[after.commitment_id]["on_time"] is False
