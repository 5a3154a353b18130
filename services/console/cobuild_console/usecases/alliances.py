"""Alliances (党建联盟) and their joint meetings (联席会议), read from and recorded in the
agreements service; each decision's commitment as the commitments service and the fulfilment
ledger see it; the decisions' fulfilment rate (the ledger with `origin=meeting`).

The console decides nothing here: the rotation, who may run an alliance and what a decision
must name are the agreements service's (ARCHITECTURE.md, "Alliances and the joint meeting")."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.parties import names as party_names

# The host kind whose ledger scope counts an alliance's decisions.
LEDGER_SCOPE = {"street": "street", "community": "community"}
# Roles that may run an alliance when it is not their own party's (the supervisors above a
# community's alliance); the service checks it again.
SUPERVISORS = frozenset({"street_admin", "district_admin"})


@dataclass(frozen=True)
class Listing:
    alliances: list[dict[str, Any]]
    names: dict[str, str]


@dataclass(frozen=True)
class AlliancePage:
    alliance: dict[str, Any]
    rotation: dict[str, Any]
    meetings: list[dict[str, Any]]
    rate: dict[str, Any] | None  # the ledger's figures of the decisions (origin=meeting)
    names: dict[str, str]
    candidates: list[dict[str, Any]]  # units that may join: the street's, not members today
    communities: list[dict[str, Any]]  # the beneficiaries a decision may name


@dataclass(frozen=True)
class DecisionState:
    """A decision's commitment: its status and deadline as the commitments service has it,
    and whether the ledger counts it fulfilled, on time or overdue."""

    status: str | None  # None: the commitments service has not opened it yet
    deadline: str
    fulfilled: bool = False
    on_time: bool = False
    overdue: bool = False


@dataclass(frozen=True)
class MeetingPage:
    meeting: dict[str, Any]
    alliance: dict[str, Any]
    states: dict[str, DecisionState]  # by decision id
    names: dict[str, str]


async def of_party(rt: ConsoleRuntime, token: str, party_id: str) -> Listing:
    """The alliances the party hosts, is in, or is above (the service's rule)."""
    found = await rt.services.every("agreements", "/alliances", token, {"party_id": party_id})
    hosts = {str(a["host_party_id"]) for a in found}
    return Listing(found, await party_names.of(rt, token, hosts))


async def decisions_rate(
    rt: ConsoleRuntime, token: str, scope: str, party_id: str, as_of: date | None = None
) -> dict[str, Any] | None:
    """The joint meetings' decisions under a street or community, as the ledger counts them
    (`origin=meeting`): its figures, or None when the ledger does not know the party yet.
    The street dashboard includes templates/alliances/decisions_rate.html with these."""
    try:
        view: dict[str, Any] = await rt.services.get(
            "evaluation",
            "/ledger",
            token,
            scope=scope,
            id=party_id,
            origin="meeting",
            as_of=(as_of or rt.today()).isoformat(),
            children_limit=1,
        )
    except ServiceRefusal as refused:
        # 404: the ledger has not heard of the party yet, or the reader (a member unit's
        # admin) may not read the host's figures.
        if refused.status in (403, 404):
            return None
        raise
    figures: dict[str, Any] = view["figures"]
    return figures


def _members_and_order(a: dict[str, Any]) -> set[str]:
    ids = {str(s["unit_id"]) for s in a["members"]}
    ids |= {str(u) for u in a["order"]}
    return ids


async def alliance_page(rt: ConsoleRuntime, token: str, alliance_id: str) -> AlliancePage:
    a, rotation, meetings = await asyncio.gather(
        rt.services.get("agreements", f"/alliances/{alliance_id}", token),
        rt.services.get("agreements", f"/alliances/{alliance_id}/rotation", token),
        rt.services.every("agreements", f"/alliances/{alliance_id}/meetings", token),
    )
    host, kind = str(a["host_party_id"]), str(a["host_kind"])
    wanted = _members_and_order(a)
    wanted |= {str(m["chair_unit_id"]) for m in meetings} | {host}
    wanted |= {str(t["chair_unit_id"]) for t in rotation["upcoming"] if t["chair_unit_id"]}
    rate, names, communities, units = await asyncio.gather(
        decisions_rate(rt, token, LEDGER_SCOPE[kind], host),
        party_names.of(rt, token, wanted),
        _communities(rt, token, host, kind),
        _district_units(rt, token, host),
    )
    current = {str(u) for u in a["current_member_ids"]}
    candidates = [u for u in units if str(u["party_id"]) not in current]
    return AlliancePage(a, rotation, meetings, rate, names, candidates, communities)


async def _communities(
    rt: ConsoleRuntime, token: str, host: str, kind: str
) -> list[dict[str, Any]]:
    if kind == "community":
        return [await rt.services.get("agreements", f"/parties/{host}", token)]
    return await rt.services.every(
        "agreements", "/parties", token, {"parent_id": host, "kind": "community"}
    )


async def _district_units(rt: ConsoleRuntime, token: str, host: str) -> list[dict[str, Any]]:
    """The units that could join: those of the host's district (a unit hangs below its
    district). Read failures leave the join form without choices rather than the page."""
    try:
        party = await rt.services.get("agreements", f"/parties/{host}", token)
        district = party.get("parent_id")
        if party["kind"] == "community" and district:
            street = await rt.services.get("agreements", f"/parties/{district}", token)
            district = street.get("parent_id")
        if not district:
            return []
        return await rt.services.every(
            "agreements", "/parties", token, {"parent_id": str(district), "kind": "unit"}
        )
    except (ServiceRefusal, ServiceUnavailable):
        return []


async def _state(rt: ConsoleRuntime, token: str, decision: dict[str, Any]) -> DecisionState:
    cid = str(decision["commitment_id"])
    deadline = str(decision["deadline"])
    try:
        commitment, ledger = await asyncio.gather(
            rt.services.get("commitments", f"/commitments/{cid}", token),
            rt.services.get(
                "evaluation", "/ledger", token, scope="commitment", id=cid, children_limit=1
            ),
        )
    except ServiceRefusal as refused:
        if refused.status != 404:  # not opened yet, or not yet in the ledger
            raise
        return DecisionState(None, deadline)
    f = ledger["figures"]
    done = commitment.get("done_date")
    return DecisionState(
        str(commitment["status"]),
        str(commitment["deadline"]),
        fulfilled=bool(f["fulfilled"]),
        # The ledger counts "on time" only once the deadline is due; the page says it as
        # soon as the work is confirmed done by its deadline.
        on_time=bool(f["fulfilled"])
        and done is not None
        and str(done) <= str(commitment["deadline"]),
        overdue=bool(f["overdue"]),
    )


async def meeting_page(rt: ConsoleRuntime, token: str, meeting_id: str) -> MeetingPage:
    m = await rt.services.get("agreements", f"/meetings/{meeting_id}", token)
    a = await rt.services.get("agreements", f"/alliances/{m['alliance_id']}", token)
    decisions = m["decisions"]
    wanted = {str(m["chair_unit_id"]), str(a["host_party_id"])}
    wanted |= {str(u) for u in m["present_unit_ids"]} | {str(u) for u in m["absent_unit_ids"]}
    for d in decisions:
        wanted |= {str(d["responsible_unit_id"]), str(d["beneficiary_community_id"])}
    states, names = await asyncio.gather(
        asyncio.gather(*(_state(rt, token, d) for d in decisions)),
        party_names.of(rt, token, wanted),
    )
    by_id = {str(d["decision_id"]): s for d, s in zip(decisions, states, strict=True)}
    return MeetingPage(m, a, by_id, names)


async def hold(
    rt: ConsoleRuntime, token: str, alliance_id: str, body: dict[str, Any], key: str
) -> dict[str, Any]:
    held: dict[str, Any] = await rt.services.post(
        "agreements", f"/alliances/{alliance_id}/meetings", token, body, idempotency_key=key or None
    )
    return held


async def join(
    rt: ConsoleRuntime, token: str, alliance_id: str, body: dict[str, Any], key: str
) -> None:
    await rt.services.post(
        "agreements", f"/alliances/{alliance_id}/members", token, body, idempotency_key=key or None
    )


async def leave(
    rt: ConsoleRuntime, token: str, alliance_id: str, unit_id: str, body: dict[str, Any], key: str
) -> None:
    await rt.services.post(
        "agreements",
        f"/alliances/{alliance_id}/members/{unit_id}/departure",
        token,
        body,
        idempotency_key=key or None,
    )
