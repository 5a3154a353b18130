"""Running the stack in the foreground, with an optional driver (the main job) on top.

A driver is an async function taking a RunContext. The main job's driver plugs in through
the `cobuild.drivers` entry point group (name `main`) without changes here.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar, cast

from .control import probe_stack
from .discovery import StackInfo
from .errors import StackError
from .launcher import EventSink, Stack, StackConfig

DRIVER_GROUP = "cobuild.drivers"
T = TypeVar("T")


@dataclass(frozen=True)
class RunOptions:
    seed: int = 1
    scale: str = "small"
    serve: bool = True  # False: stop the stack once the driver is done


@dataclass(frozen=True)
class RunContext:
    info: StackInfo
    options: RunOptions
    var_dir: Path
    say: Callable[[str], None]


Driver = Callable[[RunContext], Awaitable[None]]


async def answering_driver(ctx: RunContext) -> None:
    """Placeholder until the main job's driver exists: check that every service answers."""
    statuses = await probe_stack(ctx.info)
    down = [s.name for s in statuses if not s.ok]
    if down:
        raise StackError(f"not answering: {', '.join(down)}")
    ctx.say(f"services answering: {', '.join(ctx.info['services'])}")


def load_driver(name: str = "main") -> Driver:
    """'check' is the built-in answering check; other names come from the entry points."""
    if name == "check":
        return answering_driver
    for ep in entry_points(group=DRIVER_GROUP):
        if ep.name == name:
            return cast(Driver, ep.load())
    raise StackError(f"no driver named {name!r} is installed (entry point group {DRIVER_GROUP})")


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived; the stack has been stopped."""


async def run_stack(
    config: StackConfig,
    *,
    on_event: EventSink,
    on_ready: Callable[[StackInfo], None],
    say: Callable[[str], None],
    driver: Driver | None = None,
    options: RunOptions | None = None,
) -> None:
    """Start, run the driver, then serve until SIGINT/SIGTERM (or stop if not serving)."""
    options = options or RunOptions()
    # A driver may set up the stack it plays on (the main job: a file clock, a fresh state).
    prepare = getattr(driver, "prepare_stack", None)
    if prepare is not None:
        config = prepare(config, say=say, options=options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stack = Stack(config, on_event=on_event)
    supervisor: asyncio.Task[None] | None = None
    try:
        info = await _until_stopped(stack.start(), stop)
        on_ready(info)
        supervisor = asyncio.create_task(stack.run_until(stop))
        if driver is not None:
            ctx = RunContext(info, options, stack.var_dir, say)
            await _until_stopped(driver(ctx), stop, supervisor)
        if not options.serve:
            stop.set()
        else:
            say("serving; press Ctrl-C to stop")
        await supervisor
    finally:
        if supervisor is not None:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        say("stopping the stack")
        await stack.stop()


async def _until_stopped(
    work: Awaitable[T], stop: asyncio.Event, supervisor: asyncio.Task[None] | None = None
) -> T:
    """Await `work`, unless a stop signal or a supervisor failure comes first."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.create_task(stop.wait())
    watched: list[asyncio.Future[Any]] = [task, waiter]
    if supervisor is not None:
        watched.append(supervisor)
    try:
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if supervisor is not None and supervisor.done():
        supervisor.result()  # raises the StackError that ended supervision
    raise Interrupted
