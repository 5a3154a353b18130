"""`cobuild access grant`: the bootstrap of the access service, the only grants made outside
the delegation rules (the first district admin, operators), through its HTTP API with an
operator's development token; the service audits each as a bootstrap."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..errors import StackError
from ..keys import mint_token
from .common import NO_PARTY, ServiceClient, Stack, VarDir, clear_errors, console, parse_uuid

app = typer.Typer(help="Grants of the access service.", no_args_is_help=True)

BOOTSTRAP_ROLES = ("district_admin", "operator")


@app.command("grant")
@clear_errors
def grant(
    subject: Annotated[
        str, typer.Option(help="The person's subject at the identity provider (their `sub`).")
    ],
    role: Annotated[str, typer.Option(help="district_admin or operator.")],
    party: Annotated[
        str | None,
        typer.Option(help="The district's id (district_admin); an operator's defaults to none."),
    ] = None,
    var_dir: VarDir = Path("var"),
) -> None:
    """Bootstrap a grant: the first district admin of a district, or an operator. Every
    other grant follows the delegation rules, from the admins these start."""
    if role not in BOOTSTRAP_ROLES:
        raise StackError(
            f"--role {role!r}: the bootstrap grants only {' or '.join(BOOTSTRAP_ROLES)}; "
            "other roles are granted by admins through the access service"
        )
    if role == "district_admin" and not party:
        raise StackError("--party must name the district the admin will run")
    party_id = parse_uuid(party, "--party") if party else NO_PARTY
    stack = Stack(var_dir)
    # Who ran it, in the audit: the operator's development token names the local user.
    token = mint_token(
        stack.keys,
        role="operator",
        party_id=str(NO_PARTY),
        sub=f"cli:{getpass.getuser()}",
        ttl_seconds=300,
    )
    with ServiceClient("access", stack.url("access"), token) as api:
        granted = api.json(
            "POST",
            "/bootstrap/grants",
            json={"subject": subject, "role": role, "party_id": str(party_id)},
        )
    console.print(
        f"granted [bold]{escape(role)}[/] for {escape(str(granted['party_id']))} to "
        f"{escape(subject)}: grant {escape(str(granted['grant_id']))}"
    )
    console.print(
        "[dim]they sign in at the identity provider and exchange its token for this grant "
        "(POST /exchange with grant_id)[/]"
    )
