"""Sustained load (issue 8, "Load"): mixed commands and queries at a steady rate from a second
process on 127.0.0.1, bounded in count and time.

`python tests/faults/load.py` starts a stack, plays the tiny seeded year (so there are parties,
members and a ledger), then runs the generator (`load.py generate ...`) as a child process while
it samples each service's memory (RSS). At the end it waits for the consumers to drain and
prints throughput, p50/p99 latency, errors by status, RSS at start and end, and the final lag.
Exit 1 if anything failed, a service's memory kept growing, or the lag did not drain to 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TERMS = {"term_start": "2027-01-01", "term_end": "2027-12-31"}


# --- the generator (the second process) -----------------------------------------------------


class Generator:
    def __init__(self, world: dict[str, Any], rate: float, seconds: float, limit: int) -> None:
        from cobuild_scenario.actors import Tokens

        self.world = world
        self.rate, self.seconds, self.limit = rate, seconds, limit
        self.tokens = Tokens(world["keys"])
        self.urls: dict[str, str] = world["urls"]
        self.client = httpx.AsyncClient(
            timeout=30.0, limits=httpx.Limits(max_connections=64, max_keepalive_connections=64)
        )
        self.latencies: dict[str, list[float]] = {}
        self.statuses: Counter[str] = Counter()
        self.rng = random.Random(8)
        self.sent = 0

    async def call(
        self, kind: str, service: str, method: str, path: str, role: str, party: str, **kw: Any
    ) -> Any:
        headers = {"authorization": f"Bearer {self.tokens.token(role, party)}"}
        if method != "GET":
            headers["idempotency-key"] = uuid.uuid4().hex
        started = time.perf_counter()
        response = None
        for attempt in (1, 2):
            try:
                response = await self.client.request(
                    method, self.urls[service] + path, headers=headers, **kw
                )
                break
            except httpx.TransportError as exc:
                # A pooled keep-alive connection the server just closed: send again, once,
                # with the same Idempotency-Key (so a command still takes effect once).
                self.statuses[f"{kind}:retried {type(exc).__name__}"] += 1
                if attempt == 2:
                    self.statuses[f"{kind}:{type(exc).__name__}"] += 1
        self.sent += 1
        if response is None:
            return None
        self.latencies.setdefault(kind, []).append(time.perf_counter() - started)
        ok = response.status_code < 400
        self.statuses[f"{kind}:{'ok' if ok else response.status_code}"] += 1
        return response.json() if ok else None

    # The mix: queries on every service, and commands that make events flow.

    async def query(self) -> None:
        w, r = self.world, self.rng
        pick = r.randrange(4)
        if pick == 0:
            await self.call(
                "query", "evaluation", "GET", "/ledger", "district_admin", w["district_id"],
                params={"scope": "district", "id": w["district_id"]},
            )  # fmt: skip
        elif pick == 1:
            await self.call(
                "query", "commitments", "GET", "/commitments", "district_admin",
                w["district_id"], params={"limit": 20},
            )  # fmt: skip
        elif pick == 2:
            community = r.choice(w["communities"])
            await self.call(
                "query", "points", "GET", f"/communities/{community}/points", "community_admin",
                community, params={"year": 2026},
            )  # fmt: skip
        else:
            community = r.choice(w["communities"])
            await self.call(
                "query", "agreements", "GET", "/agreements", "community_admin", community,
                params={"party_id": community, "limit": 20},
            )  # fmt: skip

    async def offer_resource(self) -> None:
        r = self.rng.choice(self.world["resources"])
        await self.call(
            "command", "agreements", "POST", "/resources", "unit_admin", r["unit"],
            json={
                "unit_id": r["unit"], "category": r["category"], "kind": r["kind"],
                "title": f"load {self.sent}", "capacity": 10, "capacity_unit": r["capacity_unit"],
                "available_from": "2027-01-01", "available_until": "2027-12-31",
            },
        )  # fmt: skip

    async def wish(self) -> None:
        community = self.rng.choice(self.world["communities"])
        await self.call(
            "command", "points", "POST", "/wishes", "community_admin", community,
            json={"community_id": community, "title": f"心愿 {self.sent}"},
        )  # fmt: skip

    async def agreement(self) -> None:
        """Propose and sign both ways: agreement.signed → commitments opens → evaluation books."""
        p = self.rng.choice(self.world["pairs"])
        item = {
            "title": f"load item {uuid.uuid4().hex[:8]}", "kind": p["kind"],
            "category": p["category"], "obligor_party_id": p["unit"],
            "beneficiary_party_id": p["community"], "responsible_title": "党支部书记",
            "deadline": "2027-06-30", "funds_fen": 10_000, "quantity": 1, "quantity_unit": "次",
        }  # fmt: skip
        body = {"community_id": p["community"], "unit_id": p["unit"], **TERMS, "items": [item]}
        view = await self.call(
            "command", "agreements", "POST", "/agreements", "unit_admin", p["unit"], json=body
        )
        if view is None:
            return
        path = f"/agreements/{view['agreement_id']}/signatures"
        for role, party in (("unit_admin", p["unit"]), ("community_admin", p["community"])):
            await self.call("command", "agreements", "POST", path, role, party, json={"version": 1})

    async def run(self) -> dict[str, Any]:
        mix = [self.query] * 6 + [self.offer_resource] * 1 + [self.wish] * 2 + [self.agreement]
        started = time.monotonic()
        tasks: set[asyncio.Task[None]] = set()
        n = 0
        while n < self.limit and time.monotonic() - started < self.seconds:
            due = started + n / self.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            task = asyncio.create_task(self.rng.choice(mix)())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
        await self.client.aclose()
        every = [x for xs in self.latencies.values() for x in xs]
        return {
            "operations": n,
            "requests": self.sent,
            "seconds": round(elapsed, 1),
            "throughput_rps": round(self.sent / elapsed, 1),
            "p50_ms": round(_pct(every, 50) * 1000, 1),
            "p99_ms": round(_pct(every, 99) * 1000, 1),
            "by_kind": {k: _figures(v) for k, v in self.latencies.items()},
            "statuses": dict(self.statuses),
            "errors": sum(
                v for k, v in self.statuses.items() if not k.endswith(":ok") and ":retried" not in k
            ),
        }


def _figures(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": round(_pct(values, 50) * 1000, 1),
        "p99_ms": round(_pct(values, 99) * 1000, 1),
    }


def _pct(values: list[float], p: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


# --- the parent: stack, world, memory, lag -----------------------------------------------------


async def _prepare(root: Path) -> tuple[Any, dict[str, Any]]:
    from cobuild_scenario.driver import MainJob, play
    from cobuild_stack.launcher import SERVICES, Stack, StackConfig

    config = MainJob().prepare_stack(
        StackConfig.from_env(
            {},
            var_dir=root / "var",
            service_ports={name: 0 for name in SERVICES},
            partitions=2,
            test_mode=True,
        )
    )
    stack = Stack(config)
    info = await stack.start()
    played = await play(
        info, seed=7, scale="tiny", var_dir=stack.var_dir, say=print, show_progress=False
    )
    w, plan = played.world, played.plan
    pairs = [
        {
            "unit": w.parties[a.unit],
            "community": w.parties[a.community],
            "kind": a.items[0].kind,
            "category": a.items[0].category,
        }
        for a in plan.agreements
        if a.items[0].obligor == "unit"
    ]
    world = {
        "urls": {n: s["url"] for n, s in info["services"].items()},
        "keys": info["keys"],
        "district_id": w.district_id,
        "communities": [w.parties[c.code] for c in plan.communities],
        "pairs": pairs,
        "resources": [
            {
                "unit": w.parties[r.unit],
                "category": r.category,
                "kind": r.kind,
                "capacity_unit": r.capacity_unit,
            }
            for r in plan.resources
        ],
    }
    return stack, world


def _rss(stack: Any) -> dict[str, int]:
    out = {}
    for name, service in stack.services.items():
        with contextlib.suppress(psutil.Error, TypeError):
            out[name] = psutil.Process(service.pid).memory_info().rss
    return out


async def _drain(world: dict[str, Any], timeout_s: float = 180.0) -> tuple[int, float]:
    from cobuild_scenario.actors import Tokens

    token = Tokens(world["keys"]).token("operator", world["district_id"])
    started = time.monotonic()
    lag = -1
    async with httpx.AsyncClient(timeout=10) as client:
        while time.monotonic() - started < timeout_s:
            lag = 0
            for url in world["urls"].values():
                body = (
                    await client.get(f"{url}/ops/lag", headers={"authorization": f"Bearer {token}"})
                ).json()
                lag += body["total_lag"] + body["outbox_backlog"]
            if lag == 0:
                break
            await asyncio.sleep(0.5)
    return lag, time.monotonic() - started


async def main(rate: float, seconds: float, limit: int) -> int:
    root = Path(tempfile.mkdtemp(prefix="cobuild-load-"))
    root.chmod(0o755)  # noqa: ASYNC240
    stack, world = await _prepare(root)
    try:
        world_file = root / "world.json"
        world_file.write_text(json.dumps(world))
        start_rss = _rss(stack)
        samples = [start_rss]
        out_file = root / "load.json"
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "generate", str(world_file), str(out_file),
            "--rate", str(rate), "--seconds", str(seconds), "--limit", str(limit),
        )  # fmt: skip
        while child.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.wait(), 10)
            samples.append(_rss(stack))
        if child.returncode != 0:
            print(f"the generator exited with {child.returncode}")
            return 1
        result = json.loads(out_file.read_text())
        lag, drain_s = await _drain(world)
        end_rss = _rss(stack)
    finally:
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    return report(result, start_rss, end_rss, samples, lag, drain_s)


def report(
    result: dict[str, Any],
    start: dict[str, int],
    end: dict[str, int],
    samples: list[dict[str, int]],
    lag: int,
    drain_s: float,
) -> int:
    mb = 1024 * 1024
    print("\n## Load (tests/faults/load.py)\n")
    print(
        f"{result['operations']} operations ({result['requests']} requests) in "
        f"{result['seconds']} s: {result['throughput_rps']} requests/s, p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, errors {result['errors']}"
    )
    print("\n| kind | requests | p50 ms | p99 ms |\n|---|---|---|---|")
    for kind, k in sorted(result["by_kind"].items()):
        print(f"| {kind} | {k['n']} | {k['p50_ms']} | {k['p99_ms']} |")
    print(f"\nstatuses: {result['statuses']}")
    print("\n| service | RSS start MB | RSS max MB | RSS end MB | growth, 2nd half MB |")
    print("|---|---|---|---|---|")
    growing = []
    for name in start:
        series = [s[name] for s in samples if name in s] + [end.get(name, 0)]
        half = series[len(series) // 2 :]
        growth = (half[-1] - half[0]) / mb
        # A leak keeps growing under a steady load; warm-up growth levels off.
        if growth > 40:
            growing.append(name)
        print(
            f"| {name} | {start[name] / mb:.0f} | {max(series) / mb:.0f} | "
            f"{end.get(name, 0) / mb:.0f} | {growth:+.1f} |"
        )
    print(
        f"\nconsumer lag + outbox backlog at the end: {lag} (drained {drain_s:.1f} s after the load)"
    )
    failed = result["errors"] > 0 or lag != 0 or bool(growing)
    if growing:
        print(f"memory kept growing: {', '.join(growing)}")
    return 1 if failed else 0


def _generate(world_file: str, out_file: str, rate: float, seconds: float, limit: int) -> None:
    world = json.loads(Path(world_file).read_text())
    result = asyncio.run(Generator(world, rate, seconds, limit).run())
    Path(out_file).write_text(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", nargs="?", default="run", choices=["run", "generate"])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--rate", type=float, default=float(os.environ.get("LOAD_RATE", 60)))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("LOAD_SECONDS", 240)))
    parser.add_argument("--limit", type=int, default=int(os.environ.get("LOAD_LIMIT", 20_000)))
    args = parser.parse_args()
    if args.mode == "generate":
        _generate(*args.files, args.rate, args.seconds, args.limit)
    else:
        sys.exit(asyncio.run(main(args.rate, args.seconds, args.limit)))
