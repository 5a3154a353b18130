"""What one run of the suite shares across its steps (bench/steps/): the stack and the clients
on it, the references measured first, the report and its sections, and the plumbing every
step uses (tokens, CPU rows, py-spy, feeding the broker). `bench.run` starts the stack, runs
the steps in turn and writes the results."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
import uuid
from collections import Counter as Tally
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from cobuild_stack.discovery import StackInfo
from cobuild_stack.keys import mint_token
from cobuild_stack.launcher import Stack

from bench import feed
from bench.cpu import CpuMeter, CpuReading, describe, per_event_us
from bench.http1 import Http1Pool
from bench.probe import Counter, RssSampler, wait_until
from bench.report import Report

ROOT = Path(__file__).resolve().parent.parent


class Suite:
    def __init__(self, large: bool, smoke: bool, var: Path) -> None:
        self.large = large
        self.smoke = smoke  # a quick check of the suite itself: tiny sizes, no RESULTS.md
        # Keeps `make bench` inside 30 minutes on a slow or shared machine: a phase that has
        # not finished by then is reported as the rate it sustained over the window.
        self.phase_cap_s = 3600.0 if large else 240.0
        self.run_id = uuid.uuid4().hex[:8]
        self.var = var
        self.report = Report("Cobuild benchmarks" + (" (large)" if large else ""))
        self.sections: dict[str, list[str]] = {}
        self.refs: dict[str, float] = {}  # the references' figures, by name (steps/references)
        self.tokens: dict[tuple[str, uuid.UUID], str] = {}
        self.district = feed.District(self.run_id, "pipe")
        self.loaded: list[feed.Batch] = []  # every batch the steps opened, in order
        self.cpu = CpuMeter(self.cpu_components)
        self.floor_workers: dict[str, int] = {}  # path_floor's processes, while they run
        # Set once the stack is up (bench.run).
        self.stack: Stack
        self.info: StackInfo
        self.producer: AIOKafkaProducer
        self.http: httpx.AsyncClient
        self.commands: Http1Pool
        self.rss: RssSampler

    def section(self, name: str) -> list[str]:
        return self.sections.setdefault(name, [])

    def url(self, service: str) -> str:
        return self.stack.services[service].url

    def dsn(self, service: str) -> str:
        return self.stack.databases[service]

    def token(self, role: str, party: uuid.UUID) -> str:
        key = (role, party)
        if key not in self.tokens:
            assert self.stack.keys is not None
            self.tokens[key] = mint_token(
                self.stack.keys, role=role, party_id=str(party), ttl_seconds=4 * 3600
            )
        return self.tokens[key]

    def pids(self) -> dict[str, int | None]:
        return {name: s.pid for name, s in self.stack.services.items()}

    def cpu_components(self) -> dict[str, int | None]:
        return {
            **self.pids(),
            "Tansu": self.stack.broker.pid,
            "driver": os.getpid(),
            **{f"floor {w}": pid for w, pid in self.floor_workers.items()},
        }

    def cpu_row(
        self,
        label: str,
        before: CpuReading,
        events: int,
        seconds: float,
        after: CpuReading | None = None,
    ) -> float:
        """One line of the CPU section: where the phase's CPU went, per event (`after`: a
        reading taken before a backend of the phase closed; default now). Returns the total
        µs of CPU per event."""
        us = per_event_us(before, after or self.cpu.read(), events)
        self.section("CPU per event (from /proc)").append(
            f"- {label}: {describe(us, seconds, events)}"
        )
        return sum(us.values())

    def remember(self, batch: feed.Batch) -> None:
        self.loaded.append(batch)

    async def produce(self, records: list[feed.Record]) -> float:
        """Records encoded before the timed phase; returns seconds spent producing."""
        t0 = time.perf_counter()
        await feed.produce(self.producer, records)
        return time.perf_counter() - t0

    async def register_parties(self, district: feed.District) -> None:
        """party.registered on agreements.events.v1, as the agreements service would; wait
        until the evaluation and commitments directories have them."""
        events = district.party_events()
        await self.produce(feed.encode_all(events, "agreements"))
        want = len(events)
        ids = [e.party_id for e in events]
        counters = [Counter(self.dsn(s)) for s in ("evaluation", "commitments", "points")]
        sql = "SELECT count(*) FROM party_directory WHERE party_id = ANY($1)"

        async def ready() -> bool:
            return all([await c.value(sql, ids) >= want for c in counters])

        ok = await wait_until(ready, 120)
        for c in counters:
            await c.close()
        if not ok:
            raise RuntimeError(f"parties of {district.tag} did not reach the directories")

    async def profile(
        self, label: str, seconds: int, services: tuple[str, ...] = ("evaluation", "points")
    ) -> None:
        """py-spy on the given services' processes ("driver": this benchmark's own process,
        which shares the machine); the top frames go in RESULTS.md."""
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which(
            "py-spy"
        )
        if spy is None:
            return
        outs = []
        for name in services:
            pid = os.getpid() if name == "driver" else self.stack.services[name].pid
            out = self.var / f"profile-{label}-{name}.txt"
            proc = await asyncio.create_subprocess_exec(
                spy,
                "record",
                "-p",
                str(pid),
                "-d",
                str(seconds),
                "-r",
                "50",
                "-f",
                "raw",
                "-o",
                str(out),
                "--nonblocking",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            outs.append((name, proc, out))
        lines = self.section("Profiles (py-spy)")
        for name, proc, out in outs:
            _, err = await proc.communicate()
            if not out.exists():
                lines.append(
                    f"- {label} / {name}: py-spy could not sample ({err.decode()[-200:].strip()})"
                )
                continue
            lines.append(f"- **{label} / {name}** ({seconds} s): {top_frames(out)}")


def top_frames(path: Path, k: int = 6) -> str:
    """The frames where the most samples were on top of the stack (self time)."""
    selfs: Tally[str] = Tally()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frame = stack.split(";")[-1]
        selfs[_short(frame)] += int(n)
        total += int(n)
    if not total:
        return "no samples"
    idle = sum(v for f, v in selfs.items() if f.startswith("EpollSelector.select"))
    sends = sum(v for f, v in selfs.items() if f.startswith("_SelectorSocketTransport.write"))
    parts = [f"{f} {100 * v / total:.0f}%" for f, v in selfs.most_common(k)]
    return (
        f"{total} samples: waiting in select {100 * idle / total:.0f}%, in socket sends "
        f"{100 * sends / total:.0f}%; top self: " + "; ".join(parts)
    )


def _short(frame: str) -> str:
    # "func (path/to/module.py:123)" → "func (module.py)"
    name, _, where = frame.partition(" (")
    return f"{name} ({Path(where.split(':')[0]).name})" if where else name


def partial(done: int, n: int) -> str:
    """The note a figure's label carries when its phase hit the time cap."""
    return "" if done >= n else f" (partial: {done:,} done within the phase's time cap)"
