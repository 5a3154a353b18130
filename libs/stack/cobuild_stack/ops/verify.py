"""`cobuild verify`: walk the points ledger's member-year hash chains."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from cobuild_kit.clock import BUSINESS_TZ

from ..errors import StackError
from .common import NO_PARTY, Stack, VarDir, clear_errors, console


@clear_errors
def command(
    year: Annotated[
        int | None, typer.Option(help="The ledger year. Default: this business year.")
    ] = None,
    var_dir: VarDir = Path("var"),
) -> None:
    """Check every member-year chain of the points ledger; exit 1 naming the first bad entry."""
    year = year or datetime.now(BUSINESS_TZ).year
    stack = Stack(var_dir)
    # The points service checks the role only: an admin with no particular party will do.
    with stack.client("points", "district_admin", NO_PARTY) as api:
        report = api.json("GET", "/points/verify", params={"year": year})
    checked = f"{report['chains_checked']} chain(s), {report['entries_checked']} entr(ies)"
    if report["ok"]:
        console.print(f"[green]ledger {year} verified[/]: {checked}, every hash and balance holds")
        return
    bad = report["first_bad"] or {}
    raise StackError(
        f"ledger {year} is broken after {checked}: member {bad.get('member_id')}, "
        f"entry {bad.get('entry_id')} (seq {bad.get('seq')}): {bad.get('problem')}"
    )
