"""Hardening: an accepted command must not write an event that can never be sent.

An agreement draft of 200 items with long descriptions fits under the 1 MiB body limit, but
its proposal.made event, as the relay sends it (PostgreSQL's text of the jsonb envelope), was
about 1.07 MB: over the producer's 1 MiB max_request_size. It was accepted (201), and the relay
then retried that row every second for ever, and no later agreements event left. Now the
outbox refuses an envelope over the event bound (cobuild_kit.kafka.MAX_EVENT_BYTES, 900 KiB) at
the command, with a 413 naming the field, before anything commits.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cobuild_contracts import Role
from cobuild_kit.kafka import MAX_EVENT_BYTES, MAX_REQUEST_BYTES
from security_support import Suite, World, item

pytestmark = pytest.mark.asyncio(loop_scope="session")

BODY_LIMIT = 1_048_576  # the kit's default max_body_bytes


def _draft(world: World, wide: int) -> bytes:
    """200 items (the most a draft takes), each with a 4,000-character description of which
    `wide` characters are Chinese (3 bytes each in UTF-8), as compact JSON."""
    description = ("楼道照明" * 1000)[:wide] + "x" * (4000 - wide)
    items = [
        item(world, title=f"{i:03d} " + "楼道照明改造及线路检修" * 17, description=description)
        for i in range(200)
    ]
    body = {
        "community_id": str(world.C), "unit_id": str(world.U), "term_start": "2025-03-01",
        "term_end": "2025-12-31", "items": items,
    }  # fmt: skip
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _just_under_the_body_limit(world: World) -> bytes:
    best = _draft(world, 0)
    for wide in range(0, 4001, 25):
        body = _draft(world, wide)
        if len(body) >= BODY_LIMIT - 8_192:
            break
        best = body
    return best


async def _agreements(suite: Suite) -> int:
    async with suite.rts["agreements"].pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM agreement"))


async def test_a_draft_whose_event_would_be_too_large_is_refused_with_413_and_writes_nothing(
    suite: Suite, world: World
) -> None:
    body = _just_under_the_body_limit(world)
    assert BODY_LIMIT - 8_192 - 30_000 < len(body) < BODY_LIMIT  # accepted by the body limit
    outbox_before = await suite.outbox_counts()
    agreements_before = await _agreements(suite)

    r = await suite.call(
        "agreements", "POST", "/agreements", Role.COMMUNITY_ADMIN, world.C,
        content=body, headers={"content-type": "application/json"},
    )  # fmt: skip

    assert r.status_code == 413, r.text[:500]
    answer: dict[str, Any] = r.json()
    assert answer["error"] == "too_large"
    assert answer["field"] == "payload.items"
    assert "proposal.made" in answer["message"]
    assert f"{MAX_EVENT_BYTES:,}" in answer["message"]
    # The figure in the message: the event as the relay would send it, over the producer's max.
    size = int(answer["message"].split(" is ")[1].split(" bytes")[0].replace(",", ""))
    print(f"draft body {len(body):,} bytes; its event {size:,} bytes")
    assert size > MAX_REQUEST_BYTES > len(body)
    assert await suite.outbox_counts() == outbox_before  # no outbox row, anywhere
    assert await _agreements(suite) == agreements_before  # and no state: one transaction


async def test_a_large_draft_under_the_event_bound_is_still_accepted_and_its_event_leaves(
    suite: Suite, world: World
) -> None:
    """The bound refuses only what could never be sent: 200 items with half-length
    descriptions (a body of about 570 KB) are drafted, and their event is published."""
    body = _draft(world, 0).replace(b"x" * 2000, b"", 200)
    assert 500_000 < len(body) < 600_000
    r = await suite.call(
        "agreements", "POST", "/agreements", Role.COMMUNITY_ADMIN, world.C,
        content=body, headers={"content-type": "application/json"},
    )  # fmt: skip
    assert r.status_code == 201, r.text[:500]
    await suite.settled()  # the relay drained it: nothing parked, nothing stuck
    async with suite.rts["agreements"].pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT published_at, parked_at FROM outbox WHERE event_type = 'proposal.made' "
            "ORDER BY id DESC LIMIT 1"
        )
    assert row is not None and row["published_at"] is not None and row["parked_at"] is None
