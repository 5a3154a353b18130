"""Ledger scopes over the parties read model: what is below what, and who may read it.

Hierarchy: all → districts → streets → communities → agreements → commitments; a unit's
drill-down is its agreements.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden, Invalid, NotFound
from cobuild_kit.parties import SUPERVISORS

from cobuild_evaluation.domain.ledger import ALL_SCOPE
from cobuild_evaluation.store import agreements, ledger
from cobuild_evaluation.store.parties import TREES, PartyTree

READERS = frozenset({Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN})


class ScopeKind(StrEnum):
    ALL = "all"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    UNIT = "unit"
    AGREEMENT = "agreement"
    COMMITMENT = "commitment"


CHILD_KIND = {
    ScopeKind.ALL: ScopeKind.DISTRICT,
    ScopeKind.DISTRICT: ScopeKind.STREET,
    ScopeKind.STREET: ScopeKind.COMMUNITY,
    ScopeKind.COMMUNITY: ScopeKind.AGREEMENT,
    ScopeKind.UNIT: ScopeKind.AGREEMENT,
    ScopeKind.AGREEMENT: ScopeKind.COMMITMENT,
}


def scope_id(kind: ScopeKind, sid: UUID | None) -> UUID:
    """The id a request names, or the fixed id of 'all'."""
    if kind == ScopeKind.ALL:
        return ALL_SCOPE
    if sid is None:
        raise Invalid(f"an id is required for scope {kind.value}", field="query.id")
    return sid


def stored_ids(tree: PartyTree, kind: ScopeKind, sid: UUID) -> tuple[str, list[UUID]]:
    """The kept scope rows that sum to this scope (streets and districts: their communities)."""
    if kind == ScopeKind.ALL:
        return "all", [ALL_SCOPE]
    if kind == ScopeKind.STREET:
        return "community", tree.children(sid, "community")
    if kind == ScopeKind.DISTRICT:
        return "community", list(tree.district_communities(sid))
    return kind.value, [sid]


def party_children(tree: PartyTree, kind: ScopeKind, sid: UUID) -> list[UUID]:
    """The drill-down of the party scopes (all, district, street), named and ordered."""
    if kind == ScopeKind.ALL:
        return tree.of_kind("district")
    if kind == ScopeKind.DISTRICT:
        return tree.children(sid, "street")
    if kind == ScopeKind.STREET:
        return tree.children(sid, "community")
    return []


async def parties_of(
    conn: asyncpg.Connection, kind: ScopeKind, sid: UUID, field: str | None = None
) -> list[UUID]:
    """The parties whose admins (or supervisors) may read this scope; `field` names the
    input that named it, for the 404."""
    if kind == ScopeKind.AGREEMENT:
        parties = await agreements.parties_of_agreement(conn, sid)
    elif kind == ScopeKind.COMMITMENT:
        parties = await ledger.parties_of_commitment(conn, sid)
    else:
        return [sid]
    if parties is None:
        raise NotFound(f"no {kind.value} {sid}", field=field)
    return list(parties)


def may_read_in_role(
    actor: Actor, roles: frozenset[Role], action: str, *, supervisors_may: bool = True
) -> None:
    """403 for a role that may never do this, whatever the party: that leaks nothing."""
    if actor.role not in roles and not (supervisors_may and actor.role in SUPERVISORS):
        raise Forbidden(f"role {actor.role.value} may not {action}")


def hide_outside(
    tree: PartyTree,
    actor: Actor,
    party: UUID,
    *,
    roles: frozenset[Role],
    action: str,
    missing: str,
    field: str,
    supervisors_may: bool = True,
) -> None:
    """A read of a party's data: 403 for a role that may never read it, 404 (`missing`, the
    same answer as for what does not exist) when the party lies outside the actor's subtree,
    so that existence does not leak (ARCHITECTURE.md, "Commands in, facts out")."""
    may_read_in_role(actor, roles, action, supervisors_may=supervisors_may)
    if not tree.permits(actor, party, roles=roles, supervisors_may=supervisors_may):
        raise NotFound(missing, field=field)


async def authorize_read(
    conn: asyncpg.Connection,
    actor: Actor,
    kind: ScopeKind,
    sid: UUID,
    tree: PartyTree | None = None,
    field: str = "query.id",
) -> PartyTree:
    """Operators read every scope, and only they read 'all' (the whole system, across
    districts); a party's own admins and the street/district admins above it read its
    scopes. A scope outside the actor's subtree is 404, as one that does not exist.
    Returns the parties copy it checked against, for the view to reuse."""
    tree = tree or await TREES.current(conn)
    if actor.role == Role.OPERATOR:
        if kind != ScopeKind.ALL:
            await parties_of(conn, kind, sid, field)  # an unknown agreement or commitment
        return tree
    if kind == ScopeKind.ALL:
        raise Forbidden(
            f"role {actor.role.value} may not read the whole ledger (scope all is for "
            "operators; a district admin reads its own district: scope=district)"
        )
    may_read_in_role(actor, READERS, "read the ledger")
    for party in await parties_of(conn, kind, sid, field):
        if tree.permits(actor, party, roles=READERS, supervisors_may=True):
            return tree
    raise NotFound(f"no {kind.value} {sid}", field=field)
