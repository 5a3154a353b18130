"""A member hears of their own report and sign-ups, and no one else does (issue 37): a report
accepted or declined (with the reason, told to the person who asked signed in, who holds no
member grant yet), a sign-up confirmed (by the member or the community, 代录), cancelled (by
the community) and its attendance confirmed with hours. Redelivering every event writes and
sends nothing twice."""

from __future__ import annotations

from uuid import uuid4

from cobuild_kit.clock import FixedClock
from cobuild_kit.testing import TestIssuer, eventually
from cobuild_stack.testing import PgServer
from notifications_support import (
    MailServer,
    deliveries,
    local,
    publish,
    sample,
    served,
    settings,
)


async def test_reports_and_sign_ups_reach_that_member_only(
    pg_server: PgServer, kafka_bootstrap: str, issuer: TestIssuer, smtp: MailServer
) -> None:
    member, other, asking = uuid4(), uuid4(), uuid4()
    activity, community = uuid4(), uuid4()
    tag = uuid4().hex[:8]
    me, them, asker = (f"{n}-{tag}" for n in ("me", "them", "asker"))
    at = local(2026, 6, 1)
    dsn = await pg_server.create_database("notifications_members")
    async with served(settings(dsn, kafka_bootstrap, smtp.port), issuer, FixedClock(at)) as s:
        for who in (me, them, asker):
            r = await s.client.put(
                "/preferences", json={"email": f"{who}@example.org", "language": "en"},
                headers=s.as_(who),
            )  # fmt: skip
            assert r.status_code == 200, r.text
        await publish(
            kafka_bootstrap, at,
            sample("grant.added", grant_id=uuid4(), subject=me, role="member", party_id=member),
            sample("grant.added", grant_id=uuid4(), subject=them, role="member", party_id=other),
        )  # fmt: skip
        await s.settle()
        on = dict(activity_id=activity)
        await publish(
            kafka_bootstrap, at,
            # The person asking signed in as themself: no member grant, told by subject.
            sample("member.report_declined", member_id=asking, community_id=community,
                   subject=asker, reason="居住地址不在本社区"),
            sample("member.reported", member_id=member, community_id=community, subject=me),
            sample("activity.published", **on, community_id=community, title="楼道清扫",
                   starts_at="2026-06-06T01:00:00Z", ends_at="2026-06-06T03:00:00Z"),
            sample("activity.signed_up", **on, member_id=member, by_community=False),
            sample("activity.signed_up", **on, member_id=other, by_community=True),
            sample("activity.sign_up_cancelled", **on, member_id=member, by_community=True),
            sample("attendance.confirmed", **on, member_id=other, hours="2.5"),
        )  # fmt: skip
        await s.settle()
        expected = {
            me: ["report_accepted", "sign_up", "sign_up"],
            them: ["sign_up", "sign_up"],
            asker: ["report_declined"],
        }
        for who, kinds in expected.items():
            assert await s.kinds(who) == kinds, who
        words = {who: [(i["title"], i["body"]) for i in await s.inbox(who)] for who in expected}
        [(title, body)] = words[asker]
        assert title == "Your report was declined" and "居住地址不在本社区" in body
        mine = " ".join(b for _, b in words[me])
        assert "You signed up for “楼道清扫”" in mine and "09:00" in mine  # Shanghai time
        assert "The community cancelled your sign-up for “楼道清扫”" in mine
        theirs = " ".join(b for _, b in words[them])
        assert "The community signed you up for “楼道清扫”" in theirs
        assert "2.5 hours" in theirs and "cancelled" not in theirs

        total = sum(len(k) for k in expected.values())

        async def mailed() -> bool:
            return len(smtp.messages) >= total

        await eventually(mailed, timeout=30)
        for who, kinds in expected.items():
            assert len(smtp.to(f"{who}@example.org")) == len(kinds), who

        # Every event again from offset 0: nothing new anywhere.
        await s.rt.rewind_consumers()
        await s.settle()
        for who, kinds in expected.items():
            assert await s.kinds(who) == kinds, who
        assert len(smtp.messages) == total and len(set(smtp.ids())) == total
        assert (await deliveries(s.rt)) == {"sent": total}
