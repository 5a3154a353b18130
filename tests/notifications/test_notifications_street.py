"""The street's news (issue 37): a person on a daily digest gets one message at 08:00 with the
needs and resources published in their street the day before that they may see, and none in
real time; a need withdrawn before the digest goes is left out (its delivery marked skipped
with the reason, its inbox entry no longer shown). Who hears of what follows what the
agreements service shows: a need to the street's admins and the units that may see it (public:
the street's units; paired_units: its community's units; private: none), a resource to the
street's admins and the communities it serves, never to the publisher itself, never beyond
the street, and to no one on real time. Redelivering every event sends nothing twice."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from cobuild_contracts import Event
from cobuild_kit.clock import FixedClock
from cobuild_kit.testing import TestIssuer, eventually
from cobuild_stack.testing import PgServer
from notifications_support import (
    MailServer,
    Served,
    deliveries,
    local,
    publish,
    sample,
    served,
    settings,
)


def _party(party: UUID, kind: str, name: str, parent: UUID | None, **unit: Any) -> Event:
    fields: dict[str, Any] = {"unit_type": None, "paired_community_ids": [], "code": None}
    fields |= unit
    return sample("party.registered", party_id=party, kind=kind, name=name,
                  parent_id=str(parent) if parent else None, **fields)  # fmt: skip


def _unit(party: UUID, name: str, district: UUID, paired: UUID) -> Event:
    return _party(party, "unit", name, district, unit_type="government_office",
                  paired_community_ids=[str(paired)])  # fmt: skip


def _need(need: UUID, community: UUID, title: str, visibility: str) -> Event:
    return sample("need.published", need_id=need, community_id=community, title=title,
                  visibility=visibility, version=1, wanted_by="2026-09-30")  # fmt: skip


def _resource(resource: UUID, unit: UUID, title: str, serves: list[UUID]) -> Event:
    return sample("resource.offered", resource_id=resource, unit_id=unit, title=title,
                  version=1, available_from="2026-06-01", available_until="2026-12-31",
                  community_ids=[str(c) for c in serves])  # fmt: skip


def _text(s: MailServer, who: str) -> str:
    [mail] = s.to(f"{who}@example.org")
    return str(mail["Subject"]) + "\n" + mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def _prefs(s: Served, who: str, frequency: str) -> None:
    body = {"email": f"{who}@example.org", "frequency": frequency}
    r = await s.client.put("/preferences", json=body, headers=s.as_(who))
    assert r.status_code == 200, r.text


async def test_a_daily_digest_of_the_streets_news_leaves_out_what_was_withdrawn(
    pg_server: PgServer, kafka_bootstrap: str, issuer: TestIssuer, smtp: MailServer
) -> None:
    district, street, other_street = uuid4(), uuid4(), uuid4()
    c1, c2, c3 = uuid4(), uuid4(), uuid4()
    u1, u2, u3 = uuid4(), uuid4(), uuid4()
    tag = uuid4().hex[:8]
    sa, ua1, ua2, ca1, ca2, far, live = (
        f"{n}-{tag}" for n in ("sa", "ua1", "ua2", "ca1", "ca2", "far", "live")
    )
    holds = {sa: ("street_admin", street), ua1: ("unit_admin", u1), ua2: ("unit_admin", u2),
             ca1: ("community_admin", c1), ca2: ("community_admin", c2),
             far: ("unit_admin", u3), live: ("community_admin", c2)}  # fmt: skip
    n1, n2, n3, n4, r1, r2 = (uuid4() for _ in range(6))
    day = local(2026, 6, 10, 10)
    clock = FixedClock(day)
    dsn = await pg_server.create_database("notifications_street")
    async with served(settings(dsn, kafka_bootstrap, smtp.port), issuer, clock) as s:
        for who in holds:
            await _prefs(s, who, "realtime" if who == live else "daily")
        await publish(
            kafka_bootstrap, day,
            _party(district, "district", "黄浦区", None),
            _party(street, "street", "外滩街道", district),
            _party(other_street, "street", "南京东路街道", district),
            _party(c1, "community", "金陵东路社区", street),
            _party(c2, "community", "福州路社区", street),
            _party(c3, "community", "贵州路社区", other_street),
            _unit(u1, "区税务局", district, c1), _unit(u2, "区卫健委", district, c2),
            _unit(u3, "区文旅局", district, c3),
            *(sample("grant.added", grant_id=uuid4(), subject=who, role=role, party_id=party)
              for who, (role, party) in holds.items()),
        )  # fmt: skip
        await s.settle()
        await publish(
            kafka_bootstrap, day,
            _need(n1, c1, "助老送餐", "public"),
            _need(n2, c1, "楼道照明改造", "public"),
            _need(n3, c1, "独居老人探访", "paired_units"),
            _need(n4, c1, "社区内部排班", "private"),
            _need(uuid4(), c3, "别的街道的需求", "public"),
            _resource(r1, u1, "法律咨询", []),
            _resource(r2, u2, "上门义诊", [c2]),
        )  # fmt: skip
        await s.settle()
        later = local(2026, 6, 10, 15)
        clock.set(later)
        await publish(kafka_bootstrap, later, sample("need.withdrawn", need_id=n2,
                                                     community_id=c1, version=2))  # fmt: skip
        await s.settle()
        # Nothing in real time; the realtime worker hears of none of it at all.
        assert smtp.messages == []
        assert await s.inbox(live) == []
        # The withdrawn need is no longer shown in the inboxes either.
        assert [i["title"] for i in await s.inbox(ua2)] == ["New in your street: a need, “助老送餐”"]

        clock.set(local(2026, 6, 11, 7, 59))
        await s.settle()
        await _idle(s)
        assert smtp.messages == []

        clock.set(local(2026, 6, 11, 8, 0))  # the digest: one message each

        async def six() -> bool:
            return len(smtp.messages) >= 6

        await eventually(six, timeout=30)
        await _idle(s)
        wanted = {
            sa: ["助老送餐", "独居老人探访", "社区内部排班", "法律咨询", "上门义诊"],
            ua1: ["助老送餐", "独居老人探访"],
            ua2: ["助老送餐"],
            ca1: ["法律咨询"],
            ca2: ["法律咨询", "上门义诊"],
            far: ["别的街道的需求"],  # their own street's, none of the other's
        }
        everything = ["助老送餐", "楼道照明改造", "独居老人探访", "社区内部排班", "法律咨询",
                      "上门义诊", "别的街道的需求"]  # fmt: skip
        for who, titles in wanted.items():
            text = _text(smtp, who)
            assert [t for t in everything if t in text] == titles, (who, text)
        assert "(5)" in _text(smtp, sa) and "金陵东路社区" in _text(smtp, sa)
        assert smtp.to(f"{live}@example.org") == []
        assert (await deliveries(s.rt)) == {"sent": 12, "skipped": 3}
        async with s.rt.pool.acquire() as conn:
            why = await conn.fetch(
                "SELECT DISTINCT last_error FROM deliveries WHERE status = 'skipped'"
            )
        assert [r["last_error"] for r in why] == [
            "the need was withdrawn or claimed before the digest went out"
        ]

        # Every event again from offset 0: nothing written or sent twice.
        await s.rt.rewind_consumers()
        await s.settle()
        await _idle(s)
        assert len(smtp.messages) == 6
        assert (await deliveries(s.rt)) == {"sent": 12, "skipped": 3}


async def _idle(s: Served) -> None:
    """A few sender rounds pass."""
    import asyncio

    await asyncio.sleep(5 * s.rt.settings.sender_interval_s + 0.3)
