"""A commitment's life (assigned, reminder, overdue, refused, done, confirmed) notifies exactly the
right people, in the inbox and by mail over a real SMTP server; redelivering every event from
offset 0 sends nothing twice; a revoked grant stops notifications for that role."""

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


async def test_a_commitments_life_notifies_the_right_people_once(
    pg_server: PgServer, kafka_bootstrap: str, issuer: TestIssuer, smtp: MailServer
) -> None:
    unit, community, other_unit = uuid4(), uuid4(), uuid4()
    member, bystander = uuid4(), uuid4()
    tag = uuid4().hex[:8]
    unit_admin, worker, m1, m2, stranger, follower = (
        f"{n}-{tag}" for n in ("unit-admin", "worker", "m1", "m2", "stranger", "follower")
    )
    commitment, agreement = uuid4(), uuid4()
    start = local(2026, 6, 1)
    dsn = await pg_server.create_database("notifications_life")
    clock = FixedClock(start)
    async with served(settings(dsn, kafka_bootstrap, smtp.port), issuer, clock) as s:
        # Everyone enters an address; the follower follows the commitment.
        for who in (unit_admin, worker, m1, m2, stranger, follower):
            r = await s.client.put(
                "/preferences", json={"email": f"{who}@example.org", "language": "en"},
                headers=s.as_(who),
            )  # fmt: skip
            assert r.status_code == 200, r.text
        r = await s.client.put(f"/follows/commitment/{commitment}", headers=s.as_(follower))
        assert r.status_code == 200, r.text
        grant = uuid4()
        await publish(
            kafka_bootstrap, start,
            sample("grant.added", grant_id=grant, subject=unit_admin, role="unit_admin",
                   party_id=unit),
            sample("grant.added", grant_id=uuid4(), subject=worker, role="community_admin",
                   party_id=community),
            sample("grant.added", grant_id=uuid4(), subject=m1, role="member", party_id=member),
            sample("grant.added", grant_id=uuid4(), subject=m2, role="member",
                   party_id=bystander),
            sample("grant.added", grant_id=uuid4(), subject=stranger, role="unit_admin",
                   party_id=other_unit),
        )  # fmt: skip
        # Grants and commitment events travel on different topics, read in any order within a
        # batch: the holders are known before their parties' events arrive.
        await s.settle()
        life = dict(commitment_id=commitment, agreement_id=agreement)
        await publish(
            kafka_bootstrap, start,
            sample("commitment.opened", **life, community_id=community, unit_id=unit,
                   obligor_party_id=unit, beneficiary_party_id=community, title="助老送餐",
                   deadline="2026-06-30"),
            sample("task.assigned", commitment_id=commitment, member_ids=[str(member)]),
            sample("commitment.reminder_due", commitment_id=commitment, obligor_party_id=unit,
                   deadline="2026-06-30", days_left=3),
            sample("commitment.overdue", **life, deadline="2026-06-30"),
            sample("commitment.confirmation_refused", commitment_id=commitment,
                   reason="照片不清楚"),
            sample("commitment.marked_done", commitment_id=commitment, obligor_party_id=unit,
                   beneficiary_party_id=community),
            sample("commitment.fulfilled", **life, community_id=community, unit_id=unit,
                   obligor_party_id=unit, beneficiary_party_id=community,
                   participants=[{"member_id": str(member), "hours": "2"}],
                   deadline="2026-06-30", on_time=False),
        )  # fmt: skip
        expected = {
            unit_admin: ["confirmed", "overdue", "refused", "reminder_due"],
            m1: ["assigned", "confirmed", "overdue", "refused", "reminder_due"],
            worker: ["done", "overdue"],  # the beneficiary's worker: confirm, and late
            follower: ["followed"] * 6,  # assigned .. confirmed, as changes followed
            m2: [],
            stranger: [],
        }
        total = sum(len(v) for v in expected.values())

        async def all_mailed() -> bool:
            return len(smtp.messages) >= total

        await s.settle()
        for who, kinds in expected.items():
            assert await s.kinds(who) == kinds, who
        await eventually(all_mailed, timeout=30)
        for who, kinds in expected.items():
            assert len(smtp.to(f"{who}@example.org")) == len(kinds), who
        # The mail: a text and an HTML part, the workbench link and an unsubscribe link.
        [mail] = [m for m in smtp.to(f"{worker}@example.org") if "overdue" in str(m["Subject"])]
        assert str(mail["Subject"]) == "“助老送餐” is overdue"
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f"/tasks/{commitment}" in text and "/unsubscribe/" in text
        assert "<a href=" in html and "/unsubscribe/" in html
        assert mail["List-Unsubscribe"]

        # Redelivery: every event again from offset 0. Nothing new in any inbox or mailbox.
        await s.rt.rewind_consumers()
        await s.settle()
        for who, kinds in expected.items():
            assert await s.kinds(who) == kinds, who
        assert len(smtp.messages) == total
        assert len(set(smtp.ids())) == total
        assert (await deliveries(s.rt)) == {"sent": total}

        # The unit admin's grant is revoked: the next change of the commitment reaches the
        # member (and the follower), not them.
        await publish(
            kafka_bootstrap, start,
            sample("grant.revoked", grant_id=grant, subject=unit_admin, role="unit_admin",
                   party_id=unit),
        )  # fmt: skip
        await s.settle()  # the revocation is read before the change it must silence
        await publish(kafka_bootstrap, start, sample("commitment.cancelled", **life,
                                                     reason="协议终止"))  # fmt: skip
        await s.settle()
        assert await s.kinds(unit_admin) == expected[unit_admin]
        assert (await s.kinds(m1)).count("cancelled") == 1
        assert (await s.kinds(worker)) == ["cancelled", "done", "overdue"]

        # The inbox API: unread count, mark one read, mark all read; another's is 404.
        items = await s.inbox(m1)
        r = await s.client.get("/inbox/unread-count", headers=s.as_(m1))
        assert r.json() == {"unread": len(items)}
        one = items[0]["notification_id"]
        r = await s.client.post(f"/inbox/{one}/read", headers=s.as_(m2))
        assert r.status_code == 404
        r = await s.client.post(f"/inbox/{one}/read", headers=s.as_(m1))
        assert r.status_code == 200
        r = await s.client.get("/inbox/unread-count", headers=s.as_(m1))
        assert r.json() == {"unread": len(items) - 1}
        r = await s.client.post("/inbox/read-all", headers=s.as_(m1))
        assert r.json() == {"marked": len(items) - 1}
        r = await s.client.get("/inbox?unread=true", headers=s.as_(m1))
        assert r.json()["items"] == []
