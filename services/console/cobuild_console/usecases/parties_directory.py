"""The parties directory for supervisors (共建单位名录): the streets, communities, grids and
units of their scope and the pairings (结对), read from the agreements service; a party's
page with its saved versions; renaming and re-coding, pairing a unit; and importing parties
from a spreadsheet with the template's Chinese headers (all rows or none: the service's
import is one transaction; every bad row is shown with its sheet row number).

The import runs within the request: a directory file is a few hundred rows at most and the
service registers them in one statement per row, unlike the needs import's matching."""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

from cobuild_kit.errors import Invalid
from cobuild_kit.sheets import read_rows, to_csv
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from cobuild_console import i18n
from cobuild_console.domain.parties_sheet import (
    COLUMNS,
    MAX_ROWS,
    SheetError,
    header_map,
    missing_columns,
    service_error,
    service_rows,
    vocabulary,
)
from cobuild_console.domain.refusals import N_
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.needs import reference

MAX_BYTES = 2 * 1024 * 1024


@dataclass
class Community:
    party: dict[str, Any]
    grids: list[dict[str, Any]] = field(default_factory=list)
    units: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Street:
    party: dict[str, Any]
    communities: list[Community] = field(default_factory=list)


@dataclass
class Directory:
    district_id: str
    streets: list[Street]
    units: list[dict[str, Any]]
    names: dict[str, str]  # party id → name, for the pairings


async def _every(rt: ConsoleRuntime, token: str, **params: str) -> list[dict[str, Any]]:
    return await rt.services.every("agreements", "/parties", token, params)


async def directory(rt: ConsoleRuntime, token: str, scope: str, party_id: str) -> Directory:
    """The district's streets (or the one street), their communities and grids, and the
    units of the district (for a street: those paired with its communities)."""
    if scope == "district":
        district_id = party_id
        streets = await _every(rt, token, parent_id=party_id, kind="street")
    else:
        street = await rt.services.get("agreements", f"/parties/{party_id}", token)
        district_id = str(street["parent_id"])
        streets = [street]
    per_street, units, grids = await asyncio.gather(
        asyncio.gather(
            *(_every(rt, token, parent_id=str(s["party_id"]), kind="community") for s in streets)
        ),
        _every(rt, token, parent_id=district_id, kind="unit"),
        _every(rt, token, kind="grid"),
    )
    communities = {str(c["party_id"]): Community(c) for cs in per_street for c in cs}
    for g in grids:
        home = communities.get(str(g.get("parent_id")))
        if home is not None:
            home.grids.append(g)
    if scope == "street":  # the units paired with the street's communities
        units = [u for u in units if {str(c) for c in u["paired_community_ids"]} & set(communities)]
    for u in units:
        for c in u["paired_community_ids"]:
            if str(c) in communities:
                communities[str(c)].units.append(u)
    names = {pid: c.party["name"] for pid, c in communities.items()}
    out = [
        Street(s, [communities[str(c["party_id"])] for c in cs])
        for s, cs in zip(streets, per_street, strict=True)
    ]
    return Directory(district_id, out, units, names)


async def party_page(
    rt: ConsoleRuntime, token: str, party_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]] | None, dict[str, str]]:
    """The party, its saved versions (None when the actor may not change it, so may not
    read them), and the names of the parties it names."""
    party: dict[str, Any] = await rt.services.get("agreements", f"/parties/{party_id}", token)
    try:
        history: list[dict[str, Any]] | None = await rt.services.every(
            "agreements", f"/parties/{party_id}/history", token
        )
    except ServiceRefusal as refused:
        if refused.status != 403:
            raise
        history = None
    wanted = {str(c) for c in party["paired_community_ids"]}
    if party.get("parent_id"):
        wanted.add(str(party["parent_id"]))
    for v in history or []:
        wanted |= {str(c) for c in v["paired_community_ids"]}
    found = await asyncio.gather(
        *(rt.services.get("agreements", f"/parties/{p}", token) for p in sorted(wanted))
    )
    return party, history, {str(p["party_id"]): p["name"] for p in found}


async def change(
    rt: ConsoleRuntime, token: str, party_id: str, name: str, code: str, key: str
) -> None:
    body: dict[str, Any] = {"name": name}
    if code:
        body["code"] = code
    await rt.services.request(
        "agreements", "PATCH", f"/parties/{party_id}", token, json=body, idempotency_key=key
    )


async def pair(
    rt: ConsoleRuntime, token: str, unit_id: str, community_ids: list[str], key: str
) -> None:
    await rt.services.request(
        "agreements",
        "PUT",
        f"/parties/{unit_id}/pairings",
        token,
        json={"community_ids": community_ids},
        idempotency_key=key,
    )


async def district_communities(
    rt: ConsoleRuntime, token: str, district_id: str
) -> list[dict[str, Any]]:
    streets = await _every(rt, token, parent_id=district_id, kind="street")
    found = await asyncio.gather(
        *(_every(rt, token, parent_id=str(s["party_id"]), kind="community") for s in streets)
    )
    return [c for cs in found for c in cs]


# -- the spreadsheet --------------------------------------------------------------------------


def _headers() -> dict[str, str]:
    return {column: i18n.gettext(message) for column, message in COLUMNS}


def template(ref: dict[str, Any]) -> bytes:
    """An XLSX with the columns' headers in the page's language, a picker of types and unit
    types, and two example rows to overwrite."""
    tag = "zh-CN" if i18n.current_locale.get().startswith("zh") else "en"
    kinds = [
        c["labels"].get(tag) or c["code"]
        for c in ref.get("party_kinds", [])
        if c["code"] != "district"
    ]
    unit_types = [c["labels"].get(tag) or c["code"] for c in ref.get("unit_types", [])]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = i18n.gettext("Parties")[:31]
    headers = _headers()
    ws.append([headers[c] for c, _ in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    example_kind = {
        c["code"]: c["labels"].get(tag) or c["code"] for c in ref.get("party_kinds", [])
    }
    ws.append(
        [
            example_kind.get("community", "community"),
            i18n.gettext("Example community"),
            "C-EXAMPLE",
            i18n.gettext("(the street's code)"),
            "",
            "",
        ]
    )
    ws.append(
        [
            example_kind.get("unit", "unit"),
            i18n.gettext("Example unit"),
            "U-EXAMPLE",
            i18n.gettext("(the district's code)"),
            unit_types[0] if unit_types else "",
            "C-EXAMPLE",
        ]
    )
    for column, items in (("A", kinds), ("E", unit_types)):
        if items:
            dv = DataValidation(type="list", formula1='"' + ",".join(items) + '"', allow_blank=True)
            ws.add_data_validation(dv)
            dv.add(f"{column}2:{column}{MAX_ROWS + 1}")
    for n, width in enumerate((12, 28, 16, 22, 16, 36), start=1):
        ws.column_dimensions[chr(64 + n)].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class Imported:
    imported: int = 0
    errors: list[SheetError] = field(default_factory=list)


async def import_file(rt: ConsoleRuntime, token: str, data: bytes) -> Imported:
    """All rows or none. What this side can check first (the columns, the types' names) is
    checked here; the service checks the rest (codes, parents, authority) and names rows."""
    ref = await reference(rt, token)
    columns = header_map(_headers())
    try:
        rows = await asyncio.to_thread(read_rows, data, required=(), max_rows=MAX_ROWS)
    except Invalid as bad:
        return Imported(
            errors=[SheetError(0, "", N_("The file cannot be read: %(0)s"), (str(bad),))]
        )
    header = sorted({h for _, cells in rows for h in cells})
    missing = missing_columns(columns, header) if rows else ["kind", "name"]
    if missing:
        headers = _headers()
        return Imported(
            errors=[
                SheetError(0, c, N_("The column %(0)s is missing."), (headers[c],)) for c in missing
            ]
        )
    found, errors = service_rows(
        rows, columns, vocabulary(ref.get("party_kinds", [])), vocabulary(ref.get("unit_types", []))
    )
    if errors:
        return Imported(errors=errors)
    names = [c for c, _ in COLUMNS]
    content = to_csv(names, [[cells.get(c, "") for c in names] for _, cells in found])
    key = hashlib.sha256(content).hexdigest()[:32]
    try:
        done = await rt.services.upload(
            "agreements", "/parties/import", token,
            filename="parties.csv", content=content, content_type="text/csv", idempotency_key=key,
        )  # fmt: skip
    except ServiceRefusal as refused:
        listed = refused.body.get("rows")
        if refused.status != 422 or not isinstance(listed, list):
            raise

        # The service numbers the rows of the file it was sent (header: row 1).
        def number_of(row: int) -> int:
            return found[row - 2][0] if 2 <= row < len(found) + 2 else row

        return Imported(
            errors=[
                service_error(
                    number_of,
                    int(e.get("row") or 0),
                    str(e.get("field") or ""),
                    str(e.get("message") or ""),
                )
                for e in listed
            ]
        )
    return Imported(imported=int(done["imported"]))


def column_label(column: str) -> str:
    headers = _headers()
    return headers.get(column, column)
