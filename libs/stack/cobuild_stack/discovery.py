"""var/stack.json: where the launcher publishes every address, for the CLI, driver and tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TypedDict

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


class StackInfo(TypedDict):
    broker: BrokerInfo
    postgres: PostgresInfo
    databases: dict[str, str]
    services: dict[str, ServiceInfo]
    keys: KeysInfo
    topics: list[str]
    clock: str
    launcher: LauncherInfo


def stack_file(var_dir: Path) -> Path:
    return var_dir / STACK_FILE


def write_stack_info(var_dir: Path, info: StackInfo) -> Path:
    """Atomic write: a reader never sees half a file. Only the owner may read it: it holds
    the database URLs with the superuser's password."""
    path = stack_file(var_dir)
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(info, indent=2) + "\n")
    os.chmod(tmp, 0o600)  # an earlier, wider file of the same name keeps its mode on O_CREAT
    os.replace(tmp, path)
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
