"""Follow and unfollow over HTTP, and the question the workbench's follow button asks: does
this person follow this need, agreement or commitment (`GET /follows/{kind}/{id}`)? Each
person's answer is their own; an unknown kind is refused naming the path's field."""

from __future__ import annotations

from uuid import uuid4

from cobuild_kit.clock import FixedClock
from cobuild_kit.testing import TestIssuer
from cobuild_stack.testing import PgServer
from notifications_support import local, served, settings


async def test_the_follow_state_is_each_persons_own(
    pg_server: PgServer, kafka_bootstrap: str, issuer: TestIssuer
) -> None:
    tag = uuid4().hex[:8]
    wang, li = f"wang-{tag}", f"li-{tag}"
    need, agreement, commitment = uuid4(), uuid4(), uuid4()
    dsn = await pg_server.create_database("notifications_follows")
    async with served(
        settings(dsn, kafka_bootstrap, None), issuer, FixedClock(local(2026, 6, 1))
    ) as s:

        async def state(who: str, kind: str, target: object) -> bool:
            r = await s.client.get(f"/follows/{kind}/{target}", headers=s.as_(who))
            assert r.status_code == 200, r.text
            return bool(r.json()["following"])

        for kind, target in (("need", need), ("agreement", agreement), ("commitment", commitment)):
            assert await state(wang, kind, target) is False
            r = await s.client.put(f"/follows/{kind}/{target}", headers=s.as_(wang))
            assert r.status_code == 200 and r.json() == {"following": True}, r.text
            assert await state(wang, kind, target) is True
            assert await state(li, kind, target) is False  # another person's follow is not hers
        # The same id under another kind is another thing.
        assert await state(wang, "agreement", need) is False

        r = await s.client.delete(f"/follows/need/{need}", headers=s.as_(wang))
        assert r.status_code == 200 and r.json() == {"following": False}, r.text
        assert await state(wang, "need", need) is False
        assert await state(wang, "commitment", commitment) is True
        listed = await s.client.get("/follows", headers=s.as_(wang))
        assert {(f["target_kind"], f["target_id"]) for f in listed.json()} == {
            ("agreement", str(agreement)),
            ("commitment", str(commitment)),
        }

        unknown = await s.client.get(f"/follows/whistle/{need}", headers=s.as_(wang))
        assert unknown.status_code == 422 and unknown.json()["field"] == "path.target_kind"
        anonymous = await s.client.get(f"/follows/need/{need}")
        assert anonymous.status_code == 401
