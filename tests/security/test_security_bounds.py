"""Numbers and dates out of bounds are refused at the door (hardening issue, High 3 and Low).

A value one service accepts must be one every other service can store: a draft with a quantity
of 3*10^9 or funds of 2^63 used to be signed and then dead-lettered by the commitments or the
evaluation consumer for good. Every command now refuses such a value with 422 naming the field
and writes no outbox row; an overflowing query (`offset`) or path (`year`) integer and a date
at year 1 or 9999 give 4xx, never 500 (cobuild_contracts.base: MAX_FEN, MAX_QUANTITY, ...)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cobuild_contracts import Role
from cobuild_contracts.base import MAX_FEN, MAX_QUANTITY
from security_support import YEAR, Suite, World, item, need_body, resource_body

D, S, C, U = Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN
HUGE = (3 * 10**9, 2**63 - 1, 2**63, 2**64, 2**70)


def refused(r: httpx.Response, field: str, status: int = 422) -> None:
    """`status`, with the error naming the field (the kit's body: error, message, field)."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert field in str(body.get("field")), body


async def refused_without_effect(
    suite: Suite, service: str, method: str, url: str, role: Role, party: Any, field: str,
    **kw: Any,
) -> None:  # fmt: skip
    before = await suite.outbox_counts()
    refused(await suite.call(service, method, url, role, party, **kw), field)
    assert await suite.outbox_counts() == before


def proposal(w: World, **item_kw: Any) -> dict[str, Any]:
    return {
        "community_id": str(w.C), "unit_id": str(w.U), "term_start": "2025-03-01",
        "term_end": "2025-12-31", "items": [item(w, **item_kw)],
    }  # fmt: skip


@pytest.mark.parametrize("quantity", [MAX_QUANTITY + 1, *HUGE])
async def test_a_draft_with_an_unstorable_quantity_is_refused(
    suite: Suite, world: World, quantity: int
) -> None:
    await refused_without_effect(suite, "agreements", "POST", "/agreements", C, world.C,
                                 "items.0.quantity", json=proposal(world, quantity=quantity))  # fmt: skip


@pytest.mark.parametrize("funds", [MAX_FEN + 1, *HUGE[1:]])
async def test_a_draft_with_unstorable_funds_is_refused(
    suite: Suite, world: World, funds: int
) -> None:
    await refused_without_effect(suite, "agreements", "POST", "/agreements", C, world.C,
                                 "items.0.funds_fen", json=proposal(world, funds_fen=funds))  # fmt: skip


async def test_the_bound_itself_is_accepted(suite: Suite, world: World) -> None:
    r = await suite.call("agreements", "POST", "/agreements", C, world.C,
                         json=proposal(world, quantity=MAX_QUANTITY, funds_fen=MAX_FEN))  # fmt: skip
    assert r.status_code == 201, r.text


async def test_every_agreements_command_bounds_its_numbers(suite: Suite, world: World) -> None:
    ag, a = "agreements", world.agreement
    big = 2**63
    await refused_without_effect(
        suite,
        ag,
        "POST",
        f"/agreements/{a}/amendments",
        C,
        world.C,
        "added_items.0.funds_fen",
        json={"added_items": [item(world, funds_fen=big)], "reason": "more"},
    )
    await refused_without_effect(
        suite,
        ag,
        "POST",
        f"/agreements/{a}/counters",
        U,
        world.U,
        "counters_version",
        json={**proposal(world), "counters_version": big},
    )
    await refused_without_effect(suite, ag, "POST", f"/agreements/{a}/signatures", C, world.C,
                                 "version", json={"version": big})  # fmt: skip
    await refused_without_effect(suite, ag, "POST", "/needs", C, world.C, "funds_fen",
                                 json=need_body(world.C, funds_fen=2**64))  # fmt: skip
    await refused_without_effect(suite, ag, "POST", "/needs", C, world.C, "beneficiaries",
                                 json=need_body(world.C, beneficiaries=3 * 10**9))  # fmt: skip
    await refused_without_effect(suite, ag, "POST", "/resources", U, world.U, "capacity",
                                 json=resource_body(world.U, capacity=10**10))  # fmt: skip
    await refused_without_effect(suite, ag, "POST", "/resources", U, world.U, "funds_fen",
                                 json=resource_body(world.U, funds_fen=big))  # fmt: skip


async def test_every_commitments_command_bounds_its_numbers(suite: Suite, world: World) -> None:
    cm, k = "commitments", world.k2
    await refused_without_effect(suite, cm, "POST", f"/commitments/{k}/progress", U, world.U,
                                 "paid_fen", json={"percent": 10, "paid_fen": 2**63})  # fmt: skip
    await refused_without_effect(suite, cm, "POST", f"/commitments/{k}/done", U, world.U,
                                 "actual_quantity", json={"actual_quantity": 3 * 10**9})  # fmt: skip
    await refused_without_effect(suite, cm, "POST", f"/commitments/{k}/confirm", C, world.C,
                                 "actual_quantity", json={"actual_quantity": 2**64})  # fmt: skip


@pytest.mark.parametrize("offset", [10**8, 2**63, 2**70])
async def test_an_overflowing_offset_is_a_4xx(suite: Suite, world: World, offset: int) -> None:
    for service, url, role, party, params in (
        ("commitments", f"/units/{world.U}/tasks", U, world.U, {"offset": offset}),
        ("commitments", f"/communities/{world.C}/tasks", C, world.C, {"offset": offset}),
        ("commitments", "/commitments", U, world.U,
         {"agreement_id": str(world.agreement), "offset": offset}),
        ("evaluation", "/ledger", C, world.C,
         {"scope": "community", "id": str(world.C), "children_offset": offset}),
    ):  # fmt: skip
        refused(await suite.call(service, "GET", url, role, party, params=params), "offset")


@pytest.mark.parametrize("year", [1, 1999, 2101, 99999, 2**63, 2**70])
async def test_a_year_out_of_range_in_a_path_is_a_4xx(
    suite: Suite, world: World, year: int
) -> None:
    ev, d = "evaluation", {"district_id": str(world.D)}
    for method, url, kw in (
        ("GET", f"/assessments/{year}", {"params": d}),
        ("GET", f"/assessments/{year}/rankings", {"params": d}),
        ("GET", f"/exports/assessments/{year}.csv", {"params": d}),
        ("POST", f"/assessments/{year}/preview", {"json": d}),
        ("POST", f"/assessments/{year}/publish", {"json": d}),
    ):
        before = await suite.outbox_counts()
        refused(await suite.call(ev, method, url, D, world.D, **kw), "path.year")
        assert await suite.outbox_counts() == before
    for query in ({"year": year}, {"year": str(year)}):
        r = await suite.call("points", "GET", f"/members/{world.M}/points", Role.MEMBER, world.M,
                             params=query)  # fmt: skip
        refused(r, "year")


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31"])
async def test_a_date_out_of_range_is_a_4xx_naming_the_field(
    suite: Suite, world: World, day: str
) -> None:
    ag = "agreements"
    await refused_without_effect(suite, ag, "POST", "/needs", C, world.C, "wanted_by",
                                 json=need_body(world.C, wanted_by=day))  # fmt: skip
    await refused_without_effect(suite, ag, "POST", "/agreements", C, world.C, "items.0.deadline",
                                 json=proposal(world, deadline=day))  # fmt: skip
    await refused_without_effect(suite, ag, "POST", "/resources", U, world.U, "available_from",
                                 json=resource_body(world.U, available_from=day))  # fmt: skip
    for service, url, role, party, params, field in (
        ("evaluation", "/ledger", C, world.C,
         {"scope": "community", "id": str(world.C), "as_of": day}, "query.as_of"),
        ("evaluation", "/exports/ledger.csv", C, world.C,
         {"scope": "community", "id": str(world.C), "as_of": day}, "query.as_of"),
        ("commitments", f"/units/{world.U}/tasks", U, world.U, {"deadline_from": day},
         "query.deadline_from"),
    ):  # fmt: skip
        refused(await suite.call(service, "GET", url, role, party, params=params), field)


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:00:00-10:00"]
)
async def test_a_timestamp_at_year_1_or_9999_is_a_4xx_naming_the_field(
    suite: Suite, world: World, moment: str
) -> None:
    body = {
        "community_id": str(world.C), "title": "楼道清扫", "category": "happy_compound",
        "starts_at": moment, "ends_at": f"{YEAR}-03-01T05:00:00+00:00", "place": "3号楼",
        "capacity": 10,
    }  # fmt: skip
    await refused_without_effect(suite, "points", "POST", "/activities", C, world.C,
                                 "starts_at", json=body)  # fmt: skip


async def test_a_bound_sized_agreement_flows_to_a_ledger_row(suite: Suite, world: World) -> None:
    """At the bound the whole chain holds: signed, opened by commitments, booked by evaluation."""
    drafted = await suite.ok("agreements", "POST", "/agreements", C, world.C,
                             json=proposal(world, quantity=MAX_QUANTITY, funds_fen=MAX_FEN))  # fmt: skip
    a = drafted["agreement_id"]
    cid = drafted["rounds"][-1]["items"][0]["commitment_id"]
    for role, pid in ((C, world.C), (U, world.U)):
        await suite.ok("agreements", "POST", f"/agreements/{a}/signatures", role, pid,
                       json={"version": 1})  # fmt: skip
    await suite.settled()
    c = await suite.ok("commitments", "GET", f"/commitments/{cid}", U, world.U)
    assert (c["funds_fen"], c["quantity"]) == (MAX_FEN, MAX_QUANTITY)
    view = await suite.ok("evaluation", "GET", "/ledger", C, world.C,
                          params={"scope": "commitment", "id": str(cid)})  # fmt: skip
    assert view["figures"]["signed_fen"] == MAX_FEN
