"""`python -m bench.run [--large]`: the benchmark suite against the real stack.

Starts embedded PostgreSQL (durable settings: fsync on, as in production), Tansu and the four
services on free ports under var/bench, measures the references first, then the suite, and
writes bench/RESULTS.md (bench/RESULTS-large.md with --large, which also refreshes the rows
RESULTS.md carries from it). The steps are in bench/steps/, one module each; what the runs
have shown is in bench/FINDINGS.md, which the RESULTS files open with and link to.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from cobuild_kit.kafka import MAX_BATCH_BYTES
from cobuild_scenario.actors import Api, Tokens
from cobuild_scenario.pace import Quiescence
from cobuild_stack.launcher import SERVICES, Stack, StackConfig

from bench.http1 import Http1Pool
from bench.probe import Counter, RssSampler
from bench.report import FINDINGS_HEADING, Carried, Findings, refresh_carried
from bench.steps import (
    assessment,
    http_commands,
    latency,
    ledger_queries,
    main_job,
    pipeline_direct,
    pipeline_signed,
    rebuild,
    references,
    replay,
    resources,
)
from bench.suite import ROOT, Suite

HTTP_CONNECTIONS = 64


class Bench(Suite):
    def __init__(
        self, large: bool, smoke: bool = False, only: set[str] | None = None, out: str = ""
    ) -> None:
        var = ROOT / "var" / ("bench-large" if large else "bench-smoke" if smoke else "bench")
        if only is not None:  # a partial run never clears a full run's directory
            var = var.with_name(var.name + "-only")
        super().__init__(large, smoke, var)
        self.only = only  # run only these steps (None: all); see --only
        self.out = out

    async def main(self) -> None:
        shutil.rmtree(self.var, ignore_errors=True)
        self.var.mkdir(parents=True)
        config = StackConfig(
            var_dir=self.var,
            service_ports=dict.fromkeys(SERVICES, 0),
            test_mode=False,
            ready_timeout=120,
            # The latency step reads when the ledger showed an entry from its commit timestamp.
            pg_settings={"track_commit_timestamp": "on"},
        )
        self.stack = Stack(config, on_event=lambda e: print(f"[stack] {e.component}: {e.message}"))
        self.info = await self.stack.start()
        self.report.note(
            f"stack up: PostgreSQL on {self.stack.postgres.port} (fsync on), "
            f"Tansu on {self.stack.broker.bootstrap}, services {self.pids()}"
        )
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.stack.broker.bootstrap,
            acks="all",
            linger_ms=5,
            max_batch_size=MAX_BATCH_BYTES,  # as the services' relays batch
        )
        await self.producer.start()
        self.http = httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=64))
        self.commands = Http1Pool(self.url("commitments"), HTTP_CONNECTIONS)
        try:
            async with RssSampler(self.pids) as self.rss:
                await self.phases()
        except Exception as exc:
            self.report.note(f"FAILED, the suite stopped here: {exc!r}")
            self.write_results()  # what was measured is kept
            raise
        finally:
            await self.http.aclose()
            await self.commands.aclose()
            await self.producer.stop()
            await self.stack.stop()
        # On a stack of its own once the suite's has stopped (bench/steps/main_job.py).
        if not self.large and self.wants("main_job"):
            await self.guarded("main job", lambda: main_job.measure(self))
        self.write_results()

    def write_results(self) -> None:
        name = "RESULTS-large.md" if self.large else "RESULTS.md"
        path = self.var / name if self.smoke else ROOT / "bench" / name
        if self.out:
            path = Path(self.out)
        findings = Findings.read()
        self.sections[FINDINGS_HEADING[3:]] = findings.section(path)
        carried = None
        if not self.large:  # the large run's figures, so that RESULTS.md holds every one
            measured = {row.figure for row in self.report.rows}
            carried = Carried.read(ROOT / "bench" / "RESULTS-large.md", measured)
        self.report.write(path, findings.preface, self.sections, carried)
        print(f"[bench] wrote {path}")
        # RESULTS.md carries a large run's figures; without this they would wait for the
        # next `make bench` to be copied over, and the two files would disagree.
        main_file = ROOT / "bench" / "RESULTS.md"
        if self.large and path == ROOT / "bench" / name and refresh_carried(main_file, path):
            print(f"[bench] refreshed the rows {main_file} carries from it")

    async def phases(self) -> None:
        """The sequence: references, then the pipeline (and at `make bench` the HTTP commands
        and latency between its two sizes), then the steps on the ledger it left."""
        await asyncio.sleep(3)
        self.rss.mark("rest")
        await references.measure(self)
        await self.register_parties(self.district)
        k = 50 if self.smoke else 1
        if self.large:
            if self.wants("pipeline1m"):
                await pipeline_direct.measure(self, 1_000_000 // k)
        else:
            if self.wants("pipeline10k"):
                await pipeline_signed.measure(self, 10_000 // k)
            if self.wants("latency"):
                await self.settle()  # the backlog of a phase before would load the latency
                pool = await http_commands.claim_and_done(self, 200 * (3 if self.smoke else 30))
                await latency.measure(self, pool, rate=200, seconds=30 // (10 if self.smoke else 1))
            if self.wants("pipeline100k"):
                await pipeline_signed.measure(self, 100_000 // k)
        self.rss.mark("idle-after-load")
        await self.settle()
        steps: list[tuple[str, str, Callable[[], Awaitable[None]]]] = [
            ("ledger", "ledger_queries", lambda: ledger_queries.measure(self)),
            *(
                ("assessment", f"assessment {m:,}", _bind(assessment.measure, self, m))
                for m in ([750_000 // k] if self.large else [5_000 // k, 124_000 // k])
            ),
            ("rebuild", "ledger_at_scale", lambda: rebuild.measure(self)),
        ]
        for name, label, step in steps:
            if self.wants(name):
                await self.guarded(label, step)
        resources.measure(self)
        if self.wants("replay"):
            await self.guarded("replay", lambda: replay.measure(self))

    def wants(self, step: str) -> bool:
        return self.only is None or step in self.only

    async def guarded(self, label: str, step: Callable[[], Awaitable[None]]) -> None:
        """A failed step is reported, and the rest of the suite still runs."""
        try:
            await step()
        except Exception as exc:
            self.report.note(f"FAILED: {label}: {exc!r}")

    async def settle(self, timeout: float = 180) -> None:
        """Let a phase's backlog drain (bounded) before the next measurement: wait until every
        service reports no consumer lag and no outbox backlog (the driver's `Quiescence`),
        then until the points ledger stops growing, three seconds running."""
        t0 = time.monotonic()
        keys = self.info["keys"]
        api = Api(
            {name: s["url"] for name, s in self.info["services"].items()},
            Tokens({"kid": keys["kid"], "private_key": keys["private_key"]}),
        )
        try:
            token = api.tokens.token("operator", str(self.district.district_id))
            with contextlib.suppress(TimeoutError):
                await Quiescence(api, token, timeout).wait()
        finally:
            await api.aclose()
        pt = Counter(self.dsn("points"))
        sql = "SELECT count(*) FROM points_entry"
        last, still = -1, 0
        while time.monotonic() - t0 < timeout and still < 3:
            now = await pt.value(sql)
            still = still + 1 if now == last else 0
            last = now
            await asyncio.sleep(1)
        await pt.close()
        self.rss.sample()
        self.report.note(f"settled after {time.monotonic() - t0:.0f}s (points entries: {last:,})")


def _bind(
    step: Callable[[Suite, int], Awaitable[None]], suite: Suite, size: int
) -> Callable[[], Awaitable[None]]:
    return lambda: step(suite, size)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--large", action="store_true", help="10^6 commitments, 750k members")
    parser.add_argument(
        "--smoke", action="store_true", help="1/50 of the sizes, to check the suite"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated steps to run (references always run): pipeline10k, latency, "
        "pipeline100k, pipeline1m (--large), ledger, assessment, rebuild, replay, main_job; "
        "ledger needs a pipeline step",
    )
    parser.add_argument("--out", default="", help="write the results here instead")
    return parser.parse_args(argv)


def only_steps(only: str) -> set[str] | None:
    """--only's steps; None (every step) when it names none."""
    return {s.strip() for s in only.split(",") if s.strip()} or None


def main() -> None:
    args = parse_args()
    asyncio.run(Bench(args.large, args.smoke, only_steps(args.only), args.out).main())


if __name__ == "__main__":
    main()
