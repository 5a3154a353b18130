"""A scope's ledger figures counting only the commitments of agreements of one origin: a
street's joint-meeting decisions (`origin=meeting`), a district's direct claims, ...

The kept aggregates (ledger_daily) are per party, not per origin, so these figures sum the
commitment rows of the origin's commitments in the scope, with the same drill-down as the
plain view. An origin's share is small (a street's meetings decide tens of things a year), so
this stays a few statements; a view over every commitment is the plain one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import AgreementOrigin

from cobuild_evaluation.domain.ledger import Figures
from cobuild_evaluation.store import ledger
from cobuild_evaluation.store.ledger import Page
from cobuild_evaluation.store.parties import PartyTree
from cobuild_evaluation.usecases.scopes import CHILD_KIND, ScopeKind, party_children, stored_ids


def _child_of(tree: PartyTree, kind: ScopeKind, row: asyncpg.Record) -> UUID | None:
    """The drill-down row a commitment of the scope falls in."""
    if kind == ScopeKind.STREET:
        community: UUID = row["community_id"]
        return community
    if kind in (ScopeKind.COMMUNITY, ScopeKind.UNIT):
        agreement: UUID = row["agreement_id"]
        return agreement
    if kind == ScopeKind.AGREEMENT:
        commitment: UUID = row["commitment_id"]
        return commitment
    street = tree.parties.get(row["community_id"])
    parent = street.parent_id if street else None
    if kind == ScopeKind.DISTRICT:
        return parent
    above = tree.parties.get(parent) if parent else None
    return above.parent_id if above else None  # all: the district


async def view(
    conn: asyncpg.Connection,
    tree: PartyTree,
    kind: ScopeKind,
    sid: UUID,
    as_of: date,
    page: Page,
    origin: AgreementOrigin,
) -> dict[str, Any]:
    """As `ledger_view.view`, over the origin's commitments only."""
    stored_kind, ids = stored_ids(tree, kind, sid)
    rows = await ledger.of_origin(conn, stored_kind, ids, origin.value)
    every = [r["commitment_id"] for r in rows]
    total = await ledger.figures(conn, "commitment", every, as_of) if every else Figures()
    out: dict[str, Any] = {
        "scope": kind.value,
        "id": str(sid),
        "name": tree.name(sid),
        "as_of": as_of.isoformat(),
        "origin": origin.value,
        "figures": total.as_dict(),
        "children": [],
    }
    child_kind = CHILD_KIND.get(kind)
    if child_kind is None:
        return out
    groups: dict[UUID, list[UUID]] = defaultdict(list)
    for r in rows:
        child = _child_of(tree, kind, r)
        if child is not None:
            groups[child].append(r["commitment_id"])
    if kind in (ScopeKind.ALL, ScopeKind.DISTRICT, ScopeKind.STREET):
        kids = party_children(tree, kind, sid)  # every place, as the plain view lists them
    else:
        kids = list(groups)  # the origin's agreements, or commitments, by deadline
    end = None if page.limit is None else page.offset + page.limit
    shown = kids[page.offset : end]
    by_kid = await ledger.figures_by_group(
        conn, "commitment", {k: groups.get(k, []) for k in shown}, as_of
    )
    out["child_scope"] = child_kind.value
    out["children"] = [
        {"id": str(k), "name": tree.name(k), "figures": by_kid[k].as_dict()} for k in shown
    ]
    out["children_total"] = len(kids)
    after = page.offset + len(shown)
    out["children_next_offset"] = after if shown and after < len(kids) else None
    return out
