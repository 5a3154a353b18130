"""`cobuild import parties|members|needs FILE`: bulk uploads; a bad file prints its row report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import StackError
from ..keys import ROLES
from .common import Stack, VarDir, clear_errors, console, district_or_only, err, parse_uuid

app = typer.Typer(
    help="Upload parties, members or needs from a CSV or XLSX file.", no_args_is_help=True
)

File = Annotated[
    Path, typer.Argument(help="A .csv or .xlsx file.", exists=True, dir_okay=False, readable=True)
]
Community = Annotated[str, typer.Option(help="The community the rows belong to.")]
AsRole = Annotated[str | None, typer.Option("--as-role", help=f"Act as: {', '.join(ROLES)}.")]
AsParty = Annotated[str | None, typer.Option("--as-party", help="The party acted for.")]
MEDIA = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _upload(
    stack: Stack, service: str, path: str, file: Path, role: str, party: UUID
) -> dict[str, Any]:
    media = MEDIA.get(file.suffix.lower())
    if media is None:
        raise StackError(f"{file.name}: only .csv and .xlsx files can be imported")
    with stack.client(service, role, party) as api:
        response = api.request(
            "POST", path, files={"file": (file.name, file.read_bytes(), media)}, accept=(422,)
        )
    body: dict[str, Any] = response.json()
    if response.status_code == 422:
        _print_rows(file, body)
        raise StackError(f"{file.name}: {body.get('message', 'rejected')}")
    return body


def _print_rows(file: Path, body: dict[str, Any]) -> None:
    rows = body.get("rows") or [
        {"row": "-", "field": body.get("field") or "-", "message": body.get("message")}
    ]
    table = Table(title=f"{file.name}: rows rejected")
    for column in ("row", "field", "message"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r.get("row")), escape(str(r.get("field"))), escape(str(r.get("message"))))
    err.print(table)


def _actor(role: str | None, party: str | None, default: tuple[str, UUID]) -> tuple[str, UUID]:
    return (role or default[0], parse_uuid(party, "--as-party") if party else default[1])


@app.command("parties")
@clear_errors
def parties(
    file: File,
    district: Annotated[
        str | None,
        typer.Option(help="Act as this district's admin. Default: the only registered district."),
    ] = None,
    as_role: AsRole = None,
    as_party: AsParty = None,
    var_dir: VarDir = Path("var"),
) -> None:
    """Columns kind, name, code, parent (code or id), unit_type, paired_communities; a
    district row also takes party_id. All rows or none."""
    stack = Stack(var_dir)
    # To bootstrap a district, name it (--district): the file's district row registers it.
    party = parse_uuid(as_party, "--as-party") if as_party else district_or_only(stack, district)
    role = as_role or "district_admin"
    body = _upload(stack, "agreements", "/parties/import", file, role, party)
    console.print(f"imported {body['imported']} part(ies) from {file.name}")


@app.command("members")
@clear_errors
def members(
    file: File,
    community: Community,
    as_role: AsRole = None,
    as_party: AsParty = None,
    var_dir: VarDir = Path("var"),
) -> None:
    """Columns name, phone, unit_id, community_id, grid_id; uploaded as the community's admin
    (or --as-role unit_admin --as-party UNIT). All rows or none."""
    stack = Stack(var_dir)
    role, party = _actor(
        as_role, as_party, ("community_admin", parse_uuid(community, "--community"))
    )
    body = _upload(stack, "points", "/members/import", file, role, party)
    console.print(f"imported {body['imported']} member(s) from {file.name}")


@app.command("needs")
@clear_errors
def needs(
    file: File,
    community: Community,
    as_role: AsRole = None,
    as_party: AsParty = None,
    var_dir: VarDir = Path("var"),
) -> None:
    """Columns as the fields of POST /needs (category, kind, title, quantity, quantity_unit,
    wanted_by, ...); uploaded as the community's admin. All rows or none."""
    stack = Stack(var_dir)
    community_id = parse_uuid(community, "--community")
    role, party = _actor(as_role, as_party, ("community_admin", community_id))
    body = _upload(
        stack, "agreements", f"/communities/{community_id}/needs/import", file, role, party
    )
    console.print(f"imported {body.get('imported', '?')} need(s) from {file.name}")
