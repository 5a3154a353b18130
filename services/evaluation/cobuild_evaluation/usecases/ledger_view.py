"""A scope's ledger figures as of a date, with the drill-down one level below.

A view costs a fixed few statements whatever the scope: the parties come from the in-memory
copy, and the drill-down's figures are one grouped query (never one query per child).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import AgreementOrigin
from cobuild_kit.auth import Actor

from cobuild_evaluation.settings import EvaluationRuntime
from cobuild_evaluation.store import ledger
from cobuild_evaluation.store.ledger import EVERY_CHILD, Page
from cobuild_evaluation.store.parties import TREES, PartyTree
from cobuild_evaluation.usecases import ledger_origin
from cobuild_evaluation.usecases.scopes import (
    CHILD_KIND,
    ScopeKind,
    authorize_read,
    party_children,
    stored_ids,
)

__all__ = ["EVERY_CHILD", "Page", "read", "scope_figures", "view"]


async def scope_figures(
    conn: asyncpg.Connection, tree: PartyTree, kind: ScopeKind, sid: UUID, as_of: date
) -> dict[str, Any]:
    stored_kind, ids = stored_ids(tree, kind, sid)
    figs = await ledger.figures(conn, stored_kind, ids, as_of)
    return figs.as_dict()


async def _child_figures(
    conn: asyncpg.Connection,
    tree: PartyTree,
    kind: ScopeKind,
    sid: UUID,
    child_kind: ScopeKind,
    as_of: date,
    page: Page,
) -> tuple[list[tuple[UUID, dict[str, Any]]], int]:
    """The page of children with their figures, and the number of children in all."""
    if kind in (ScopeKind.COMMUNITY, ScopeKind.UNIT, ScopeKind.AGREEMENT):
        found, total = await ledger.drill_down(conn, kind.value, sid, as_of, page)
        return [(k, f.as_dict()) for k, f in found], total
    every = party_children(tree, kind, sid)
    end = None if page.limit is None else page.offset + page.limit
    kids = every[page.offset : end]
    if child_kind == ScopeKind.COMMUNITY:
        by_id = await ledger.figures_by_id(conn, "community", kids, as_of)
    else:  # districts and streets sum their communities
        groups = {k: stored_ids(tree, child_kind, k)[1] for k in kids}
        by_id = await ledger.figures_by_group(conn, "community", groups, as_of)
    return [(k, by_id[k].as_dict()) for k in kids], len(every)


async def view(
    conn: asyncpg.Connection,
    kind: ScopeKind,
    sid: UUID,
    as_of: date,
    tree: PartyTree | None = None,
    page: Page = EVERY_CHILD,
) -> dict[str, Any]:
    """The scope's figures and its children's; `page` picks which children (default: all)."""
    tree = tree or await TREES.current(conn)
    out: dict[str, Any] = {
        "scope": kind.value,
        "id": str(sid),
        "name": tree.name(sid),
        "as_of": as_of.isoformat(),
        "figures": await scope_figures(conn, tree, kind, sid, as_of),
        "children": [],
    }
    child_kind = CHILD_KIND.get(kind)
    if child_kind is None:
        return out
    rows, total = await _child_figures(conn, tree, kind, sid, child_kind, as_of, page)
    out["child_scope"] = child_kind.value
    out["children"] = [{"id": str(k), "name": tree.name(k), "figures": f} for k, f in rows]
    out["children_total"] = total
    shown = page.offset + len(rows)
    out["children_next_offset"] = shown if rows and shown < total else None
    return out


async def read(
    rt: EvaluationRuntime,
    actor: Actor,
    kind: ScopeKind,
    sid: UUID,
    as_of: date,
    page: Page = EVERY_CHILD,
    origin: AgreementOrigin | None = None,
) -> dict[str, Any]:
    """`view` for an actor who may read the scope (its parties' admins and supervisors);
    with `origin`, over the commitments of agreements of that origin only."""
    async with rt.pool.acquire() as conn:
        tree = await authorize_read(conn, actor, kind, sid)
        if origin is not None:
            return await ledger_origin.view(conn, tree, kind, sid, as_of, page, origin)
        return await view(conn, kind, sid, as_of, tree, page)
