"""The `cobuild` command: stack up/status/down, token, run."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .console import console_port_from_env
from .control import ComponentStatus, probe_stack, stop_recorded_stack
from .discovery import StackInfo, read_stack_info
from .errors import StackError
from .keys import ROLES, dev_keys, ensure_dev_keys, mint_token
from .launcher import SERVICES, StackConfig, StackEvent
from .ops import register as register_operator_commands
from .provider import PLAYED_PASSWORD_ROUNDS
from .public import public_address
from .run import Interrupted, RunOptions, load_driver, run_stack

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
err = Console(stderr=True)

app = typer.Typer(
    help="Cobuild developer commands.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(help="Start, inspect and stop the local stack.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")

VarDir = Annotated[
    Path,
    typer.Option("--var-dir", envvar="COBUILD_VAR_DIR", help="Where the stack keeps its state."),
]
Services = Annotated[
    list[str] | None,
    typer.Option("--service", "-s", help="Start only this service (repeatable). Default: all."),
]


def _clear_errors(func: Callable[P, R]) -> Callable[P, R]:
    """One red line and exit code 1 instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except (KeyboardInterrupt, Interrupted):
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


def _print_event(event: StackEvent) -> None:
    style = {"info": "dim", "warning": "yellow", "error": "red"}[event.level]
    err.print(f"[{style}]{escape(event.component)}: {escape(event.message)}[/]", soft_wrap=True)
    for line in event.log_tail:
        err.print(f"[{style}]  | {escape(line)}[/]", soft_wrap=True, highlight=False)


def _stack_table(info: StackInfo, statuses: list[ComponentStatus] | None = None) -> Table:
    table = Table(title="Cobuild stack")
    for column in ("component", "address", "pid", "status"):
        table.add_column(column)
    if statuses is None:
        statuses = [
            ComponentStatus(
                "postgres",
                f"127.0.0.1:{info['postgres']['port']}",
                info["postgres"]["pid"],
                True,
                "running",
            ),
            ComponentStatus(
                "broker", info["broker"]["bootstrap"], info["broker"]["pid"], True, "running"
            ),
            *(
                ComponentStatus(name, s["url"], s["pid"], True, "ready")
                for name, s in info["services"].items()
            ),
        ]
        if "provider" in info:
            p = info["provider"]
            statuses.append(ComponentStatus("provider", p["issuer"], p["pid"], True, "ready"))
        if "mail" in info:
            m = info["mail"]
            address = f"smtp {m['smtp_host']}:{m['smtp_port']}"
            statuses.append(ComponentStatus("mail", address, m["pid"], True, f"log {m['log']}"))
    for s in statuses:
        mark = "[green]" if s.ok else "[red]"
        table.add_row(s.name, s.address, str(s.pid or "-"), f"{mark}{escape(s.detail)}[/]")
    return table


def _config(var_dir: Path, services: list[str] | None) -> StackConfig:
    chosen = tuple(services) if services else SERVICES
    unknown = [s for s in chosen if s not in SERVICES]
    if unknown:
        raise StackError(f"unknown service {unknown[0]!r}: choose from {', '.join(SERVICES)}")
    # The workbench comes with the stack a person starts; tests' stacks start without it.
    return StackConfig.from_env(
        var_dir=var_dir, services=chosen, console_port=console_port_from_env()
    )


@stack_app.command("up")
@_clear_errors
def stack_up(var_dir: VarDir = Path("var"), service: Services = None) -> None:
    """Start PostgreSQL, the broker and the services; stay in the foreground until Ctrl-C."""
    asyncio.run(
        run_stack(
            _config(var_dir, service),
            on_event=_print_event,
            on_ready=lambda info: console.print(_stack_table(info)),
            say=lambda text: err.print(f"[dim]{escape(text)}[/]"),
        )
    )


@stack_app.command("status")
@_clear_errors
def stack_status(var_dir: VarDir = Path("var")) -> None:
    """Read var/stack.json and probe every component; exit 1 if any does not answer."""
    info = read_stack_info(var_dir)
    statuses = asyncio.run(probe_stack(info))
    console.print(_stack_table(info, statuses))
    if not all(s.ok for s in statuses):
        raise typer.Exit(1)


@stack_app.command("down")
@_clear_errors
def stack_down(var_dir: VarDir = Path("var")) -> None:
    """Stop the stack recorded in var/stack.json (services, then broker, then PostgreSQL)."""
    for line in asyncio.run(stop_recorded_stack(var_dir)):
        console.print(escape(line))


@app.command("token")
@_clear_errors
def token(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    party: Annotated[str, typer.Option(help="The party id the token acts for.")],
    sub: Annotated[str | None, typer.Option(help="Subject; defaults from role and party.")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
    var_dir: VarDir = Path("var"),
) -> None:
    """Mint a development JWT (EdDSA) signed with the key under var/keys."""
    keys_dir = var_dir / "keys"
    # Reuse the launcher's key; make one only if no stack ever ran here.
    keys = (
        dev_keys(keys_dir) if dev_keys(keys_dir).private_key.exists() else ensure_dev_keys(keys_dir)
    )
    typer.echo(mint_token(keys, role=role, party_id=party, sub=sub, ttl_seconds=ttl))


@app.command("run")
@_clear_errors
def run(
    seed: Annotated[int, typer.Option(help="Seed for the generated scenario.")] = 1,
    scale: Annotated[str, typer.Option(help="Size of the scenario, passed to the driver.")] = (
        "small"
    ),
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Stop the stack once the driver is done.")
    ] = False,
    var_dir: VarDir = Path("var"),
    service: Services = None,
    driver: Annotated[
        str,
        typer.Option(help="'main' plays the year; 'check' only checks that every service answers."),
    ] = "main",
    public_url: Annotated[
        str,
        typer.Option(
            "--public-url",
            envvar="COBUILD_PUBLIC_URL",
            help="Where phones reach the workbench, e.g. https://192.168.1.20:8100 (the "
            "sign-in pages: the same host, the provider's port). Default: loopback only.",
        ),
    ] = "",
    tls_cert: Annotated[
        Path | None,
        typer.Option("--tls-cert", envvar="COBUILD_TLS_CERT", help="PEM certificate for it."),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option("--tls-key", envvar="COBUILD_TLS_KEY", help="PEM private key for it."),
    ] = None,
) -> None:
    """Start the stack, run the main job's driver, then keep serving until Ctrl-C."""
    config = _config(var_dir, service)
    if public_url:
        public = public_address(public_url, tls_cert, tls_key)
        config = replace(config, public=public)
        # The driver signs the played district's staff in at the provider's TLS address.
        os.environ.update(public.trust_env())
    if config.provider.password_rounds is None:  # a played district makes many accounts
        config = replace(
            config, provider=replace(config.provider, password_rounds=PLAYED_PASSWORD_ROUNDS)
        )
    asyncio.run(
        run_stack(
            config,
            on_event=_print_event,
            on_ready=lambda info: console.print(_stack_table(info)),
            say=lambda text: console.print(escape(text)),
            driver=load_driver(driver),
            options=RunOptions(seed=seed, scale=scale, serve=not no_serve),
        )
    )


register_operator_commands(app)  # replay, dlq, verify, assess, export, import, lag


def main() -> None:
    app()


if __name__ == "__main__":
    main()
