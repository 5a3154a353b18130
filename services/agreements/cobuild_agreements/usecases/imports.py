"""Bulk imports from a sheet's rows (parsed by http/uploads.py): all rows or none.

Rows are numbered as a spreadsheet shows them: the header is row 1, data starts at row 2. The
authority to import is checked before the file is parsed (parsing is not free), and again in
the transaction that imports.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cobuild_contracts import NeedPublished, PartyKind, ResourceOffered
from cobuild_kit.auth import Actor
from cobuild_kit.errors import CobuildError, Invalid
from cobuild_kit.service import UnitOfWork
from cobuild_kit.sheets import NumberedRow, RowError
from pydantic import ValidationError

from cobuild_agreements.domain.directory import Party, may_register_some
from cobuild_agreements.domain.privacy import FieldFinding
from cobuild_agreements.settings import AgreementsRuntime
from cobuild_agreements.store import parties
from cobuild_agreements.usecases import access, matchmaking
from cobuild_agreements.usecases.needs import NeedFields, publish_need, require_community
from cobuild_agreements.usecases.parties import PartyIn, register_in
from cobuild_agreements.usecases.resources import ResourceFields, offer_in
from cobuild_agreements.usecases.rules import list_rules, now_and_today

NEED_COLUMNS = ("category", "kind", "title", "quantity", "quantity_unit", "wanted_by")
RESOURCE_COLUMNS = (
    "category",
    "kind",
    "title",
    "capacity",
    "capacity_unit",
    "available_from",
    "available_until",
)
PARTY_COLUMNS = ("kind", "name")


class ImportRejected(CobuildError):
    """A file with any bad row imports nothing; the report names every bad row and field."""

    status = 422
    code = "import_rejected"

    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the file; nothing was imported", field="file")
        self.errors = list(errors)

    def body(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": self.message,
            "field": self.field,
            "rows": [e.as_dict() for e in self.errors],
        }


def row_errors(row: int, exc: ValidationError | CobuildError) -> list[RowError]:
    """A row's failure, with the column it names (`body.` prefixes are dropped)."""
    if isinstance(exc, ValidationError):
        return [
            RowError(row, ".".join(str(p) for p in e["loc"]) or "row", e["msg"])
            for e in exc.errors()
        ]
    field = (exc.field or "row").removeprefix("body.")
    return [RowError(row, field, exc.message)]


# --- needs -----------------------------------------------------------------------------


async def may_import_needs(rt: AgreementsRuntime, actor: Actor, community_id: UUID) -> None:
    """Before the file is parsed."""
    async with rt.pool.acquire() as conn:
        await access.may_publish_needs(conn, actor, community_id)


@dataclass(frozen=True)
class RowFinding:
    """Personal data found in a row's text (`finding.field`: the column)."""

    row: int
    finding: FieldFinding


async def import_needs(
    rt: AgreementsRuntime, actor: Actor, community_id: UUID, rows: Sequence[NumberedRow]
) -> tuple[list[NeedPublished], list[RowFinding]]:
    """One need a row, published and matched; raises ImportRejected naming every bad row.
    Also: the personal data found in the rows' text (published masked)."""
    now, today = now_and_today(rt)
    errors: list[RowError] = []
    published: list[NeedPublished] = []
    found: list[RowFinding] = []
    async with rt.unit_of_work() as uow:
        await access.may_publish_needs(uow.conn, actor, community_id)
        await require_community(uow.conn, community_id)
        rules = list_rules(rt)
        for number, cells in rows:
            try:
                fields = NeedFields.model_validate(
                    {k: v for k, v in cells.items() if v and k in NeedFields.model_fields}
                )
                event, personal = await publish_need(
                    uow, fields, community_id, rules, now, prefix=""
                )
                published.append(event)
                found.extend(RowFinding(number, f) for f in personal)
            except (ValidationError, CobuildError) as exc:
                errors.extend(row_errors(number, exc))
        if errors:
            raise ImportRejected(errors)
        for event in published:
            await matchmaking.for_need(uow, event.need_id, today, now, rt.settings.match_top_n)
    return published, found


# --- resources -------------------------------------------------------------------------


async def may_import_resources(rt: AgreementsRuntime, actor: Actor, unit_id: UUID) -> None:
    """Before the file is parsed."""
    async with rt.pool.acquire() as conn:
        await access.may_offer(conn, actor, unit_id)


def _resource_cells(cells: dict[str, str]) -> dict[str, Any]:
    """A row's cells as ResourceFields: `community_ids` separated by commas or semicolons."""
    data: dict[str, Any] = {
        k: v for k, v in cells.items() if v and k in ResourceFields.model_fields
    }
    if "community_ids" in data:
        data["community_ids"] = [c for c in re.split(r"[;,，；\s]+", data["community_ids"]) if c]
    return data


async def import_resources(
    rt: AgreementsRuntime, actor: Actor, unit_id: UUID, rows: Sequence[NumberedRow]
) -> tuple[list[ResourceOffered], list[RowFinding]]:
    """One resource a row, offered and matched, all or none; raises ImportRejected naming
    every bad row. Also: the personal data found in the rows' text (published masked)."""
    now, today = now_and_today(rt)
    errors: list[RowError] = []
    offered: list[ResourceOffered] = []
    found: list[RowFinding] = []
    async with rt.unit_of_work() as uow:
        await access.may_offer(uow.conn, actor, unit_id)
        unit = await parties.get(uow.conn, unit_id)
        if unit is None or unit.kind is not PartyKind.UNIT:
            raise Invalid(f"{unit_id} is not a registered unit", field="path.unit_id")
        rules = list_rules(rt)
        for number, cells in rows:
            try:
                async with uow.conn.transaction():  # a savepoint: a bad row leaves no trace
                    fields = ResourceFields.model_validate(_resource_cells(cells))
                    event, personal = await offer_in(uow, fields, unit_id, rules, now)
                offered.append(event)
                found.extend(RowFinding(number, f) for f in personal)
            except (ValidationError, CobuildError) as exc:
                errors.extend(row_errors(number, exc))
        if errors:
            raise ImportRejected(errors)
        for event in offered:
            await matchmaking.for_resource(
                uow, event.resource_id, today, now, rt.settings.match_top_n
            )
    return offered, found


# --- parties ---------------------------------------------------------------------------

_UUID_RE = re.compile(r"^[0-9a-fA-F-]{36}$")


def may_import_parties(actor: Actor) -> None:
    """Before the file is parsed."""
    may_register_some(actor)


def _column(name: str) -> str:
    """The sheet's column for a field of PartyIn."""
    return {"parent_id": "parent", "paired_community_ids": "paired_communities"}.get(name, name)


async def _resolve(uow: UnitOfWork, ref: str, column: str) -> UUID:
    """A party named by id or by code (earlier rows of the same file are already in place)."""
    if _UUID_RE.match(ref):
        return UUID(ref)
    party = await parties.by_code(uow.conn, ref)
    if party is None:
        raise Invalid(f"no party has code {ref!r}", field=column)
    return party.party_id


async def _row_spec(uow: UnitOfWork, cells: dict[str, str]) -> PartyIn:
    data: dict[str, Any] = {
        k: v
        for k, v in cells.items()
        if v and k in {"party_id", "kind", "name", "unit_type", "code"}
    }
    if cells.get("parent"):
        data["parent_id"] = await _resolve(uow, cells["parent"], "parent")
    refs = [r.strip() for r in re.split(r"[;,]", cells.get("paired_communities", "")) if r.strip()]
    data["paired_community_ids"] = [await _resolve(uow, r, "paired_communities") for r in refs]
    return PartyIn.model_validate(data)


async def import_parties(
    rt: AgreementsRuntime, actor: Actor, rows: Sequence[NumberedRow]
) -> list[Party]:
    """One party a row, in file order; raises ImportRejected naming every bad row."""
    errors: list[RowError] = []
    imported: list[Party] = []
    now = rt.clock.now()
    async with rt.unit_of_work() as uow:
        for number, cells in rows:
            try:
                async with uow.conn.transaction():  # a savepoint: a bad row leaves no trace
                    spec = await _row_spec(uow, cells)
                    imported.append(await register_in(uow, actor, spec, now, _column))
            except (ValidationError, CobuildError) as exc:
                errors.extend(
                    RowError(e.row, _column(e.field), e.message) for e in row_errors(number, exc)
                )
        if errors:
            raise ImportRejected(errors)
    return imported
