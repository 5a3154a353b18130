"""Whistles (吹哨报到) in: the escalations service's events recorded as facts and dated steps;
and out: the response, completion and satisfaction rates of a district, a street, a community
or a department as of any date, with the drill-down one level below (`domain.whistle_rates`).

A view reads its scope's whistles' standings in one statement and folds them in memory: a
district's year is hundreds to a few thousand whistles.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_contracts.base import MIN_DATE
from cobuild_contracts.events.escalations import (
    WhistleHandedOn,
    WhistleRaised,
    WhistleRated,
    WhistleReopened,
    WhistleResolved,
    WhistleResponded,
    WhistleRouted,
)
from cobuild_kit.auth import Actor
from cobuild_kit.errors import NotFound
from cobuild_kit.pending import Awaiting

from cobuild_evaluation.domain.whistle_rates import Standing, WhistleFigures, grouped, tally
from cobuild_evaluation.settings import EvaluationRuntime
from cobuild_evaluation.store import whistles
from cobuild_evaluation.store.ledger import EVERY_CHILD, Page
from cobuild_evaluation.store.parties import TREES, PartyTree
from cobuild_evaluation.store.whistles import Scope, Step
from cobuild_evaluation.usecases.scopes import may_read_in_role

# --- events in ---------------------------------------------------------------------------


async def raised(conn: asyncpg.Connection, e: WhistleRaised) -> None:
    await whistles.raised(
        conn, e.whistle_id, e.community_id, e.street_id, e.district_id, e.category,
        e.urgency.value, e.raised_at,
    )  # fmt: skip


async def _known(conn: asyncpg.Connection, whistle_id: UUID) -> None:
    """A step of a whistle not raised here (yet) waits for its raising (cobuild_kit.pending)."""
    if not await whistles.known(conn, whistle_id):
        raise Awaiting("whistle", whistle_id, f"whistle {whistle_id} not raised here (yet)")


async def routed(conn: asyncpg.Connection, event_id: UUID, e: WhistleRouted) -> None:
    await _known(conn, e.whistle_id)
    await whistles.limits(conn, e.whistle_id, e.respond_by, e.resolve_by)
    await whistles.step(
        conn, event_id, e.whistle_id, Step.ROUTED, e.routed_at, party_id=e.receiver_party_id
    )


async def handed_on(conn: asyncpg.Connection, event_id: UUID, e: WhistleHandedOn) -> None:
    await _known(conn, e.whistle_id)
    await whistles.step(
        conn, event_id, e.whistle_id, Step.HANDED_ON, e.handed_on_at, party_id=e.to_party_id
    )


async def responded(conn: asyncpg.Connection, event_id: UUID, e: WhistleResponded) -> None:
    await _known(conn, e.whistle_id)
    await whistles.step(
        conn, event_id, e.whistle_id, Step.RESPONDED, e.responded_at, within_limit=e.within_limit
    )


async def resolved(conn: asyncpg.Connection, event_id: UUID, e: WhistleResolved) -> None:
    await _known(conn, e.whistle_id)
    await whistles.step(
        conn, event_id, e.whistle_id, Step.RESOLVED, e.resolved_at, within_limit=e.within_limit
    )


async def reopened(conn: asyncpg.Connection, event_id: UUID, e: WhistleReopened) -> None:
    await _known(conn, e.whistle_id)
    await whistles.step(conn, event_id, e.whistle_id, Step.REOPENED, e.reopened_at)


async def rated(conn: asyncpg.Connection, event_id: UUID, e: WhistleRated) -> None:
    await _known(conn, e.whistle_id)
    await whistles.step(
        conn, event_id, e.whistle_id, Step.RATED, e.rated_at, satisfied=e.satisfied
    )


# --- rates out ---------------------------------------------------------------------------


class RateScope(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    DEPARTMENT = "department"


_STORED = {
    RateScope.DISTRICT: Scope.DISTRICT,
    RateScope.STREET: Scope.STREET,
    RateScope.COMMUNITY: Scope.COMMUNITY,
    RateScope.DEPARTMENT: Scope.RECEIVER,
}
_PARTY_KIND = {
    RateScope.DISTRICT: "district",
    RateScope.STREET: "street",
    RateScope.COMMUNITY: "community",
    RateScope.DEPARTMENT: "unit",
}
_CHILD = {RateScope.DISTRICT: "street", RateScope.STREET: "community"}
_PLACE_READERS = frozenset({Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN})
_UNIT_READERS = frozenset({Role.UNIT_ADMIN})


def authorize(tree: PartyTree, actor: Actor, scope: RateScope, sid: UUID) -> None:
    """Operators read every scope; a party's own admins and the street and district admins
    above it read its rates; anything else, or a party of another kind, is the 404 of what
    does not exist (ARCHITECTURE.md, "Commands in, facts out")."""
    missing = NotFound(f"no {scope.value} {sid}", field="query.id")
    party = tree.parties.get(sid)
    if party is None or party.kind != _PARTY_KIND[scope]:
        raise missing
    if actor.role == Role.OPERATOR:
        return
    roles = _UNIT_READERS if scope is RateScope.DEPARTMENT else _PLACE_READERS
    may_read_in_role(actor, roles | _PLACE_READERS, "read whistle rates")
    if not tree.permits(actor, sid, roles=roles, supervisors_may=True):
        raise missing


def _named(tree: PartyTree, figures: dict[UUID, WhistleFigures], ids: list[UUID]) -> list[Any]:
    return [
        {"id": str(k), "name": tree.name(k), "figures": figures.get(k, WhistleFigures()).as_dict()}
        for k in ids
    ]


def _departments(tree: PartyTree, found: list[Standing]) -> list[dict[str, Any]]:
    """The units that held the scope's whistles as of the date, by name."""
    by = grouped(found, lambda s: s.receiver_id)
    units = [k for k in by if (p := tree.parties.get(k)) is not None and p.kind == "unit"]
    units.sort(key=lambda k: (tree.name(k) or "", k))
    return _named(tree, by, units)


def _whistle(s: Standing) -> dict[str, Any]:
    return {"id": str(s.whistle_id), "name": None, "figures": tally([s]).as_dict()}


async def view(
    conn: asyncpg.Connection,
    tree: PartyTree,
    scope: RateScope,
    sid: UUID,
    as_of: date,
    raised_from: date = MIN_DATE,
    page: Page = EVERY_CHILD,
) -> dict[str, Any]:
    found = await whistles.standings(conn, _STORED[scope], [sid], as_of, raised_from)
    out: dict[str, Any] = {
        "scope": scope.value,
        "id": str(sid),
        "name": tree.name(sid),
        "as_of": as_of.isoformat(),
        "raised_from": raised_from.isoformat(),
        "figures": tally(found).as_dict(),
        "departments": [] if scope is RateScope.DEPARTMENT else _departments(tree, found),
    }
    child = _CHILD.get(scope)
    if child is not None:
        every = tree.children(sid, child)
        key = (lambda s: s.street_id) if child == "street" else (lambda s: s.community_id)
        figures = grouped(found, key)
        rows: list[dict[str, Any]] = []
        end = None if page.limit is None else page.offset + page.limit
        rows = _named(tree, figures, every[page.offset : end])
        out["child_scope"] = child
    else:  # a community's or a department's drill-down: its whistles, oldest first
        every = [s.whistle_id for s in found]
        end = None if page.limit is None else page.offset + page.limit
        rows = [_whistle(s) for s in found[page.offset : end]]
        out["child_scope"] = "whistle"
    out["children"] = rows
    out["children_total"] = len(every)
    shown = page.offset + len(rows)
    out["children_next_offset"] = shown if rows and shown < len(every) else None
    return out


async def read(
    rt: EvaluationRuntime,
    actor: Actor,
    scope: RateScope,
    sid: UUID,
    as_of: date,
    raised_from: date,
    page: Page,
) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        tree = await TREES.current(conn)
        authorize(tree, actor, scope, sid)
        return await view(conn, tree, scope, sid, as_of, raised_from, page)


async def department_figures(
    conn: asyncpg.Connection, units: list[UUID], as_of: date, raised_from: date
) -> dict[UUID, WhistleFigures]:
    """Each unit's figures as the receiver, for the assessment."""
    found = await whistles.standings(conn, Scope.RECEIVER, units, as_of, raised_from)
    return grouped(found, lambda s: s.receiver_id)
