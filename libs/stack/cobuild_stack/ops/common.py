"""What every operator command shares: the running stack, tokens, HTTP calls, one-line errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar
from uuid import UUID

import httpx
import typer
from cobuild_kit.clock import BUSINESS_TZ
from rich.console import Console
from rich.markup import escape

from ..discovery import StackInfo, read_stack_info
from ..errors import StackError
from ..keys import DevKeys, mint_token

P = ParamSpec("P")
R = TypeVar("R")

# An identity for calls that check a role only (verify): no party stands behind it.
NO_PARTY = UUID(int=0)

console = Console()
err = Console(stderr=True)

VarDir = Annotated[
    Path,
    typer.Option("--var-dir", envvar="COBUILD_VAR_DIR", help="Where the stack keeps its state."),
]


def clear_errors(func: Callable[P, R]) -> Callable[P, R]:
    """One red line and exit code 1 instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None
        except StackError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        except Exception as exc:
            err.print(
                f"[red]error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}", soft_wrap=True
            )
        raise typer.Exit(1)

    return wrapper


def parse_when(text: str, option: str) -> datetime:
    """An ISO date or date-time; without an offset it is business time (Asia/Shanghai)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            value = datetime.combine(date.fromisoformat(text), time())
        except ValueError:
            raise StackError(f"{option} {text!r} is not an ISO date or date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=BUSINESS_TZ)


def parse_uuid(text: str, option: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise StackError(f"{option} {text!r} is not a UUID") from None


class Stack:
    """The running stack as var/stack.json describes it."""

    def __init__(self, var_dir: Path) -> None:
        self.info: StackInfo = read_stack_info(var_dir)
        self.var_dir = var_dir
        keys = self.info["keys"]
        self.keys = DevKeys(keys["kid"], Path(keys["private_key"]), Path(keys["public_keys"]))

    def url(self, service: str) -> str:
        try:
            return self.info["services"][service]["url"]
        except KeyError:
            running = ", ".join(self.info["services"]) or "none"
            raise StackError(
                f"the {service} service is not part of the running stack (running: {running})"
            ) from None

    def dsn(self, service: str) -> str:
        try:
            return self.info["databases"][service]
        except KeyError:
            known = ", ".join(self.info["databases"]) or "none"
            raise StackError(f"no database for service {service!r} (known: {known})") from None

    @property
    def bootstrap(self) -> str:
        return self.info["broker"]["bootstrap"]

    def client(self, service: str, role: str, party: UUID | str) -> ServiceClient:
        token = mint_token(self.keys, role=role, party_id=str(party), ttl_seconds=900)
        return ServiceClient(service, self.url(service), token)


class ServiceClient:
    """Synchronous calls to one service; a refusal becomes a one-line StackError."""

    def __init__(self, service: str, url: str, token: str, timeout: float = 120.0) -> None:
        self.service = service
        self.http = httpx.Client(
            base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=timeout
        )

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def request(
        self, method: str, path: str, *, accept: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        """`accept`: error statuses the caller handles itself (e.g. 422 with a row report)."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise StackError(
                f"{self.service} at {self.http.base_url} does not answer "
                f"({type(exc).__name__}): is the stack up?"
            ) from None
        if response.is_success or response.status_code in accept:
            return response
        raise StackError(f"{self.service}: {method} {path}: {describe_failure(response)}")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()


def describe_failure(response: httpx.Response) -> str:
    """HTTP <status>: <message> (field <field>), from the kit's error body when there is one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
    if isinstance(body, dict):
        text = str(body.get("message") or body.get("detail") or body.get("error") or text)
        if body.get("field"):
            text += f" (field {body['field']})"
    return f"HTTP {response.status_code}: {text}" if text else f"HTTP {response.status_code}"


def only_district(stack: Stack) -> UUID:
    """The district to act for when none is named: the only one in the agreements directory."""
    with stack.client("agreements", "district_admin", NO_PARTY) as api:
        districts = api.json("GET", "/parties", params={"kind": "district"})["items"]
    if not districts:
        raise StackError("no district is registered yet: pass --district")
    if len(districts) > 1:
        ids = ", ".join(str(d["party_id"]) for d in districts)
        raise StackError(f"{len(districts)} districts are registered ({ids}): pass --district")
    return UUID(str(districts[0]["party_id"]))


def district_or_only(stack: Stack, district: str | None) -> UUID:
    return parse_uuid(district, "--district") if district else only_district(stack)
