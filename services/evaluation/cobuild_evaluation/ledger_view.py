"""A scope's ledger figures as of a date, with the drill-down one level below."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from cobuild_evaluation import ledger_store
from cobuild_evaluation.scopes import CHILD_KIND, ScopeKind, children, names, stored_ids


async def scope_figures(
    conn: asyncpg.Connection, kind: ScopeKind, sid: UUID, as_of: date
) -> dict[str, Any]:
    stored_kind, ids = await stored_ids(conn, kind, sid)
    figs = await ledger_store.figures(conn, stored_kind, ids, as_of)
    return figs.as_dict()


async def view(conn: asyncpg.Connection, kind: ScopeKind, sid: UUID, as_of: date) -> dict[str, Any]:
    label = await names(conn, [sid])
    out: dict[str, Any] = {
        "scope": kind.value,
        "id": str(sid),
        "name": label.get(sid),
        "as_of": as_of.isoformat(),
        "figures": await scope_figures(conn, kind, sid, as_of),
        "children": [],
    }
    child_kind = CHILD_KIND.get(kind)
    if child_kind is None:
        return out
    kids = await children(conn, kind, sid)
    kid_names = await names(conn, kids)
    if child_kind in (ScopeKind.STREET, ScopeKind.DISTRICT):
        rows = [(k, await scope_figures(conn, child_kind, k, as_of)) for k in kids]
    else:
        by_id = await ledger_store.figures_by_id(conn, child_kind.value, kids, as_of)
        rows = [(k, by_id[k].as_dict()) for k in kids]
    out["child_scope"] = child_kind.value
    out["children"] = [{"id": str(k), "name": kid_names.get(k), "figures": f} for k, f in rows]
    return out
