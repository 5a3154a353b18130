"""The supervisors' reads of the ledger (street and district admins, and a party's own
admins for their party): the overdue list and the units' figures within a scope. Who may
read what is the ledger's rule (scopes.authorize_read): outside the actor's subtree is 404."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any
from uuid import UUID

from cobuild_kit.auth import Actor
from cobuild_kit.errors import Invalid

from cobuild_evaluation.domain.ledger import MEASURES, Figures
from cobuild_evaluation.settings import EvaluationRuntime
from cobuild_evaluation.store import supervision
from cobuild_evaluation.store.parties import PartyTree
from cobuild_evaluation.usecases.scopes import ScopeKind, authorize_read, stored_ids

# The scopes a supervisor's pages read: districts and streets sum their communities.
PARTY_SCOPES = (ScopeKind.DISTRICT, ScopeKind.STREET, ScopeKind.COMMUNITY, ScopeKind.UNIT)


def _party_scope(kind: ScopeKind) -> None:
    if kind not in PARTY_SCOPES:
        raise Invalid(
            f"scope must be one of {', '.join(k.value for k in PARTY_SCOPES)}", field="query.scope"
        )


def _street_of(tree: PartyTree, community: UUID) -> UUID | None:
    party = tree.parties.get(community)
    return None if party is None else party.parent_id


async def overdue(
    rt: EvaluationRuntime,
    actor: Actor,
    kind: ScopeKind,
    sid: UUID,
    as_of: date,
    *,
    community: UUID | None = None,
    unit: UUID | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The commitments overdue as of `as_of` within the scope, named, oldest deadline
    first; optionally within one community and/or one unit."""
    _party_scope(kind)
    async with rt.pool.acquire() as conn:
        tree = await authorize_read(conn, actor, kind, sid)
        stored_kind, ids = stored_ids(tree, kind, sid)
        rows, total = await supervision.overdue(
            conn,
            stored_kind,
            ids,
            as_of,
            community=community,
            unit=unit,
            limit=limit,
            offset=offset,
        )
    items = []
    for r in rows:
        street = _street_of(tree, r["community_id"])
        items.append(
            {
                "commitment_id": r["commitment_id"],
                "agreement_id": r["agreement_id"],
                "community_id": r["community_id"],
                "community_name": tree.name(r["community_id"]),
                "street_id": street,
                "street_name": None if street is None else tree.name(street),
                "unit_id": r["unit_id"],
                "unit_name": tree.name(r["unit_id"]),
                "deadline": r["deadline"],
                "days_late": (as_of - r["deadline"]).days,
                "committed_fen": int(r["committed_fen"]),
            }
        )
    return items, total


def _summed(figures: list[Figures]) -> Figures:
    return Figures({m: sum(f[m] for f in figures) for m in MEASURES})


async def units(
    rt: EvaluationRuntime,
    actor: Actor,
    kind: ScopeKind,
    sid: UUID,
    as_of: date,
    *,
    with_agreements: bool = False,
) -> dict[str, Any]:
    """Each unit's figures over its agreements within the scope (a unit paired with
    communities of two streets counts in each street only what it signed there), by name.
    The units' figures sum to the scope's."""
    _party_scope(kind)
    async with rt.pool.acquire() as conn:
        tree = await authorize_read(conn, actor, kind, sid)
        stored_kind, ids = stored_ids(tree, kind, sid)
        found = await supervision.by_agreement(conn, stored_kind, ids, as_of)
    per_unit: dict[UUID, list[tuple[UUID, Figures]]] = defaultdict(list)
    for unit_id, agreement_id, figures in found:
        per_unit[unit_id].append((agreement_id, figures))
    items = []
    for unit_id, agreements in per_unit.items():
        item: dict[str, Any] = {
            "unit_id": unit_id,
            "name": tree.name(unit_id),
            "agreements_count": len(agreements),
            "figures": _summed([f for _, f in agreements]).as_dict(),
        }
        if with_agreements:
            item["agreements"] = [
                {"agreement_id": a, "figures": f.as_dict()} for a, f in agreements
            ]
        items.append(item)
    items.sort(key=lambda i: (i["name"] or "", str(i["unit_id"])))
    return {
        "scope": kind.value,
        "id": sid,
        "name": tree.name(sid),
        "as_of": as_of,
        "items": items,
    }
