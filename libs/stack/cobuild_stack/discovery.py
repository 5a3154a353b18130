"""var/stack.json: where the launcher publishes every address, for the CLI, driver and tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NotRequired, TypedDict

from .errors import StackError

STACK_FILE = "stack.json"


class BrokerInfo(TypedDict):
    bootstrap: str
    pid: int | None


class PostgresInfo(TypedDict):
    port: int
    admin_url: str
    pid: int | None
    data_dir: str


class ServiceInfo(TypedDict):
    url: str
    pid: int | None
    log: str


class KeysInfo(TypedDict):
    kid: str
    private_key: str
    public_keys: str


class LauncherInfo(TypedDict):
    pid: int


class MailInfo(TypedDict):
    """The mail catcher (cobuild_stack.mailcatcher): mails and SMS land in `log`."""

    smtp_host: str
    smtp_port: int
    smpp_port: int
    log: str
    pid: int | None


class ProviderClientInfo(TypedDict):
    client_id: str
    client_secret: str  # "" for a public client (the console signs in with PKCE)
    redirect_uri: str  # "" for a client without redirects


class ProviderInfo(TypedDict):
    """The OpenID Connect provider (cobuild_stack.provider): Canaille, embedded."""

    issuer: str
    url: str  # where it listens (loopback); the issuer may be a public URL in front of it
    authorization_endpoint: str
    token_endpoint: str
    introspection_endpoint: str
    userinfo_endpoint: str
    end_session_endpoint: str
    jwks_uri: str
    scim_url: str
    clients: dict[str, ProviderClientInfo]  # "console", "integration", "access"
    pid: int | None
    log: str


class StackInfo(TypedDict):
    broker: BrokerInfo
    postgres: PostgresInfo
    databases: dict[str, str]
    services: dict[str, ServiceInfo]
    keys: KeysInfo
    topics: list[str]
    clock: str
    launcher: LauncherInfo
    provider: NotRequired[ProviderInfo]  # absent when the stack runs without one
    mail: NotRequired[MailInfo]
    console: NotRequired[ServiceInfo]  # the workbench, when the launcher runs it


def stack_file(var_dir: Path) -> Path:
    return var_dir / STACK_FILE


def write_private(path: Path, text: str) -> None:
    """Atomic write of a file only the owner may read (passwords, keys, secrets): a reader
    never sees half a file, and it is never readable by others, not even for a moment."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(tmp, 0o600)  # an earlier, wider file of the same name keeps its mode on O_CREAT
    os.replace(tmp, path)


def write_stack_info(var_dir: Path, info: StackInfo) -> Path:
    """Only the owner may read it: it holds the database URLs with the superuser's
    password."""
    path = stack_file(var_dir)
    write_private(path, json.dumps(info, indent=2) + "\n")
    return path


def read_stack_info(var_dir: Path) -> StackInfo:
    path = stack_file(var_dir)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise StackError(
            f"no stack is running ({path} not found): start one with `cobuild stack up`"
        ) from None
    except json.JSONDecodeError as exc:
        raise StackError(f"{path} is not valid JSON: {exc}") from None
    return data  # type: ignore[no-any-return]
