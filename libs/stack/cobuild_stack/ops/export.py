"""`cobuild export ledger|assessment`: CSV/XLSX downloads from the evaluation service."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..errors import StackError
from .common import (
    NO_PARTY,
    Stack,
    VarDir,
    clear_errors,
    console,
    district_or_only,
    parse_uuid,
)

app = typer.Typer(
    help="Download the ledger or assessment results as CSV or XLSX.", no_args_is_help=True
)


class Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class Scope(StrEnum):
    ALL = "all"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    UNIT = "unit"
    AGREEMENT = "agreement"
    COMMITMENT = "commitment"


Fmt = Annotated[Format, typer.Option("--format", help="File format.")]
Out = Annotated[Path, typer.Option("--out", help="Where to write the file.")]
District = Annotated[
    str | None,
    typer.Option(help="The district acting (and exported). Default: the only one registered."),
]


def _save(content: bytes, out: Path) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)
    except OSError as exc:
        raise StackError(f"cannot write {out}: {exc.strerror}") from None
    console.print(f"wrote {out} ({len(content)} bytes)")


@app.command("ledger")
@clear_errors
def ledger(
    fmt: Fmt,
    out: Out,
    scope: Annotated[Scope, typer.Option(help="The ledger scope.")] = Scope.ALL,
    id: Annotated[str | None, typer.Option("--id", help="The scope's id (not for 'all').")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Business date YYYY-MM-DD. Default: today.")
    ] = None,
    district: District = None,
    var_dir: VarDir = Path("var"),
) -> None:
    """The fulfilment ledger of a scope, with one row per child scope."""
    stack = Stack(var_dir)
    params = {"scope": scope.value}
    if id:
        params["id"] = str(parse_uuid(id, "--id"))
    if as_of:
        params["as_of"] = as_of
    # The whole ledger (every district) is operations' work: an operator's token. Any other
    # scope is a district's: its admin's.
    role, actor = (
        ("operator", NO_PARTY)
        if scope is Scope.ALL
        else ("district_admin", district_or_only(stack, district))
    )
    with stack.client("evaluation", role, actor) as api:
        response = api.request("GET", f"/exports/ledger.{fmt.value}", params=params)
    _save(response.content, out)


@app.command("assessment")
@clear_errors
def assessment(
    fmt: Fmt,
    out: Out,
    year: Annotated[int, typer.Option(help="The assessed year.")],
    district: District = None,
    var_dir: VarDir = Path("var"),
) -> None:
    """The published assessment results of a district's year."""
    stack = Stack(var_dir)
    district_id = district_or_only(stack, district)
    with stack.client("evaluation", "district_admin", district_id) as api:
        response = api.request(
            "GET",
            f"/exports/assessments/{year}.{fmt.value}",
            params={"district_id": str(district_id)},
        )
    _save(response.content, out)
