"""`python -m bench.run [--large]`: the benchmark suite against the real stack.

Starts embedded PostgreSQL (durable settings: fsync on, as in production), Tansu and the four
services on free ports under var/bench, measures the references first, then the suite, and
writes bench/RESULTS.md (bench/RESULTS-large.md with --large, which also refreshes the rows
RESULTS.md carries from it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import random
import shutil
import sys
import time
import uuid
from collections import Counter as Tally
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from cobuild_kit.kafka import MAX_BATCH_BYTES, make_producer
from cobuild_kit.relay import OutboxRelay
from cobuild_scenario.actors import Api, Tokens
from cobuild_scenario.pace import Quiescence
from cobuild_stack.broker import TansuBroker
from cobuild_stack.discovery import StackInfo
from cobuild_stack.keys import mint_token
from cobuild_stack.launcher import SERVICES, Stack, StackConfig
from cobuild_stack.topics import suite_topics

from bench import feed, histograms, ledger_fill, outbox_fill, path_floor, references
from bench.cpu import CORES, CpuMeter, CpuReading, cores_for, describe, per_event_us
from bench.http1 import Http1Pool
from bench.probe import Counter, RssSampler, Since, percentile, rss_mb, wait_until
from bench.report import Carried, Report, Row, fmt, refresh_carried

ROOT = Path(__file__).resolve().parent.parent
AS_OF_PAST = date(2026, 9, 30)
HTTP_CONNECTIONS = 64
YEAR = 2026
# The kit's timings of units of work, read from the services on a confirm's path.
DB_HISTOGRAMS = {
    "cobuild_db_commit_seconds": "COMMITs (each waits for the WAL's flush to disk)",
    "cobuild_db_pool_wait_seconds": "waits for a pooled connection",
}
DB_SERVICES = ("commitments", "evaluation")


class Bench:
    def __init__(
        self, large: bool, smoke: bool = False, only: set[str] | None = None, out: str = ""
    ) -> None:
        self.large = large
        self.only = only  # run only these steps (None: all); see --only
        self.out = out
        self.smoke = smoke  # a quick check of the suite itself: tiny sizes, no RESULTS.md
        self.latency_n = 200 * (3 if smoke else 30)
        # Keeps `make bench` inside 30 minutes on a slow or shared machine: a phase that has
        # not finished by then is reported as the rate it sustained over the window.
        self.phase_cap_s = 3600.0 if large else 240.0
        self.run_id = uuid.uuid4().hex[:8]
        self.var = ROOT / "var" / ("bench-large" if large else "bench-smoke" if smoke else "bench")
        if only is not None:  # a partial run never clears a full run's directory
            self.var = self.var.with_name(self.var.name + "-only")
        self.report = Report("Cobuild benchmarks" + (" (large)" if large else ""))
        self.sections: dict[str, list[str]] = {}
        self.refs: dict[str, float] = {}
        self.stack: Stack
        self.info: StackInfo
        self.tokens: dict[tuple[str, uuid.UUID], str] = {}
        self.district = feed.District(self.run_id, "pipe")
        self.loaded: list[feed.Batch] = []
        self.profiles: list[str] = []
        self.cpu = CpuMeter(self.cpu_components)
        self.floor_workers: dict[str, int] = {}  # path_floor's processes, while they run

    # -- plumbing ----------------------------------------------------------------------

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

    async def produce(self, records: list[feed.Record]) -> float:
        """Records encoded before the timed phase; returns seconds spent producing."""
        t0 = time.perf_counter()
        await feed.produce(self.producer, records)
        return time.perf_counter() - t0

    # -- main --------------------------------------------------------------------------

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
            raise
        finally:
            await self.http.aclose()
            await self.commands.aclose()
            await self.producer.stop()
            await self.stack.stop()
            self.write_results()  # also after a failure: what was measured is kept

    def write_results(self) -> None:
        name = "RESULTS-large.md" if self.large else "RESULTS.md"
        path = self.var / name if self.smoke else ROOT / "bench" / name
        if self.out:
            path = Path(self.out)
        findings = FINDINGS.strip().split("\n")
        self.sections["What the profiles showed, and what was changed"] = findings
        carried = None
        if not self.large:  # the large run's figures, so that RESULTS.md holds every one
            measured = {row.figure for row in self.report.rows}
            carried = Carried.read(ROOT / "bench" / "RESULTS-large.md", measured)
        self.report.write(path, PREFACE, self.sections, carried)
        print(f"[bench] wrote {path}")
        # RESULTS.md carries a large run's figures; without this they would wait for the
        # next `make bench` to be copied over, and the two files would disagree.
        main_file = ROOT / "bench" / "RESULTS.md"
        if self.large and path == ROOT / "bench" / name and refresh_carried(main_file, path):
            print(f"[bench] refreshed the rows {main_file} carries from it")

    async def phases(self) -> None:
        await asyncio.sleep(3)
        self.rss.mark("rest")
        await self.measure_references()
        await self.register_parties(self.district)
        k = 50 if self.smoke else 1
        if self.large:
            if self.wants("pipeline1m"):
                await self.pipeline_direct(1_000_000 // k)
        else:
            if self.wants("pipeline10k"):
                await self.pipeline_signed_then_fed(10_000 // k)
            if self.wants("latency"):
                await self.settle()  # the backlog of a phase before would load the latency
                await self.prepare_latency_pool()
                await self.latency(rate=200, seconds=30 // (10 if self.smoke else 1))
            if self.wants("pipeline100k"):
                await self.pipeline_signed_then_fed(100_000 // k)
        self.rss.mark("idle-after-load")
        await self.settle()
        steps: list[tuple[str, Any]] = [
            ("ledger", self.ledger_queries),
            *(
                ("assessment", functools.partial(self.assessment, members // k))
                for members in ([750_000] if self.large else [5_000, 124_000])
            ),
            ("rebuild", self.ledger_at_scale),
        ]
        for name, step in steps:
            if self.wants(name):
                await self.guarded(step)
        self.resources()
        if self.wants("replay"):
            await self.guarded(self.replay)

    def wants(self, step: str) -> bool:
        return self.only is None or step in self.only

    async def guarded(self, step: Any) -> None:
        """A failed step is reported, and the rest of the suite still runs."""
        try:
            await step()
        except Exception as exc:
            self.report.note(f"FAILED: {getattr(step, '__name__', step)}: {exc!r}")

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
            token = api.tokens.token("district_admin", str(self.district.district_id))
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

    # -- references --------------------------------------------------------------------

    async def measure_references(self) -> None:
        dsn = await self.stack.postgres.ensure_database("bench_raw")
        bootstrap = self.stack.broker.bootstrap
        r = self.refs
        r["pg_commits"] = await references.pg_single_row_commits(dsn)
        flush = await asyncio.to_thread(
            references.disk_flush_tail, self.stack.postgres.data_dir.parent
        )
        trip = await references.pg_round_trip(dsn)
        r["pg_trip_us"], r["pg_trip_client_us"], r["pg_trip_server_us"] = trip
        r["pg_copy"] = await references.pg_batch_rows(dsn, copy=True)
        r["pg_executemany"] = await references.pg_batch_rows(dsn, copy=False)
        r["kafka_produce"], r["kafka_consume"] = await references.kafka_produce_consume(
            bootstrap, 50_000
        )
        cpu0: CpuReading = {}
        cpu1: CpuReading = {}
        r["raw_pipeline"] = await references.raw_pipeline(
            bootstrap,
            dsn,
            30_000,
            on_start=lambda: cpu0.update(self.cpu.read()),
            on_end=lambda: cpu1.update(self.cpu.read()),
        )
        self.cpu_row(
            "ref: raw pipeline, 30,000 events (the driver runs it; its feed not counted)",
            cpu0,
            30_000,
            30_000 / r["raw_pipeline"],
            after=cpu1,
        )
        await self.measure_path_floor(bootstrap)
        add = self.report.add
        add(Row("ref: PostgreSQL single-row commits, one connection", r["pg_commits"], "commits/s"))
        add(
            Row(
                "ref: PostgreSQL round trip (SELECT 1), CPU of client + backend",
                r["pg_trip_client_us"] + r["pg_trip_server_us"],
                "µs",
            )
        )
        add(Row("ref: disk flush of 8 KiB (fdatasync), p99.9", flush.p999_ms, "ms"))
        add(Row("ref: disk flush of 8 KiB (fdatasync), slowest", flush.max_ms, "ms"))
        add(Row("ref: PostgreSQL rows in batches of 500 (COPY)", r["pg_copy"], "rows/s"))
        add(
            Row(
                "ref: PostgreSQL rows in batches of 500 (executemany)",
                r["pg_executemany"],
                "rows/s",
            )
        )
        add(Row("ref: aiokafka produce, 500 B, acks=all", r["kafka_produce"], "msgs/s"))
        add(Row("ref: aiokafka consume, 500 B", r["kafka_consume"], "msgs/s"))
        add(
            Row(
                "ref: raw pipeline (batch → inbox+upsert+outbox tx → offsets)",
                r["raw_pipeline"],
                "events/s",
            )
        )
        add(
            Row(
                "ref: the fulfilment path's floor (its 3 hops + relay as raw units of work)",
                r["path_floor"],
                "events/s",
                r["raw_pipeline"],
                "raw pipeline events/s",
            )
        )
        self.section("References").extend(
            [
                "Measured first, on the same PostgreSQL cluster and broker as the services, before any "
                "service load:",
                f"- single-row INSERT commits on one connection (fsync on): {fmt(r['pg_commits'])}/s, "
                f"i.e. {1000 / r['pg_commits']:.2f} ms per commit;",
                f"- the disk alone: 8 KiB written and flushed (`fdatasync`, as a commit flushes "
                f"the WAL) {flush.n:,} times in {flush.seconds:.0f} s on the file system that "
                f"holds the cluster: p50 {flush.p50_ms:.2f} ms, p99.9 {flush.p999_ms:.1f} ms, "
                f"slowest {flush.max_ms:.0f} ms; {flush.stalls} flushes over "
                f"{references.STALL_MS:.0f} ms ({60 * flush.stalls / flush.seconds:.1f} a "
                "minute). Every commit waits for such a flush, and commits that arrive during a "
                "slow one wait together;",
                f"- one round trip (`SELECT 1`, one connection, 5,000 in a row): "
                f"{r['pg_trip_us']:.0f} µs of wall time, {r['pg_trip_client_us']:.0f} µs of CPU in "
                f"the client (this driver, plain asyncio) and {r['pg_trip_server_us']:.0f} µs in "
                "the backend. Every BEGIN, statement, COMMIT and pool reset pays it before its "
                "work;",
                f"- 500-row transactions: COPY {fmt(r['pg_copy'])} rows/s, executemany "
                f"{fmt(r['pg_executemany'])} rows/s;",
                f"- aiokafka, 50,000 messages of 500 bytes, 4 partitions: produce {fmt(r['kafka_produce'])}"
                f"/s, consume {fmt(r['kafka_consume'])}/s;",
                f"- raw pipeline, 30,000 events: `getmany(500)` → one transaction (executemany inbox "
                f"insert, upsert, outbox insert) → commit offsets: {fmt(r['raw_pipeline'])} events/s. "
                "This is the ceiling the services are held against;",
                f"- the fulfilment path's floor, 30,000 events (`bench/path_floor.py`): the three "
                "hops and the relay a fed `commitment.fulfilled` takes, each hop the raw "
                "pipeline's unit of work (without the outbox insert where the service emits "
                "nothing), in two worker processes with a database each, as points and "
                f"evaluation are: {fmt(r['path_floor'])} events/s, "
                f"{r['path_floor'] / r['raw_pipeline']:.2f} of the raw pipeline. What the shape "
                "allows before any domain work.",
            ]
        )

    async def measure_path_floor(self, bootstrap: str) -> None:
        n = 30_000
        dsns = {
            w: await self.stack.postgres.ensure_database(f"bench_floor_{w}")
            for w in path_floor.WORKERS
        }
        cpu0: CpuReading = {}
        cpu1: CpuReading = {}
        window = [0.0, 0.0]  # from "go" to the last hop's report, the span the CPU covers

        def started(pids: dict[str, int]) -> None:
            self.floor_workers.update(pids)
            cpu0.update(self.cpu.read())
            window[0] = time.perf_counter()

        def ended() -> None:
            cpu1.update(self.cpu.read())
            window[1] = time.perf_counter()

        try:
            self.refs["path_floor"] = await path_floor.fulfilment_floor(
                bootstrap, dsns, n, started, ended
            )
        finally:
            self.floor_workers.clear()
        self.cpu_row(
            f"ref: the fulfilment path's floor, {n:,} events (its feed not counted; the "
            "window includes the consumers joining their groups)",
            cpu0,
            n,
            window[1] - window[0],
            after=cpu1,
        )

    # -- set-up ------------------------------------------------------------------------

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

    # -- pipeline ----------------------------------------------------------------------

    def _remember(self, batch: feed.Batch) -> None:
        self.loaded.append(batch)

    async def baselines(self) -> dict[str, int]:
        """Where a phase starts: the highest ledger journal id and points outbox id (each
        table has one writer, the service's consumer, whose transactions commit in turn)."""
        ev = Counter(self.dsn("evaluation"))
        pt = Counter(self.dsn("points"))
        out = {
            "journal": await ev.value("SELECT coalesce(max(id), 0) FROM ledger_journal"),
            "outbox": await pt.value("SELECT coalesce(max(id), 0) FROM outbox"),
        }
        await ev.close()
        await pt.close()
        return out

    async def _wait_effects(
        self,
        batch: feed.Batch,
        fact: str,
        base: dict[str, int],
        *,
        points: bool,
        t0: float,
        timeout: float,
        want: int | None = None,
    ) -> tuple[float, int, int]:
        """Seconds from t0 until the ledger (and points) show every commitment of `batch`.

        Each poll counts only the rows written since the one before (by id). Counting the
        whole journal every half second cost the 10^6 fulfil phase about 150 µs of PostgreSQL
        CPU per event (parallel scans of 2M rows), taken from the services it measured. A
        points award is counted by its `points.awarded` outbox row, written in the same
        transaction as the entry. One full count at the end checks that they are all there."""
        ledger = Since(self.dsn("evaluation"), "ledger_journal", "fact = $2", base["journal"], fact)
        awards = Since(
            self.dsn("points"), "outbox", "event_type = $2", base["outbox"], "points.awarded"
        )
        every = 0.25 if batch.n <= 20_000 else 0.5
        want = batch.n if want is None else want

        async def done() -> bool:
            if await ledger.count() < want:
                return False
            return not points or await awards.count() >= want

        ok = await wait_until(done, timeout, every_s=every)
        took = time.perf_counter() - t0
        if ok and (await ledger.exact() < want or (points and await awards.exact() < want)):
            raise RuntimeError(f"{batch.name} {fact}: the incremental count ran ahead of the rows")
        await ledger.close()
        await awards.close()
        if not ok:
            self.report.note(
                f"TIMEOUT after {timeout:.0f}s waiting for {batch.name} {fact}: "
                f"ledger {ledger.total}/{want}, points {awards.total}/{want}"
            )
        return took, ledger.total, awards.total

    def _fulfilled_rows(self, n: int, events: int, seconds: float, cpu_us: float) -> None:
        """The fulfil phase against the raw pipeline (the target) and against the path's
        floor: how far the services are from their shape's bare plumbing."""
        figure = f"pipeline {n:,}: fulfilled → ledger + points{_partial(events, n)}"
        path = "commitment.fulfilled fed to the topic → evaluation and points consumers"
        self._throughput_row(figure, events, seconds, path, cpu_us)
        self.report.add(
            Row(
                f"{figure}, against the path's floor",
                events / seconds,
                "events/s",
                self.refs["path_floor"],
                "floor events/s",
                path=path,
            )
        )

    def _throughput_row(
        self, figure: str, events: int, seconds: float, path: str, cpu_us: float | None = None
    ) -> Row:
        rate = events / seconds
        ref = self.refs["raw_pipeline"]
        row = self.report.add(
            Row(
                figure,
                rate,
                "events/s",
                ref,
                "raw pipeline events/s",
                "≥ 50% of raw",
                rate >= 0.5 * ref,
                path,
            )
        )
        if cpu_us is not None:
            self._cores_row(figure, cpu_us)
        return row

    def _cores_row(self, figure: str, cpu_us: float) -> None:
        """The throughput target read as CPU: half the raw pipeline's rate times the phase's
        CPU per event (every process on the machine) is the cores it needs, against the
        cores here. Scaling out to them is the sizing method's assumption, not measured."""
        self.report.add(
            Row(
                f"{figure}: cores the target needs at this CPU per event",
                cores_for(0.5 * self.refs["raw_pipeline"], cpu_us),
                "cores",
                CORES,
                "cores here",
                path=f"0.5 × raw pipeline events/s × {cpu_us:,.0f} µs of CPU per event",
            )
        )

    async def _open_by_signing(self, batch: feed.Batch, phase: str) -> tuple[float, int, float]:
        signed = feed.encode_all((batch.signed(a) for a in range(batch.agreements())), "agreements")
        self.rss.mark(phase)
        base = await self.baselines()
        cpu0 = self.cpu.read()
        t0 = time.perf_counter()
        fed = await self.produce(signed)
        took, got, _ = await self._wait_effects(
            batch, "opened", base, points=False, t0=t0, timeout=self.phase_cap_s
        )
        cpu_us = self.cpu_row(
            f"{phase}: agreement.signed → commitment opened in the ledger", cpu0, got, took
        )
        self.report.note(
            f"{batch.name}: fed {len(signed)} agreement.signed in {fed:.1f}s; "
            f"{got} commitments opened into the ledger after {took:.1f}s"
        )
        return took, got, cpu_us

    async def prepare_latency_pool(self) -> None:
        """Commitments for the latency run: opened by signing, claimed and marked done over
        HTTP, so that only the confirm remains."""
        self.latency_batch = feed.Batch(
            self.district, "latency", self.latency_n, members=self.latency_n
        )
        self._remember(self.latency_batch)
        await self._open_by_signing(self.latency_batch, "open latency pool")
        # The command path is profiled here, not in the latency window: py-spy on three
        # processes took about a tenth of a core from the system being timed.
        profile = asyncio.create_task(self.profile("http-commands", 10, ("commitments", "driver")))
        t0 = time.perf_counter()
        await self._http_all(
            self.latency_batch, range(self.latency_n), self._claim_and_done, concurrency=16
        )
        took = time.perf_counter() - t0
        await profile
        self.http_prep_rate = 2 * self.latency_n / took
        self.report.add(
            Row(
                "HTTP commands (claim, then done), 16 concurrent",
                self.http_prep_rate,
                "commands/s",
                self.refs["pg_commits"],
                "raw single-row commits/s",
                "",
                None,
                "HTTP",
            )
        )
        self.report.note(
            f"claim + done over HTTP for {self.latency_n} commitments in {took:.0f}s "
            f"({self.http_prep_rate:.0f} commands/s, 16 concurrent)"
        )

    async def _http_all(self, batch: feed.Batch, idx: range, fn: Any, concurrency: int) -> None:
        sem = asyncio.Semaphore(concurrency)
        errors: Tally[str] = Tally()

        async def one(i: int) -> None:
            async with sem:
                try:
                    await fn(batch.spot(i))
                except Exception as exc:  # keep going; counted and reported
                    errors[str(exc)[:120]] += 1

        await asyncio.gather(*(one(i) for i in idx))
        if errors:
            self.report.note(f"HTTP errors in {batch.name}: {dict(errors.most_common(3))}")

    async def _post(self, path: str, token: str, body: Any = None) -> None:
        status, answer = await self.commands.post(path, {"authorization": f"Bearer {token}"}, body)
        if status != 200:
            raise RuntimeError(f"{path.split('/')[-1]} {status} {answer[:80]!r}")

    async def _claim_and_done(self, s: feed.Spot) -> None:
        tok = self.token("unit_admin", s.unit_id)
        await self._post(f"/commitments/{s.commitment_id}/claim", tok)
        body = {"participants": [{"member_id": str(s.member_id), "hours": "1"}]}
        await self._post(f"/commitments/{s.commitment_id}/done", tok, body)

    async def _confirm(self, s: feed.Spot) -> None:
        tok = self.token("community_admin", s.community_id)
        await self._post(f"/commitments/{s.commitment_id}/confirm", tok)

    async def pipeline_signed_then_fed(self, n: int) -> None:
        """10^5: agreement.signed fed (the commitments service opens), then commitment.fulfilled
        fed straight into commitments.events.v1, as the commitments service would publish it."""
        batch = feed.Batch(self.district, f"fed{n}", n, members=max(10_000, n // 20))
        self._remember(batch)
        opened_s, opened_n, opened_us = await self._open_by_signing(batch, f"open {n}")
        self._throughput_row(
            f"pipeline {n:,}: opened, signed → commitments → ledger{_partial(opened_n, n)}",
            opened_n,
            opened_s,
            "agreement.signed fed; commitments service opens; relay; evaluation ledger",
            opened_us,
        )
        fulfilled_s, fulfilled_n, fulfilled_us = await self._fulfil_fed(batch)
        self._fulfilled_rows(n, fulfilled_n, fulfilled_s, fulfilled_us)
        self._throughput_row(
            f"pipeline {n:,}: sustained, opened + fulfilled",
            opened_n + fulfilled_n,
            opened_s + fulfilled_s,
            "both phases above, ledger facts per second",
        )

    async def _fulfil_fed(self, batch: feed.Batch) -> tuple[float, int, float]:
        # Only what the ledger opened: a fulfilment of an unknown commitment is a poison event.
        opened = await self._opened_indexes(batch)
        events = feed.encode_all((batch.fulfilled(i) for i in opened), "commitments")
        if len(opened) < batch.n:
            self.report.note(
                f"{batch.name}: fulfilling the {len(opened)} commitments opened in time"
            )
        self.rss.mark(f"fulfil {batch.n}")
        base = await self.baselines()
        profile = asyncio.create_task(self.profile(f"fulfil-{batch.n}", 20))
        cpu0 = self.cpu.read()
        t0 = time.perf_counter()
        fed = await self.produce(events)
        took, got, pts = await self._wait_effects(
            batch,
            "fulfilled",
            base,
            points=True,
            t0=t0,
            timeout=self.phase_cap_s,
            want=len(opened),
        )
        cpu_us = self.cpu_row(
            f"fulfil {batch.n}: commitment.fulfilled → ledger + points (py-spy sampled for 20 s)",
            cpu0,
            min(got, pts),
            took,
        )
        await profile
        self.report.note(
            f"{batch.name}: fed {len(opened)} commitment.fulfilled in {fed:.1f}s; "
            f"ledger {got}, points {pts} after {took:.1f}s"
        )
        return took, min(got, pts), cpu_us

    async def _opened_indexes(self, batch: feed.Batch) -> list[int]:
        index = {batch.spot(i).commitment_id: i for i in range(batch.n)}
        conn = await asyncpg.connect(self.dsn("evaluation"))
        ids = [r[0] for r in await conn.fetch("SELECT commitment_id FROM ledger_commitments")]
        await conn.close()
        return sorted(index[c] for c in ids if c in index)

    async def pipeline_direct(self, n: int) -> None:
        """10^6: commitment.opened, then commitment.fulfilled, fed straight into
        commitments.events.v1 (DESIGN §7: as a producing service would)."""
        batch = feed.Batch(self.district, "direct", n, members=max(10_000, n // 20))
        self._remember(batch)
        events = feed.encode_all((batch.opened(i) for i in range(n)), "commitments")
        self.rss.mark(f"open {n}")
        base = await self.baselines()
        cpu0 = self.cpu.read()
        t0 = time.perf_counter()
        await self.produce(events)
        del events
        opened_s, opened_n, _ = await self._wait_effects(
            batch, "opened", base, points=False, t0=t0, timeout=self.phase_cap_s
        )
        opened_us = self.cpu_row(f"open {n}: commitment.opened → ledger", cpu0, opened_n, opened_s)
        self._throughput_row(
            f"pipeline {n:,}: opened → ledger{_partial(opened_n, n)}",
            opened_n,
            opened_s,
            "commitment.opened fed to the topic → evaluation consumer",
            opened_us,
        )
        fulfilled_s, fulfilled_n, fulfilled_us = await self._fulfil_fed(batch)
        self._fulfilled_rows(n, fulfilled_n, fulfilled_s, fulfilled_us)
        self._throughput_row(
            f"pipeline {n:,}: sustained, opened + fulfilled",
            opened_n + fulfilled_n,
            opened_s + fulfilled_s,
            "both phases above, ledger facts per second",
        )

    # -- latency -----------------------------------------------------------------------

    async def latency(self, rate: int, seconds: int) -> None:
        """Confirms at a steady `rate` over HTTP; each timed to the commit of the evaluation
        transaction that wrote its fulfilled journal entry (the moment readers can see it)."""
        batch = self.latency_batch
        n = min(batch.n, rate * seconds)
        index = {batch.spot(i).commitment_id: i for i in range(n)}
        accepted: dict[int, float] = {}  # wall clock, as the timestamps PostgreSQL gives
        sent: dict[int, float] = {}
        conn = await asyncpg.connect(self.dsn("evaluation"))
        last_id = await conn.fetchval("SELECT coalesce(max(id), 0) FROM ledger_journal")

        async def one(i: int, at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            sent[i] = time.time()
            with contextlib.suppress(Exception):
                await self._confirm(batch.spot(i))
                accepted[i] = time.time()

        self.rss.mark("latency")
        db_before = await self._db_histograms()
        cpu0, read_at = self.cpu.read(), time.perf_counter()
        t0 = read_at + 0.5
        await asyncio.gather(*(one(i, t0 + i / rate) for i in range(n)))
        db_lines = self._db_lines(db_before, await self._db_histograms())
        self.cpu_row(
            f"latency at {rate}/s: per confirm, over the {seconds} s of confirms",
            cpu0,
            n,
            time.perf_counter() - read_at,  # the window the reading covers, lead-in included
        )
        achieved = n / (max(accepted.values(), default=sent[0] + 1) - sent[0])
        seen = await _commits_seen(conn, last_id, index, deadline=time.perf_counter() + 60)
        await conn.close()
        # "Accepted" is the service's own confirmed_at (taken when the handler starts, before
        # its commit): the HTTP response can arrive after the ledger already shows the entry.
        cm = await asyncpg.connect(self.dsn("commitments"))
        rows = await cm.fetch(
            "SELECT commitment_id, confirmed_at FROM commitments WHERE commitment_id = ANY($1)",
            list(index),
        )
        await cm.close()
        took_at = {index[r[0]]: r[1].timestamp() for r in rows if r[1] is not None}
        hops = await self._latency_hops(index, took_at, seen)
        lat = [(seen[i] - took_at[i]) * 1000 for i in took_at if i in seen]
        lat_resp = [(seen[i] - accepted[i]) * 1000 for i in accepted if i in seen]
        lat_sent = [(seen[i] - sent[i]) * 1000 for i in accepted if i in seen]
        http = [(accepted[i] - sent[i]) * 1000 for i in accepted]
        missing = n - len(lat)
        p50, p99, mx = percentile(lat, 50), percentile(lat, 99), max(lat, default=float("nan"))
        ref_ms = 1000 / self.refs["pg_commits"]
        self.report.add(
            Row(
                f"latency at {rate} commands/s: confirm accepted → ledger, p50",
                p50,
                "ms",
                ref_ms,
                "ms per raw commit",
                "",
                None,
                "HTTP",
            )
        )
        self.report.add(
            Row(
                f"latency at {rate} commands/s: confirm accepted → ledger, p99",
                p99,
                "ms",
                ref_ms,
                "ms per raw commit",
                "≤ 100 ms",
                p99 <= 100,
                "HTTP",
            )
        )
        self.report.add(
            Row(
                f"latency at {rate} commands/s: confirm accepted → ledger, max",
                mx,
                "ms",
                ref_ms,
                "ms per raw commit",
                "",
                None,
                "HTTP",
            )
        )
        self.section("Latency under steady load").extend(
            [
                f"{n} confirms (`POST /commitments/{{id}}/confirm`) scheduled at {rate}/s for "
                f"{seconds} s (achieved {achieved:.0f}/s); each commitment was claimed and marked done "
                "over HTTP beforehand. Latency runs from the moment the commitments service "
                "accepted the command (its `confirmed_at`, taken as the handler starts, before its "
                "commit) to the commit of the evaluation transaction that wrote its `fulfilled` "
                "journal entry, the moment a reader can see it (PostgreSQL's commit timestamp, "
                "`track_commit_timestamp` on for the bench; no poller loads the machine).",
                f"- accepted → ledger: p50 {p50:.1f} ms, p90 {percentile(lat, 90):.1f} ms, "
                f"p99 {p99:.1f} ms, max {mx:.1f} ms; {missing} not in the ledger within 60 s",
                f"- the HTTP confirm itself (sent → response): p50 {percentile(http, 50):.1f} ms, "
                f"p99 {percentile(http, 99):.1f} ms",
                f"- sent → ledger: p50 {percentile(lat_sent, 50):.1f} ms, p99 "
                f"{percentile(lat_sent, 99):.1f} ms; response → ledger: p50 "
                f"{percentile(lat_resp, 50):.1f} ms, p99 {percentile(lat_resp, 99):.1f} ms "
                "(negative: the ledger showed it before the client had the response)",
                "- the consumers' fetch wait is the kit's `consumer_fetch_max_wait_ms` = 20 ms "
                "(Tansu does not wake a waiting fetch), the relay is woken by LISTEN/NOTIFY.",
                "- the hops, from the services' own timestamps (PostgreSQL's `now()` is the "
                "start of a transaction): "
                + "; ".join(
                    f"{hop} p50 {percentile(ms, 50):.1f} / p99 {percentile(ms, 99):.1f} ms"
                    for hop, ms in hops.items()
                ),
                *db_lines,
            ]
        )

    async def _db_histograms(self) -> dict[tuple[str, str], histograms.Buckets]:
        """The kit's timings of units of work (`cobuild_kit.db.transaction`) in the services
        on the confirm's path: one read of each service's /metrics."""
        reads = {
            svc: await histograms.read(self.http, self.url(svc), DB_HISTOGRAMS)
            for svc in DB_SERVICES
        }
        return {(svc, name): h for svc, found in reads.items() for name, h in found.items()}

    def _db_lines(
        self,
        before: dict[tuple[str, str], histograms.Buckets],
        after: dict[tuple[str, str], histograms.Buckets],
    ) -> list[str]:
        bounds_ms = (50, 100)
        return [
            f"- the units of work's {label} during the confirms (`{name}`): "
            + "; ".join(
                f"{svc} {histograms.added(before[svc, name], after[svc, name], bounds_ms).line()}"
                for svc in DB_SERVICES
            )
            for name, label in DB_HISTOGRAMS.items()
        ]

    async def _latency_hops(
        self, index: dict[uuid.UUID, int], took_at: dict[int, float], seen: dict[int, float]
    ) -> dict[str, list[float]]:
        """Where the time went, per confirm: its outbox row (written in the command's
        transaction, claimed by the relay) and the evaluation consumer's inbox row."""
        cm = await asyncpg.connect(self.dsn("commitments"))
        rows = await cm.fetch(
            """SELECT key, event_id, created_at, published_at FROM outbox
               WHERE event_type = 'commitment.fulfilled' AND key = ANY($1::text[])""",
            [str(c) for c in index],
        )
        await cm.close()
        ev = await asyncpg.connect(self.dsn("evaluation"))
        applied = dict(
            await ev.fetch(
                "SELECT event_id, processed_at FROM inbox WHERE event_id = ANY($1::uuid[])",
                [r["event_id"] for r in rows],
            )
        )
        await ev.close()
        hops: dict[str, list[float]] = {
            "handler → its transaction": [],
            "→ relay claim": [],
            "→ evaluation transaction": [],
            "→ its commit": [],
        }
        for r in rows:
            i = index[uuid.UUID(r["key"])]
            if i not in took_at or i not in seen or r["event_id"] not in applied:
                continue
            marks = [
                took_at[i],
                r["created_at"].timestamp(),
                r["published_at"].timestamp(),
                applied[r["event_id"]].timestamp(),
                seen[i],
            ]
            for hop, a, b in zip(hops.values(), marks, marks[1:], strict=False):
                hop.append((b - a) * 1000)
        return hops

    # -- ledger queries ----------------------------------------------------------------

    async def ledger_queries(self, per_scope: int = 200, when: str = "") -> None:
        """p50/p99 per scope; `when` tells apart two measurements at one size."""
        d = self.district
        tok = self.token("district_admin", d.district_id)
        batch = self.loaded[-1]
        rng = random.Random(7)
        picks: dict[str, list[uuid.UUID | None]] = {
            "all": [None],
            "district": [d.district_id],
            "street": [d.street(i) for i in range(d.streets)],
            "community": [d.community(i) for i in range(d.communities)],
            "unit": [d.unit(i) for i in range(d.units)],
            "agreement": [batch.spot(rng.randrange(batch.n)).agreement_id for _ in range(200)],
            "commitment": [batch.spot(rng.randrange(batch.n)).commitment_id for _ in range(200)],
        }
        counter = Counter(self.dsn("evaluation"))
        journal = await counter.value("SELECT count(*) FROM ledger_journal")
        commitments = await counter.value("SELECT count(*) FROM ledger_commitments")
        vacuum_before = await counter.row(_VACUUM_STATE)
        self.rss.mark("ledger queries")
        per: dict[str, list[float]] = {}
        for scope, ids in picks.items():
            times: list[float] = []
            for k in range(per_scope):
                params: dict[str, str] = {"scope": scope, "as_of": AS_OF_PAST.isoformat()}
                sid = ids[k % len(ids)]
                if sid is not None:
                    params["id"] = str(sid)
                t0 = time.perf_counter()
                r = await self.http.get(
                    f"{self.url('evaluation')}/ledger",
                    params=params,
                    headers={"Authorization": f"Bearer {tok}"},
                )
                times.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"GET /ledger {scope}: {r.status_code} {r.text[:200]}")
            per[scope] = times
        vacuum_after = await counter.row(_VACUUM_STATE)
        await counter.close()
        every = [t for ts in per.values() for t in ts]
        # Reference: the same as-of sum straight on the database, no HTTP, no auth, no drill-down.
        conn = await asyncpg.connect(self.dsn("evaluation"))
        ref_times = []
        for k in range(per_scope):
            cid = picks["community"][k % d.communities]
            t0 = time.perf_counter()
            await conn.fetchrow(
                "SELECT sum(signed), sum(fulfilled), sum(fulfilled_fen) FROM ledger_daily "
                "WHERE scope_kind = 'community' AND scope_id = $1 AND day <= $2",
                cid,
                AS_OF_PAST,
            )
            ref_times.append((time.perf_counter() - t0) * 1000)
        await conn.close()
        ref99 = percentile(ref_times, 99)
        label = f"{commitments:,} commitments, {journal:,} journal entries{when}"
        self.report.add(
            Row(
                f"ledger query p50, every scope, as of a past date ({label})",
                percentile(every, 50),
                "ms",
                percentile(ref_times, 50),
                "ms raw SQL p50",
                "",
                None,
                "GET /ledger",
            )
        )
        self.report.add(
            Row(
                f"ledger query p99, every scope, as of a past date ({label})",
                percentile(every, 99),
                "ms",
                ref99,
                "ms raw SQL p99",
                "≤ 20 ms",
                percentile(every, 99) <= 20,
                "GET /ledger",
            )
        )
        lines = self.section("Ledger queries")
        lines.append(
            f"`GET /ledger?scope=…&id=…&as_of={AS_OF_PAST}` as the district admin, {per_scope} "
            f"sequential queries per scope, with the ledger holding {journal:,} journal entries "
            f"({commitments:,} commitments). Each answer includes the drill-down one level "
            "below (e.g. the district's streets, a community's agreements), a page of at most "
            "100 children (the API's default page)."
        )
        lines.append("")
        lines.append(
            "| scope | p50 ms | p99 ms | max ms | first query of each id: p99 ms | "
            "the queries after: p99 ms |"
        )
        lines.append("|---|---|---|---|---|---|")
        for scope, ts in per.items():
            first, again = ts[: len(picks[scope])], ts[len(picks[scope]) :]
            lines.append(
                f"| {scope} | {percentile(ts, 50):.1f} | {percentile(ts, 99):.1f} | "
                f"{max(ts):.1f} | {percentile(first, 99):.1f} | "
                f"{percentile(again, 99):.1f} |".replace("| nan |", "| — |")
            )
        lines.append(
            f"| reference: one community's as-of sum, raw SQL | {percentile(ref_times, 50):.2f} "
            f"| {ref99:.2f} | {max(ref_times):.2f} | | |"
        )
        lines.append(
            "\nAutovacuum workers running (all databases) and dead rows in ledger_daily and "
            f"ledger_commitments: {vacuum_before[0]}, {vacuum_before[1]:,} and "
            f"{vacuum_before[2]:,} before the queries; {vacuum_after[0]}, {vacuum_after[1]:,} "
            f"and {vacuum_after[2]:,} after."
        )

    # -- assessment --------------------------------------------------------------------

    async def assessment(self, members: int) -> None:
        district = feed.District(self.run_id, f"assess{members}")
        await self.register_parties(district)
        await self._load_members(district, members)
        url = self.url("evaluation")
        tok = self.token("district_admin", district.district_id)
        body = {"district_id": str(district.district_id), "policy_version": "2026-v1"}
        headers = {"Authorization": f"Bearer {tok}"}
        pid = self.stack.services["evaluation"].pid
        before = rss_mb(pid)

        async def timed(path: str, phase: str) -> tuple[float, dict[str, Any]]:
            self.rss.mark(phase)
            deadline = time.monotonic() + 300
            while True:
                t0 = time.perf_counter()
                r = await self.http.post(f"{url}{path}", json=body, headers=headers, timeout=900)
                took = time.perf_counter() - t0
                # A publish is refused while the inputs lag (DESIGN §7): wait, as an admin would.
                if (
                    r.status_code == 409
                    and "not caught up" in r.text
                    and time.monotonic() < deadline
                ):
                    await asyncio.sleep(2)
                    continue
                if r.status_code not in (200, 201):
                    raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
                return took, r.json()

        preview_s, preview = await timed(f"/assessments/{YEAR}/preview", f"preview {members}")
        preview_peak = self.rss.peak(f"preview {members}", "evaluation")
        scored = preview.get("member_count", members) + preview.get("unit_count", 0)
        ev = Counter(self.dsn("evaluation"))
        backlog0 = await ev.value("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        profile = asyncio.create_task(
            self.profile(f"publish-{members}", min(20, 5 + members // 20_000))
        )
        publish_s, published = await timed(f"/assessments/{YEAR}/publish", f"publish {members}")
        publish_peak = self.rss.peak(f"publish {members}", "evaluation")
        t_pub = time.perf_counter()
        await wait_until(
            lambda: _zero(ev, "SELECT count(*) FROM outbox WHERE published_at IS NULL"), 600, 0.1
        )
        relay_s = time.perf_counter() - t_pub
        events = published["member_count"] + published["unit_count"] + 1
        await profile
        await ev.close()
        # The points service applies member.scored (the honour roll): the consuming side.
        pt = Counter(self.dsn("points"))
        aid = uuid.UUID(published["assessment_id"])
        applied_sql = "SELECT count(*) FROM member_score WHERE assessment_id = $1"
        await wait_until(
            lambda: _atleast(pt, applied_sql, published["member_count"], aid),
            60 if not self.large else 900,
            0.5,
        )
        applied_s = time.perf_counter() - t_pub
        applied = await pt.value(applied_sql, aid)
        await pt.close()
        target_s = 10 if members == 124_000 else 60 if members == 750_000 else None
        ref_s = scored / self.refs["pg_copy"]
        add = self.report.add
        add(
            Row(
                f"assessment {members:,} members: preview time",
                preview_s,
                "s",
                ref_s,
                "s to COPY as many rows",
                f"≤ {target_s} s" if target_s else "",
                preview_s <= target_s if target_s else None,
                "POST preview",
            )
        )
        add(
            Row(
                f"assessment {members:,} members: publish time",
                publish_s,
                "s",
                ref_s,
                "s to COPY as many rows",
                f"≤ {target_s} s" if target_s else "",
                publish_s <= target_s if target_s else None,
                "POST publish",
            )
        )
        add(
            Row(
                f"assessment {members:,} members: peak RSS of evaluation (publish)",
                max(publish_peak, preview_peak),
                "MB",
                before,
                "MB before",
                "≤ 300 MB",
                max(publish_peak, preview_peak) <= 300,
                "",
            )
        )
        relay_rate = events / relay_s if relay_s > 0 else float("nan")
        add(
            Row(
                f"assessment {members:,} members: *.scored published to the broker",
                relay_rate,
                "events/s",
                self.refs["kafka_produce"],
                "raw produce msgs/s",
                "",
                None,
                "outbox relay after publish",
            )
        )
        self.section("Year-end assessment").extend(
            [
                f"### {members:,} members",
                f"District with 4 streets, 21 communities and 343 units registered by party.registered "
                f"events; members and their {YEAR} points totals loaded into the evaluation database "
                f"with COPY ({members:,} rows each into `members` and `member_points`), as the "
                "points.* consumers would have left them.",
                f"- preview: {preview_s:.2f} s, evaluation RSS {before:.0f} → peak {preview_peak:.0f} MB",
                f"- publish: {publish_s:.2f} s (results stored, {events:,} events into the outbox), "
                f"RSS peak {publish_peak:.0f} MB; outbox backlog before: {backlog0}",
                f"- relay: {events:,} *.scored events on the broker {relay_s:.1f} s after the publish "
                f"answered ({relay_rate:,.0f} events/s)",
                f"- points applied {applied:,} member.scored {applied_s:.1f} s after the publish "
                f"answered ({applied / applied_s:,.0f} events/s)",
                "",
            ]
        )

    async def _load_members(self, district: feed.District, members: int) -> None:
        conn = await asyncpg.connect(self.dsn("evaluation"))
        rng = random.Random(members)
        rows, points = [], []
        for i in range(members):
            mid = feed.uid(self.run_id, f"{district.tag}/member", i)
            unit, community = district.unit(i), district.community(i)
            rows.append((mid, unit, community, date(YEAR, 1, 10), None))
            points.append((mid, YEAR, rng.randrange(0, 30000) / 100, community, unit))
        t0 = time.perf_counter()
        await conn.copy_records_to_table(
            "members",
            records=rows,
            columns=["member_id", "unit_id", "community_id", "reported_on", "left_on"],
        )
        from decimal import Decimal

        await conn.copy_records_to_table(
            "member_points",
            records=[(a, b, Decimal(str(c)), d, e) for a, b, c, d, e in points],
            columns=["member_id", "year", "total", "community_id", "unit_id"],
        )
        await conn.execute("ANALYZE members; ANALYZE member_points")
        await conn.close()
        self.report.note(f"loaded {members:,} members with COPY in {time.perf_counter() - t0:.1f}s")

    # -- rebuild and replay ------------------------------------------------------------

    async def ledger_at_scale(self) -> None:
        """Top the ledger up to 10^6 commitments (bench/ledger_fill.py), rebuild its aggregates
        from the journal (the rebuild figures), then query it again (the query figures at
        10^6)."""
        want = 1_000_000 // (50 if self.smoke else 1)
        t0 = time.perf_counter()
        added, entries = await ledger_fill.top_up(self.dsn("evaluation"), want)
        self.section("Rebuild and replay").append(
            f"- before the rebuild, the ledger was topped up to {want:,} commitments: "
            f"{added:,} commitments ({entries:,} journal entries, a third of them fulfilled) "
            f"cloned from the terms of those the pipeline opened, by COPY in "
            f"{time.perf_counter() - t0:.1f} s (bench/ledger_fill.py)"
        )
        await self.rebuild()
        await self.ledger_queries(when=", after the rebuild")

    async def rebuild(self) -> None:
        tok = self.token("district_admin", self.district.district_id)
        pid = self.stack.services["evaluation"].pid
        before = rss_mb(pid)
        self.rss.mark("rebuild")
        profile = asyncio.create_task(self.profile("rebuild", 10))
        t0 = time.perf_counter()
        r = await self.http.post(
            f"{self.url('evaluation')}/ops/ledger/rebuild",
            headers={"Authorization": f"Bearer {tok}"},
            timeout=900,
        )
        took = time.perf_counter() - t0
        await profile
        if r.status_code != 200:
            raise RuntimeError(f"rebuild: {r.status_code} {r.text[:300]}")
        out = r.json()
        entries = out["journal_entries"]
        peak = self.rss.peak("rebuild", "evaluation")
        scaled = took * 1_000_000 / entries
        ref_s = entries / self.refs["pg_copy"]
        self.report.add(
            Row(
                f"rebuild of the fulfilment aggregates, {entries:,} journal entries",
                took,
                "s",
                ref_s,
                "s to COPY as many rows",
                "",
                None,
                "POST /ops/ledger/rebuild",
            )
        )
        self.report.add(
            Row(
                "rebuild, scaled linearly to 10^6 entries"
                if entries < 900_000
                else f"rebuild, per 10^6 entries (measured on {entries:,})",
                scaled,
                "s",
                ref_s * 1_000_000 / entries,
                "s to COPY 10^6 rows",
                "≤ 60 s",
                scaled <= 60,
                "",
            )
        )
        self.report.add(
            Row(
                "rebuild: peak RSS of evaluation",
                peak,
                "MB",
                before,
                "MB before",
                "≤ 300 MB",
                peak <= 300,
                "",
            )
        )
        self.section("Rebuild and replay").extend(
            [
                f"- rebuild: {out} in {took:.1f} s ({entries / took:,.0f} entries/s); evaluation RSS "
                f"{before:.0f} → peak {peak:.0f} MB.",
            ]
        )

    async def replay(self) -> None:
        """Replay the largest outbox, topped up to 10^6 events, into an empty broker: stop that
        service (its relay must not compete), unmark every kept row, and run the kit's relay
        against a fresh Tansu."""
        sizes = {}
        for name in SERVICES:
            sizes[name] = await Counter(self.dsn(name)).value("SELECT count(*) FROM outbox")
        name = max(sizes, key=lambda k: sizes[k])
        await self.stack.services[name].stop(10)
        t0 = time.perf_counter()
        cloned = await outbox_fill.top_up(self.dsn(name), 1_000_000 // (50 if self.smoke else 1))
        fill_s = time.perf_counter() - t0
        broker = TansuBroker(log_path=self.var / "log" / "replay-broker.log")
        await broker.start()
        await broker.create_topics(suite_topics(), 4)
        producer = make_producer(broker.bootstrap, idempotence=False, client_id="bench-replay")
        await producer.start()
        pool = await asyncpg.create_pool(self.dsn(name), min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                n = int((await conn.execute("UPDATE outbox SET published_at = NULL")).split()[-1])
            relay = OutboxRelay(service=name, dsn=self.dsn(name), pool=pool, producer=producer)
            t0 = time.perf_counter()
            while await relay.publish_batch():
                pass
            took = time.perf_counter() - t0
        finally:
            await pool.close()
            await producer.stop()
            await broker.stop()
        rate = n / took
        self.report.add(
            Row(
                f"replay of the {name} outbox ({n:,} events) into an empty broker",
                rate,
                "events/s",
                self.refs["kafka_produce"],
                "raw produce msgs/s",
                "",
                None,
                "kit OutboxRelay.publish_batch",
            )
        )
        self.section("Rebuild and replay").append(
            f"- replay: the {name} service stopped, its outbox of {sizes[name]:,} events topped up "
            f"to {n:,} with {cloned:,} clones of them under new event ids ({fill_s:.1f} s, "
            f"bench/outbox_fill.py), every row unmarked, and the kit's "
            f"`OutboxRelay.publish_batch` run against a fresh Tansu until the backlog was 0: "
            f"{took:.1f} s ({rate:,.0f} events/s)."
        )

    # -- resources and profiles --------------------------------------------------------

    def resources(self) -> None:
        lines = self.section("Resource use (RSS, MB)")
        phases = list(self.rss.peaks)
        lines.append("| phase | " + " | ".join(SERVICES) + " |")
        lines.append("|---|" + "---|" * len(SERVICES))
        for ph in phases:
            lines.append(
                f"| {ph} | " + " | ".join(f"{self.rss.peak(ph, s):.0f}" for s in SERVICES) + " |"
            )
        for s in SERVICES:
            rest = self.rss.peak("rest", s)
            peak = self.rss.overall_peak(s)
            self.report.add(
                Row(
                    f"RSS of {s}: peak under load",
                    peak,
                    "MB",
                    rest,
                    "MB at rest",
                    "≤ 300 MB",
                    peak <= 300,
                    "",
                )
            )

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


# Is autovacuum at work, and how much has it left (the ledger as a pipeline just left it)?
_VACUUM_STATE = """
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'),
       (SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables WHERE relname = 'ledger_daily'),
       (SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables
        WHERE relname = 'ledger_commitments')
"""


async def _commits_seen(
    conn: asyncpg.Connection, after_id: int, index: dict[uuid.UUID, int], deadline: float
) -> dict[int, float]:
    """For each commitment of `index` (until all are in, or the deadline): the commit time
    (epoch seconds) of the transaction that journalled its fulfilment. A slow poll is enough:
    the time comes from PostgreSQL's commit timestamp, not from when the poll saw the row."""
    seen: dict[int, float] = {}
    while True:
        rows = await conn.fetch(
            """SELECT id, commitment_id, pg_xact_commit_timestamp(xmin) AS committed_at
               FROM ledger_journal WHERE id > $1 AND fact = 'fulfilled' ORDER BY id""",
            after_id,
        )
        for r in rows:
            after_id = r["id"]
            i = index.get(r["commitment_id"])
            if i is not None:
                seen.setdefault(i, r["committed_at"].timestamp())
        if len(seen) >= len(index) or time.perf_counter() >= deadline:
            return seen
        await asyncio.sleep(0.2)


def _partial(done: int, n: int) -> str:
    return "" if done >= n else f" (partial: {done:,} done within the phase's time cap)"


async def _zero(counter: Counter, sql: str) -> bool:
    return await counter.value(sql) == 0


async def _atleast(counter: Counter, sql: str, want: int, *args: Any) -> bool:
    return await counter.value(sql, *args) >= want


PREFACE = """
Every figure sits next to a reference measured in the same run, on the same machine, against the
same PostgreSQL cluster and broker: only ratios compare across machines. Infrastructure: the
embedded PostgreSQL (durable settings: fsync and synchronous commit on) and Tansu (memory
storage), all four services as separate processes started by `cobuild_stack.launcher.Stack`,
the benchmark driver in one more process: everything on this one machine.

Paths, per figure: **HTTP** = the real command endpoints; **signed → commitments** =
`agreement.signed` produced to `agreements.events.v1` as the agreements service would, the
commitments service opening the commitments and publishing `commitment.opened` through its
outbox; **fed** = `commitment.*` events produced straight into `commitments.events.v1`, as the
commitments service would (DESIGN §7 allows it for the large sizes). Completion is read from the
databases (ledger journal entries, and points awards by the `points.awarded` outbox row each
writes in its transaction), counted incrementally by id, never from broker end offsets.
"""


FINDINGS = """
- **Per-event round trips were the first cause.** py-spy on the consumers found most samples in
  `_SelectorSocketTransport.write` (the `send` of each statement to PostgreSQL, which on 2
  shared cores includes waking the backend) and in `select`, waiting for the answers. The kit
  now applies a batch in one transaction with the batch's inbox rows in one statement and no
  savepoints (a failure redoes the batch a savepoint per event, so isolation is unchanged),
  and hands runs of one event type to set-based many-handlers (`ConsumerSpec.on_many`): the
  ledger (journal, states and dailies one statement each), points awards (rule sets, chain
  heads and cap usage for the whole run), the evaluation's agreement facts (one upsert) and
  the commitments service's `agreement.signed` (agreements, commitments and history one
  statement each, where it was about 4 round trips per commitment). The outbox takes a
  run's rows and its NOTIFY in one statement with one JSON encoding per row.
- **What remains in the pipeline is CPU per event, and the machine is saturated.** `top`
  during the fulfil phase shows 1–5% idle on the 2 cores: the evaluation and points
  processes at about half a core each, Tansu a fifth, PostgreSQL's backends together about
  half. That is about 300 µs of Python per event per consuming service (aiokafka's fetch and
  send path, FastStream's per-batch plumbing, the handlers, the relay), against one Python
  process doing one hop in the raw pipeline. A `commitment.fulfilled` is consumed by two
  services, causes a `points.awarded` that the points relay publishes and the evaluation
  service consumes again: three consumer hops and a relay per fed event, each measured
  against the raw pipeline's one hop. The contracts' lenient reading was a Python
  pre-validator on every model, after a `json.loads`: first 8% of the points samples (it
  read `cls.model_fields` through pydantic's deprecation descriptor; a `decode` 45.7 →
  28.8 µs once it read `__pydantic_fields__`), still 5–6% after. It is gone: a consumer
  validates the raw bytes in pydantic's core with `extra="ignore"` (pydantic 2.12 applies it
  to nested models too), and a `commitment.fulfilled` decodes in 8.0 µs instead of 15.5
  (timeit, one machine); the pipeline runs cannot resolve a gain that size. The relay sends
  PostgreSQL's text of the stored envelope and reads the header fields in SQL, instead of
  decoding every jsonb row to Python and encoding it again. Larger consumer batches (500
  records instead of 200) were tried at 10^4 and 10^5 and made no difference there; at 10^6,
  with a long backlog, they did, and 500 is now the default (see "At 10^6 the machine is
  saturated too"). A group sees every event on its topics, and the
  points service decoded each `commitment.opened` only to find it had no handler (42 µs of
  its CPU per opened commitment): a record whose `event_type` header names a known type the
  group does not handle is now skipped undecoded (16–20 µs, `--only pipeline10k` and the
  12:23 run); the groups that handle the type still validate and dead-letter it.
- **The CPU budget, per event (the section above, read from /proc around each phase).** The
  raw pipeline costs about 70 µs of CPU per event across the machine (its own process 28,
  its PostgreSQL backend 27, Tansu 7, the idle services' polling the rest), and uses 1.2 of
  the 2 cores. A fed `commitment.fulfilled` costs 730–930 µs: evaluation and points
  220–320 each, their PostgreSQL backends 120–230 together, Tansu 40–95. Two cores at
  864 µs per event allow about 2,300 events/s; the 10^5 fulfil phase of the 08:49 run
  reached 2,109 with the machine 182% busy. So the throughput ratio is a CPU ratio, not a
  wait: half the raw pipeline (8,362 events/s in that run) would need under 240 µs per
  event for the whole path, less than either consuming service's Python alone.
  The bench's own completion poll counted the whole journal every half second; at 10^6
  that was about 150 µs of PostgreSQL CPU per event (parallel scans of 2M rows). It now
  counts only the rows since its last poll, and the 10^6 fulfil phase went from 1,369 to
  1,610 events/s (07:38 and 08:17 large runs).
- **The path's shape alone takes the target's whole budget (measured 2026-11-23).** The
  references now include the fulfilment path's floor (`bench/path_floor.py`): the three hops
  and the relay a fed `commitment.fulfilled` takes, each hop the raw pipeline's own unit of
  work, in two worker processes with a database each, as points and evaluation are. In
  `make bench` at 15:20 it ran at 10,035 events/s, 0.50 of the raw pipeline (20,186), at
  211 µs of CPU per event: PostgreSQL 96, Tansu 36, the workers' Python 58. Two `--only
  pipeline10k` runs before it gave 0.52 and 0.53, and `make bench-large` at 15:37 gave 0.39
  (9,183 of 23,508 events/s, 221 µs per event); those runs started the floor's clock once
  its first batch was applied (one of its 60 batches in its favour); with that fixed, an
  `--only pipeline10k` run gave 0.43 (9,204 of 21,623). At that rate the two cores are full. So
  half the raw pipeline is at most what this shape allows with no domain work at all: every
  statement a hop runs beyond an inbox row, an upsert and an outbox row puts the path
  under the target on this machine. The services' fulfil phases reached 0.29 (10^4) and
  0.32 (10^5) of the floor at 562–590 µs per event (points 159–165, evaluation 127–132,
  their backends 192–196, Tansu 42–44), and 0.32 at 10^6 in the large run (2,962 events/s,
  624 µs per event): the ledger's scopes and days, the points chain,
  caps and usage, the members' totals, validated envelopes, FastStream and the metrics. A
  py-spy of the 10^5 fulfil phase (14:10, inclusive time) found no single large cost left:
  in points, the awards 41% (emitting `points.awarded`, wrap and outbox, 14%), decoding 9%,
  the relay 9%, and all statements together 20%; in evaluation, the ledger's facts 27%,
  decoding 24% (the envelope and then its payload, two passes), the members' totals 9%,
  and all statements together 21%. A one-pass typed
  decode would take perhaps half of the decoding, 3–4% of the machine. The target needs a
  shorter path (fewer hops per fulfilment) or more cores, or a target set against the
  floor; tuning the services cannot reach it. In the same two runs the latency step met
  its target (p99 51.5 and 40.4 ms; the 14:23 run was not kept) on a disk with no stalls (slowest
  8 KiB flush 4.0 and 4.3 ms); the 963 ms of the 09:43 run came with 48 commits over
  100 ms.
- **The target, read as cores (2026-12-04).** Each pipeline phase now has a row "cores the
  target needs at this CPU per event": half the raw pipeline's rate times the phase's CPU per
  event across the whole machine (`bench.cpu.cores_for`), next to the cores here. In `make
  bench` at 15:16 on 2026-12-04 the raw pipeline ran at 22,697 events/s, so the target was
  11,349. A fed fulfilment cost 613 and 620 µs of CPU at 10^4 and 10^5 (points 169–173,
  evaluation 135–136, their backends 198–220, Tansu 52): 7.0 cores at the target's rate, 3.5
  times this machine's. An opening by `agreement.signed` cost 421–437 µs: 4.8–5.0 cores. The
  path's floor cost 207 µs per event (2.3 cores at that rate) and ran at 0.43 of the raw
  pipeline. `make bench-large` at 15:25 (raw pipeline 19,126 events/s, floor 0.61 of it at 185
  µs): 10^6 fulfilments at 3,044 events/s, 614 µs each, 5.9 cores at the target's rate. The raw
  pipeline is one consumer keeping 1.1 of the two cores busy at 48 µs per event; the fulfilment
  path does three hops' work for each event it is credited with, so on two cores the ratio is
  capped by the machine before the code: the services' fulfil phases need 3–3.5 times the cores
  here, and the shape's bare plumbing alone ran at 0.39–0.61 in the runs that measured it. At
  today's CPU per event the target needs six to seven cores with the consumers scaled out to
  them (replicas ≤ partitions, docs/SCALING.md §5.2); that scale-out is the sizing method's
  assumption, and this machine cannot show it. One phase is not bound by the cores: 10^6
  `commitment.opened` fed straight to the ledger ran at 0.35 of the raw pipeline with the
  machine 126% busy, at 187 µs per event (1.8 cores at the target's rate). There one consumer's
  serial cycle (fetch, decode, one transaction, its commit's flush) sets the pace, as it does
  the raw pipeline's; overlapping partitions would lift it, but every partition's batch updates
  the same district and street rows of the ledger, so they would queue on those rows' locks.
  Left alone: the fulfil phases, not this one, keep the target out of reach here.
- **Python's cycle collector was a fifth of a consumer's CPU.** py-spy outside the stack
  (`BatchProcessor.process` fed 20,000 records) put a tenth of the evaluation handler's
  samples in a one-line `lambda: [0] * n`: the allocation that tripped a collection pays for
  it. A consumer holds a batch's objects across its round trips to PostgreSQL, so they
  outlive the young collections, and every few batches a full collection walked every
  object the imports left as well (about 120,000; 70–90 ms each). Read from the new
  `cobuild_gc_pause_seconds_total`, the evaluation service spent 1.58 s in the collector
  during `--only pipeline10k` (20,000 events). Served processes now freeze what startup
  built (`gc.freeze`, `cobuild_kit/heap.py`): 1.01 s in the same step. Collecting the young
  generation every 50,000 allocations instead of 700 brought it to 0.41 s, but each pause
  walked far more objects and the latency step's p99 went past its target (127, 138 and
  240 ms in three runs, against 62–79 ms untuned and 65–114 ms frozen alone, with one
  348 ms outlier); that pace is a setting, off by default.
  The ledger's many-handler then summed every delta per (scope, day) in Python: ten rows of
  sixteen values per fact, and asyncpg checks the type of every array element in Python
  (`ABCMeta.__instancecheck__`, 132 calls per event). Each fact now sends its scope ids once
  and its deltas summed per day; one `INSERT … SELECT` fans them out to the five scopes,
  groups and upserts in the same lock order, with `ledger_total`, a bigint sum that skips
  `sum(bigint)`'s numeric (evaluation migration 0005; EXPLAIN ANALYZE of a 500-fact batch:
  30 ms with `sum`, 23 with it, 21.5 for the old upsert of Python's sums). Outside the
  stack, CPU per fulfilment: Python 91–108 → 68–77 µs, PostgreSQL 59–66 → 71–81 µs with
  `sum` (three runs each), before `ledger_total` took its 7 ms off each 500-fact statement.
  The rebuild's roll-up uses `ledger_total` too. In the 17:09 run, against the
  14:48 one, CPU per event: fulfil 10^4 723 → 644 µs (evaluation 244 → 168, points 224 →
  204), fulfil 10^5 859 → 689, open 10^5 511 → 402; the ratios 0.23/0.14/0.17 →
  0.24/0.15/0.18 at 10^4 and 0.20/0.13/0.15 → 0.24/0.14/0.18 at 10^5; rebuild 32.5 →
  28.8 s per 10^6. The raw pipeline reference was 16,803 and 18,124 events/s: the services
  gained CPU, and the target is still three times away. `make bench-large` at 17:41 against
  14:56: 10^6 opened 4,034 → 5,341 events/s, fulfilled 1,735 → 2,185 (the raw pipeline
  11,445 and 17,322), 750,000 members published in 30.1 s (40.4), rebuild 30.7 s per 10^6
  (36.2). Its 10^6 fulfil phase cost 637 µs of CPU per event with the machine only 139%
  busy (a miscount, found 2026-11-23: see "At 10^6 the machine is saturated too"), so at
  that size something besides the cores seemed to hold it back. Likely, not settled: the
  broker's cost per fetch grows with the batches it stores (below; Tansu 80 µs per event at
  10^6 against 48 at 10^4), and each group waits on one fetch at a time. One run with 500
  records per batch for points and evaluation (`--large --only pipeline1m`, 18:12) gave
  2,354 events/s with the machine 173% busy and Tansu at 50 µs, but its raw pipeline ran at
  22,150 events/s (17,322 at 17:41); the A/B of several runs came later (below).
  The ledger p99 as the pipeline left it was 33.7 ms (missed again, on first reads), 10.6 ms
  after the rebuild.
- **An award's room under the caps was read from the member's whole year.** Outside the
  stack (the points `BatchProcessor` fed fulfilments for 10,000 members, with
  `pg_stat_statements`), the cap lookup was the points handler's largest statement: for each
  member in a batch it summed every kept award of their year, with an anti-join for
  reversals, so its cost grew with the year. At 100,000 events it took 26.5 s of a 60 s run,
  but `auto_explain` showed why it was that large there: a sequential scan of the journal,
  planned when the table was nearly empty. In the stack the planner chose the indexes. The
  points backend cost 43 µs of CPU per fulfilment in the 10^6 phase at 17:41, so the stack
  never paid that much. Points migration 0003 keeps `points_usage`: (member, year, part)
  → points, where the part is the day, the source or the category. A statement-level
  trigger on the journal moves it in the same transaction: an award adds its points, and a
  reversal takes the reversed award's points back. The migration backfills it from the
  journal. An award now reads three rows, whatever the length of the year and whatever the
  plan. The lookup sends one row per award (five array elements) and spreads it to the parts
  in SQL. Sending the three parts' keys (twelve elements) cost more Python than the old
  statement, because asyncpg checks each element's type. Three interleaved runs at 20,000
  events, against the code before: Python 189–220 → 140–169 µs per event, PostgreSQL
  102–117 → 95–100 µs. `make bench-large` at 19:17 ran on a slower machine (raw pipeline
  11,890 events/s against 17,322 at 17:41; every process's CPU per event about 1.4 times
  the earlier run's). In it, the 10^6 fulfil phase ran at 1,629 events/s, a ratio of 0.14
  (0.13 at 17:41), with the points backend at 53 µs per event: within the noise. The ledger
  p99 as the pipeline left it was 51.2 ms (the unit and community scopes' first reads,
  67–78 ms), and 14.4 ms after the rebuild. `make bench` at 19:48 ran on the same slow
  machine. Its references fell against the 17:09 run: single-row commits 3,315 against
  4,636 a second, the raw pipeline 12,816 against 18,124 events/s, HTTP commands 444
  against 968 a second. The ratios moved less (0.27/0.16/0.20 at 10^4 and 0.20/0.13/0.16 at
  10^5, against 0.24/0.15/0.18 and 0.24/0.14/0.18).
  Two targets were missed in that run. The latency p99 was 294 ms: the machine was 177%
  busy at 200 confirms a second, against 135% at 17:09, so confirms queued. The ledger p99
  at 10^6 after the rebuild was 22.9 ms. The latency step alone, alternating the code with
  and without `points_usage`, gave p99 435 and 119 ms with it, 129 and 183 ms without, and
  the points backend cost 230 µs per confirm either way. The trigger adds no cost the step
  can see; the machine's state sets the p99.
- **The first read after an ingest writes the pages it reads.** `bench/first_reads.py` writes
  2,000,000 rows shaped like `ledger_daily` in 2,000 transactions into its own PostgreSQL
  (data checksums on, as initdb leaves them), checkpoints, and runs an as-of sum for 300 ids.
  The first reads wrote 78.1 KiB of WAL per query, about ten full page images, with a p99 of
  0.38 ms. The same ids again wrote none (0.20 ms), and other ids after a VACUUM wrote none
  (0.20 ms). The reader sets the hint bits of rows whose transactions have committed, and with
  checksums on the first change to a page after a checkpoint is logged whole. A drill-down
  that touches a thousand fresh pages would write about 8 MB for one GET. That fits the tail
  of the ledger queries at 10^6 commitments as the pipeline left them: the mechanism is now
  measured, but its share of that tail is still inferred (the stack's queries were not
  measured for WAL). The rebuild's VACUUM removes it, and in production autovacuum does the
  same long before anyone reads a million rows written a minute earlier. Checksums stay on:
  they catch corrupted pages. In `make bench-large` at 00:47 the p99 as the pipeline left it
  was 103 ms (51.2 at 19:17): the first query of each community, unit and agreement id had a
  p99 of 105–142 ms and took up to 649 ms, while the community queries after the first stayed
  at 17 ms (p99). After the rebuild's VACUUM it was 11.8 ms.
- **Checkpoints every 20 s, and a cache the VM empties.** The PostgreSQL log of the 02:30
  run showed a checkpoint every 15–35 s ("checkpoints are occurring too frequently"):
  `max_wal_size` was the 1 GB default, which the pipeline writes in about 20 s, and after each
  checkpoint the first change to every page logs the whole page. `--large --only
  pipeline1m,ledger`, one run each: with the default, 60 checkpoints, 32.5 GB of WAL and 3.6
  million buffers (27 GB) written by checkpoints; with `max_wal_size=8GB` and
  `checkpoint_timeout=15min`, 3 checkpoints, 13.1 GB of WAL and 197,000 buffers (1.5 GB). At
  10^5 (`--only pipeline100k,ledger`) the WAL went from 2.47 to 1.79 GB. Neither the throughput
  nor the ledger's tail moved with it: fulfilled 2,026 and 1,954 events/s at 737 and 778 µs of
  CPU per event (the pipeline is CPU-bound), ledger p99 as the pipeline left it 54.5 and
  58.7 ms. The tail had another cause. `EXPLAIN (ANALYZE, BUFFERS, WAL)` of an agreement's
  drill-down on that cluster after the run read 42 pages in 5–7 ms, about 150 µs a page, a
  read from the disk; the same query again took 0.1 ms. This VM's memory balloon returns free
  memory to its host, and the kernel's page cache does not keep file pages: a 1 GB file read
  in 3.3 s, again in 0.17 s, and 30 s later in 0.37 s, with the cache shrunk from 1.6 to
  1.1 GB meanwhile and 22 GB free. So every page that leaves PostgreSQL's own cache (1 GB
  then) is read back from the disk, and at 10^6 the evaluation ledger alone is 2.6 GB. With
  4 GB, same step: ledger p99 25.4 ms as the pipeline left it (the community scope's first
  reads p99 25.7 ms, against 312 and 445; the unit scope's 92.8, the agreement's 51.3),
  fulfilled 2,382 events/s at 654 µs per event, opened 5,161 (4,202 and 4,505). The run stack
  now gives PostgreSQL a quarter of the machine's memory (6 GB here) and spaces its
  checkpoints (8 GB, 15 minutes); compose's databases space theirs too. The `make bench` of
  04:39 checkpointed twice in 9 minutes; the 02:30 run had checkpointed 12 times by its
  eighth minute.
  `make bench-large` at 04:48 with both (6 GB, room for the whole ledger): ledger p99 as the
  pipeline left it 9.58 ms (met; 103 ms at 00:47), the first queries of all ids p99
  23.4 ms, every scope's p99 within 11.2 ms; 6 checkpoints in 26 minutes, against 90 at
  00:47. The ratios did not move (10^6 fulfilled 2,030 events/s at 767 µs per event against
  1,649, with the raw pipeline at 15,274 against 13,260; 0.13–0.25 against 0.12–0.27): the
  cores still set them. In the 04:39 `make bench` no
  commit took over 100 ms during the latency step, and the p99 was 166 ms with the machine
  166% busy (8,447 µs of CPU per confirm): the CPU case of the latency tail below.
  The next `make bench-large` (06:29) varied the other way: ledger p99 as left 19.1 ms (met,
  the community scope 23.3 ms, one first query 122 ms), 5 checkpoints, and 10^6 fulfilled at
  1,862 events/s. Its CPU line for that phase (690 µs per event, the machine 128% busy,
  PostgreSQL evaluation 7 µs) is short by the backends that exited during the phase (the
  next finding).
- **At 10^6 the machine is saturated too; the meter lost the backends that exited.**
  asyncpg's pool replaces a connection after 50,000 queries and reuses the one it released
  last, so in a long phase a service's busiest backend exits, and its CPU left the
  per-event figures with it: the 17:41 run's "637 µs, only 139% busy" and the 06:29 run's
  "690 µs, 128% busy" were that, not consumers waiting. The meter now also reads the
  postmaster's count of its reaped children ("PostgreSQL, exited processes"). Watching the
  backends during a `--large --only pipeline1m` run (07:37): a points backend with 96 s of
  CPU exited in the fulfil phase, the meter put 140 µs per event on exited processes, and
  the machine was 176% busy at 1,134 µs per event. The open phase (one consuming service)
  stays at 121–124% busy. The A/B of 500 records per batch against 200 for every group (the
  runs interleaved 500, 200, 200): 10^6 fulfilled at 1,853 against 1,555 and 1,394 events/s,
  at 943 against 1,134 and 1,269 µs of CPU per event, the machine 175–177% busy in all
  three; opened 3,562 against 3,880 and 3,271. The fourth run (500 again, 09:14) fulfilled
  2,051 events/s at 883 µs per event, the machine 181% busy, and opened 3,799. So, ABBA:
  500 records 1,853 and 2,051 events/s against 200 records 1,555 and 1,394, a quarter less
  CPU per event (883–943 µs against 1,134–1,269: points 259–293 against 328–367, PostgreSQL
  in all 282–310 against 385–424, Tansu 64–71 against 117–132). A batch's fixed costs
  (its fetch, its transaction, each set statement's round trip) are spread over more
  events when there is a backlog; at a trickle a batch holds what has arrived, so nothing
  changes there. The default is now 500 records, the raw pipeline reference's own batch
  size; `make faults` passed with it. The `make bench` of 09:43, the first with it: fulfil
  10^5 at 2,039 events/s and 884 µs of CPU per event (1,523 and 1,136 at 06:17), 10^4 at
  1,542 and 980 µs (1,289 and 1,063), the ratios 0.14–0.28 against 0.11–0.21, with the raw
  pipeline at 10,777 events/s (11,470). Its latency p99 was 963 ms: a disk stall again (48 of
  the commitments service's commits over 100 ms, the slowest in the 1 s bucket). The
  `make bench-large` of 11:04, on a faster machine (raw pipeline 14,363 events/s): 10^6
  opened at 6,117 and fulfilled at 2,680 events/s (ratios 0.43 and 0.19), 686 µs of CPU per
  fulfilment with the machine 184% busy; ledger p99 16.8 ms as the pipeline left it.
- **Per-batch costs at a trickle (an earlier `make bench-large`).** At 200 confirms/s a
  batch holds one event, and a confirm cost about 9,500 µs of CPU in all (commitments 2,200, Tansu 2,000, PostgreSQL
  2,300, points 1,200, evaluation 1,100, the driver 600): the machine was 190% busy, and the
  p99 is queueing. py-spy on points and evaluation during the step showed a fifth of their
  samples resolving the handler's `KafkaMessage` parameter on a worker thread (FastDepends,
  once per batch) and an offset commit per batch (0.15 ms of broker CPU and 0.17 ms of
  client CPU each, measured alone). The handler now takes the message from its decoder
  (`apply_types=False`), offsets are committed every 50 ms for what the batches settled
  (`cobuild_kit/offsets.py`), and the relay producer no longer lingers 2 ms. Points and
  evaluation went from 23–28% to 20–26% of a core during the step; the p99 did not move
  measurably (the step alone: 85–168 ms over seven runs, before and after; 192–228 ms in
  full runs, after the 10^4 pipeline). Then three more: the step's 2 ms poller (500 queries a
  second from the driver, on the same cores) gave way to PostgreSQL's commit timestamps
  (`track_commit_timestamp`, on for the bench): the time a fulfilment was journalled is its
  transaction's commit, read after the step. The relay's claim marks its rows in the same
  statement (`UPDATE … RETURNING`; the mark shows only after the publish and commit), one
  statement and round trip fewer per one-event batch. Points' commitments group became
  `prompt=False` (nobody stands waiting for an award): it fetches a fifth as often on a
  quiet topic and takes the confirms in larger batches. The step alone, two runs each:
  p99 117 and 126 ms before the relay and points changes, 74.5 and 88.4 ms after; CPU per
  confirm 9,023 and 9,273 µs before, 8,645 and 9,017 after (points 1,250 → 1,030); a
  third run after, p99 102.6 ms. In the full run of 10:07, after the 10^4 pipeline had
  filled the broker, p99 131 ms. Sampled every 2 s during that third run, Tansu rose from
  23% to 56% of a core within the step's 30 s (5–6% idle before it): its fetches walk the
  one-record batches the step keeps adding (see the broker finding below).
  Then the groups nobody waits on (`prompt=False`) were paced: after a batch shorter than
  `max_records` such a group rests until 100 ms after the batch began
  (`consumer_relaxed_batch_interval_ms`, `cobuild_kit.consumer.BatchPace`), so a trickle
  gathers into one fetch and one transaction per interval, and a backlog (full batches)
  never waits. The step alone, one run each side: points 1,007 → 547 µs of CPU per
  confirm, its PostgreSQL 692 → 273 µs, the machine 8,328 → 7,923 µs; p99 70.2 → 81.4 ms,
  within the step's noise. Pacing the prompt groups by 10 ms as well moved neither Tansu
  nor evaluation (7,708 µs per confirm, p99 83.7 ms), so they are not paced. The full runs
  since: p99 64.0 ms (12:03) and 54.1 ms (12:23, this change and the two below), against
  131 ms at 10:07 before.
- **The broker's cost grows with the batches it stores.** Tansu's memory storage keeps one
  object per produced batch and walks a partition's objects on every fetch.
  `bench/broker_scan.py` measures it: one idle consumer group (20 ms fetch wait) costs the
  broker 0.64 ms per fetch on an empty topic, 1.27 ms at 10,000 one-record batches and
  2.27 ms at 30,000. aiokafka's default batch bound (16 KiB, about 15 envelopes) filled the
  topics with small batches, so every phase paid more than the one before (and the 10^6
  fulfil phase of `make bench-large` fell to about 80 events/s; with the bound below it ran
  at 1,420 events/s, Tansu at 12–24% CPU). The relays and the bench's
  producers now batch up to 512 KiB per partition (`kafka_max_batch_bytes`): in a
  before/after run of the 10^5 step, Tansu went from 16–36% to 9–14% CPU and the sustained
  rate from 1,588 to 1,679 events/s. Between the full runs of 02:21 and 04:20 (this change
  and the relay's below): 10^5 sustained 1,410 → 2,123 events/s, latency p99 449 → 192 ms,
  `*.scored` to the broker 6,548 → 16,342 events/s, the raw produce reference 35,538 →
  50,275 msgs/s (it uses the same bound). A low-rate stream (the latency step) still stores
  one-record batches, because a batch leaves after the 2 ms linger; Kafka's log segments
  have no such cost.
- **The broker's cost is per request; the outbox's mark rewrites its row.** Measured alone
  (2026-11-23, one-off scripts against their own Tansu and PostgreSQL). A produce request
  cost Tansu 474–586 µs of CPU with one record, 609–654 µs with ten and 753–1,026 µs with
  fifty, and the same at 900 or 18,600 stored batches: a one-record batch pays about 500 µs
  an event, a fifty-record one 15–21. A group waiting at the tail cost it 9.5% of a core at a
  5 ms fetch wait, 5.0% at 20, 1.5% at 100 and 0.7% at 500 (0.5, 1.0, 1.5 and 3.5 ms a
  fetch: it reads its storage again while a fetch waits). `RUST_LOG=off` and one tokio worker
  moved neither. DeleteRecords, to keep the stored batches few, closed the connection. So at
  200 confirms/s most of Tansu's share is the commitments relay's produces and the prompt
  group's fetches, and the six paced groups cost 1.5% of a core each at rest; the levers
  left (larger relay batches, fewer or longer-waiting groups) trade latency for broker CPU,
  and a paced relay showed no gain above the noise (the latency findings below).
  The relay marks a row published with an UPDATE, and `outbox_unpublished` is a partial
  index on `published_at`, so the update is never HOT: a new copy of the row, envelope and
  all, and three new index entries. Held against a pending-ids table (an id inserted with
  the row and deleted by the claim; two runs each, fsync on): backend CPU per event 38.3–38.7
  → 32.3–35.0 µs in batches of 200 and 693–753 → 647–677 µs one at a time, WAL 2,693 →
  1,481 bytes an event, the table 2,180 → 1,096 bytes an event before vacuum. That is about
  5 µs of the ~1,000 a fed fulfilment costs, so it is not changed for the throughput; the
  halved WAL is worth taking where the disk is the limit. The points journal lost two index
  entries per award that nothing read (`points_entry_day`, unused since the caps moved to
  `points_usage`, and the NULL every award put in the reversals' unique index, now partial;
  points migration 0004).
- **Replay.** Topped up to 10^6 rows (`bench/outbox_fill.py`), the replay first ran at about
  1,500 events/s, with a PostgreSQL backend at 70% CPU: after every full batch the relay
  counted all unpublished rows for its backlog gauge, which made a long drain quadratic. It
  now counts at most every 5 s (`tests/kit/test_relay_drain.py`); the 10^6 replay took
  115 s (8,686 events/s) in its own run.
- **Idle cost.** Idle, the stack burned about 0.4 of a core: each of 7 consumer groups
  fetched every 20 ms (Tansu does not wake a waiting fetch, so the wait is the latency) and
  FastStream's batch loop woke every 5 ms. Groups whose events nobody waits on (the
  directory and agreements groups, `evaluation.points`, `points.evaluation`) are now
  `ConsumerSpec(prompt=False)` and wait 100 ms; the batch loop waits a quarter of the fetch
  wait. Idle CPU about halved (top: 78–85% idle before, 88–95% after). Read from /proc
  later (2026-11-23, `cobuild run --driver check`, 20 s at rest): 21% of one core in all,
  Tansu 8.9%, evaluation 7.0% (its prompt group), points 2.8%, commitments 1.9%.
- **A round trip costs about 140 µs of CPU here, whatever it carries.** The references now
  time a bare `SELECT 1`: 139 µs of CPU per round trip (91 in the plain-asyncio client, 48
  in the backend) at 171 µs of wall time (22:06; 142 µs in the full run of 22:36). Over TCP
  and over a Unix socket it cost the same (70 and 40 µs, asyncpg outside the stack), so it
  is the system calls and wake-ups of this virtual machine, not the loopback. py-spy
  `--native` on the commitments service during the latency step put 31% of its samples in
  `write()` (the PostgreSQL protocol's sends: 190 samples for statements, 175 for BEGIN,
  COMMIT and the reset query, of 1,381). A confirm makes six round trips (BEGIN, the row
  lock, the outbox row, state + history, COMMIT, the pool's reset query). A committed unit
  of work now hands its connection back without the reset (`cobuild_kit.db.transaction`; a
  rollback, a plain acquire or a broken connection still get it). Alone, a loop of acquire,
  BEGIN, UPDATE, COMMIT and release cost 650–700 µs of CPU with the reset and 540–590 µs
  without (three pairs). In the stack the saving (one round trip per command and per
  consumer batch, about 1.5% of a confirm's 9,000 µs) was inside the noise: the latency step
  alone, alternating, 9,118 and 9,247 µs per confirm without the reset, 9,413 and 9,257 µs
  with it (the machine 179–183% busy, p99 624–1,035 ms in all four runs). The round trips
  left are the work itself. The full run of 22:36 was on a machine slower still (single-row
  commits 2,192 a second, the raw pipeline 10,638 events/s): the latency p99 was 511 ms with
  the machine 177% busy at 200 confirms a second (8,987 µs of CPU per confirm), and the
  throughput ratios 0.16–0.26. Every other target was met, the ledger p99 at 10^6 after the
  rebuild at 13.4 ms.
- **The Kafka client is not where the CPU goes.** `bench/kafka_clients.py` holds aiokafka
  against librdkafka (confluent-kafka) on its own Tansu, 200,000 messages of 500 bytes, two
  rounds (2026-11-23): aiokafka produced at 16.8–18.2 µs of CPU a message and consumed at
  2.1–2.4; librdkafka at 2.5–3.2 and 1.1–1.4. A fed fulfilment is produced once (the points
  relay's `points.awarded`) and consumed three times, so a C client would save about 20 µs of
  its ~1,000: 2%, where half the raw pipeline needs a cut to about 350 µs. The CPU is the
  services' own per-event Python (decoding and validating, the handlers, the hash chain,
  building events and outbox rows, asyncpg's encoding of the set statements' arrays) and
  their PostgreSQL backends' per-row work. Timed alone, the smaller cuts left are a one-pass
  typed decode (about 4 µs of a 13–14 µs decode) and a `wrap` without its re-validation
  (about 12 of 20–22 µs an emit): 2–3% together, below the runs' spread. Moving per-event work
  out of Python (into set-based SQL, or compiled code) is the size of change the target asks,
  and even that would not be enough on this machine. Half the raw pipeline of the 23:52 run
  (10,129 events/s) is 5,065 events/s, which on 2 cores allows 395 µs of CPU per fed
  fulfilment at 100% busy. The two services' PostgreSQL backends and Tansu alone took 431
  µs at 10^4 and 402 µs at 10^5 in that run (points' backend 172 and 163, evaluation's 166
  and 153, Tansu 93 and 86): the rows the design writes per fulfilment (inbox rows, the
  points entry, its chain head and cap parts, the journal entry, the commitment's state, its
  scopes' days, the member's points, the `points.awarded` outbox row and its mark) and the
  broker's requests, before any service's Python runs. The 02:30 run on 2026-11-23 says the
  same: 15,150 events/s raw, so 264 µs at half, against 343 µs (10^4) and 471 µs (10^5) for
  the backends and Tansu.
- **Latency.** The confirm is one HTTP command in the commitments service (token check, row
  lock, outbox row and NOTIFY, state and history in one statement, commit), then the relay
  (woken by NOTIFY), the broker and the evaluation consumer (20 ms fetch wait, as Tansu does
  not wake a waiting fetch). Under an offered 200/s the commitments process was CPU-bound
  (one Python process, one core): confirms queued for its event loop and its relay starved.
  Its profile showed the request plumbing rather than the command: asyncio's Python socket
  transports (41% of samples in `_SelectorSocketTransport.write`), two `BaseHTTPMiddleware`s
  (a task group and memory streams per request), the sync `get_runtime` dependency run in a
  worker thread, an Ed25519 verification per request, the pure-Python h11 parser, one more
  round trip per pooled connection release (asyncpg's reset query), and the relay queueing
  for a pool connection behind the requests. Fixed in the kit: uvloop and httptools (picked
  up by uvicorn), pure ASGI middlewares, a cache of verified tokens (expiry still checked),
  async dependencies, the relay on its own leader connection. (Skipping asyncpg's reset
  query on every release was tried and reverted: the fault suite showed a connection broken
  by a PostgreSQL restart going back to the pool, and a 500 on the next request. It is now
  skipped only after a commit; see the round-trip finding.) In a
  before/after run of the latency step the service went from 127–185 to the full 200
  confirms/s, the HTTP confirm from p50 1.3 s to 49 ms, and accepted → ledger from p50
  400 / p99 1,261 ms to p50 146 / p99 648 ms. What is left is the whole machine's CPU: at
  200/s the 2 cores run PostgreSQL, Tansu, four services, the driver and its 2 ms poller.
  At 50 confirms/s the same path gives p50 32 / p99 76 ms: the floor is the hops (commit,
  NOTIFY, relay, broker, a 20 ms fetch wait, the consumer's transaction), and the rest of the
  p99 at 200/s is queueing for the cores. Per-process CPU during six runs of the step alone,
  before the batch bound above (read from /proc every 5 s): the 2 cores at 185–198% busy, PostgreSQL 44–52% (its
  commitments backends 20%, points 13–17%, evaluation with the driver's poller 11–13%),
  commitments 37–50%, Tansu rising from 27% to 47% within the 30 s window as the topics fill
  with one-record batches, points and evaluation 20–25% each, the driver 12%. The hops,
  from the services' own timestamps (confirm taken → transaction start → relay claim →
  evaluation transaction), moved with that contention: in the best of those runs p50
  0.2 / 11.9 / 31.4 ms (p99 3.6 / 55 / 82 ms); in the worst, a confirm's transaction began
  up to 515 ms (p99) after its handler started, queued for a pool connection (the next
  finding shows what held the connections). Accepted → ledger p99 over the six runs: 126,
  306 (py-spy on two services for 12 s), 348 (50 ms fetch wait), 538 (5 ms poll), 710 and
  765 ms. The 50 ms fetch wait did not lower Tansu's share, nor the 5 ms poll the
  driver's. The latency section of this file now prints the same hops for its own run. The
  latency window used to run with py-spy on three processes (about a tenth of a core); the
  HTTP command path is now profiled during claim + done instead.
  The driver used to be a bottleneck itself: httpx's pool scans every queued request against
  every connection (half the driver's CPU, on the same 2 cores); it now drives the commands
  over plain keep-alive HTTP/1.1 connections.
- **The latency tail is the disk's flush.** In nine runs of the step alone (six pacing the
  relay at 0, 10 or 20 ms, three with timing prints), the p99 ranged from 110 to 1,420 ms, and
  it followed one hop. When "handler → its transaction" stayed under 7 ms (p99), the p99 was
  110–130 ms; when that hop reached 168–1,195 ms, the p99 was 375–1,420 ms. Timing the
  commitments service's units of work (the runs with prints) showed why. The late confirms had
  waited for a pooled connection, and all ten connections were in COMMIT: ten commits took
  95–150 ms together at 8.9, 10.4 and 11.5 s into the window, and ten took 195–211 ms at 19 s.
  The bodies before them took 1–3 ms, and the event loop was on time (one timer 35 ms late in
  the window). A COMMIT waits for PostgreSQL to flush the WAL, and every commit in flight
  waits for the same flush. The disk alone does the same: a loop of 8 KiB writes, each
  followed by `fdatasync`, with nothing else running, flushed in 0.2–0.3 ms at the median, but
  its slowest flush in 15–20 s took 8 to 336 ms (six runs), with up to six over 50 ms. Writing
  with `O_DSYNC`, or `O_DIRECT` and `O_DSYNC` (other `wal_sync_method`s), stalled the same
  way. The bench now measures this loop in its references (15 s), and the kit times every unit
  of work's COMMIT and its wait for a pooled connection (`cobuild_db_commit_seconds`,
  `cobuild_db_pool_wait_seconds` on /metrics, read by the latency section). With them, six
  runs of the step sort themselves. In three, the commitments service had 20, 30 and 57
  commits over 100 ms (of about 6,060) during the confirms, and the p99 was 225, 198 and 1,635
  ms. In the other three, no commit took over 100 ms, and the p99 was 89, 101 and 195 ms. The
  101 ms is the full `make bench` of 2026-11-22 23:52; its disk reference, 15 s before the
  services started, had six flushes over 50 ms and one of 370 ms. The 195 ms run had the machine 176%
  busy, and its tail was in the relay and consumer hops. A 200 ms flush holds every confirm in
  flight, and the 40 that arrive meanwhile queue for the pool. A few such flushes in the 30 s
  window put 1% of the confirms (60) past 100 ms. Nothing in the services can shorten a flush:
  a command's commit must be durable before its answer, and a consumer's before its offsets.
  In production the histograms show an operator which it is, the disk (commits) or the pool
  (waits with quick commits). Without the stalls, the p99 (89–195 ms in those runs) is the
  machine's CPU (154–176% busy), queueing at the relay and the evaluation consumer. Pacing the
  relay as the paced consumer groups are paced (one claim per 10 or 20 ms while commits stream
  in) moved neither the CPU per confirm nor the p99 beyond the noise: 8,972 and 8,553 µs
  unpaced, 8,442 and 8,847 at 10 ms, 9,172 and 8,097 at 20 ms. It was not kept. Nor was a 10
  ms fetch wait for the prompt group (the evaluation service's `commitments` group), in place
  of 20 ms. Two runs each, alternating: p99 89 and 195 ms at 10 ms, with no commit over 100 ms
  in either, against 1,635 and 225 ms at 20 ms with 57 and 20. The CPU per confirm was 8,638
  and 8,943 µs at 10 ms, against 7,825 and 8,400 µs at 20 ms. The consumer hop's p50 was 14.3
  and 19.8 ms at 10 ms, against 16.1 and 15.4 ms at 20 ms. Nor was an asynchronous commit
  for the relay's own transaction (`synchronous_commit = off` on its leader connection: a mark
  lost in a crash only republishes its rows, which the inboxes absorb), so that a relay cycle
  need not wait for the disk before its next claim. Two runs each, alternating (2026-11-23):
  the relay hop's p50 was 8.7 and 16.0 ms with it, against 12.9 and 15.5 ms without; the CPU
  per confirm 8,280 and 9,082 µs, against 8,910 and 8,538 µs. The disk stalled in all four
  (21–50 of the commitments service's commits over 100 ms), and the p99 was 468 and 309 ms
  with it, 360 and 1,176 ms without. The confirms' own commits hold the same flush, so the
  relay's wait mostly overlaps theirs. The `make bench` of 2026-11-23 06:17 shows the stall
  at its worst: 20 of the commitments service's commits over 100 ms, the slowest in the
  2.5 s bucket, 623 waits for a pooled connection over 100 ms, and a p99 of 1,230 ms (166 ms
  at 04:39, with no commit over 100 ms); its disk reference, before the services started,
  had a 355 ms flush.
- **Ledger queries** answer from the daily aggregates (an index range per scope), so they do
  not grow with the journal; the cost is the per-request work (token, scope authorisation,
  the drill-down). The drill-down used to list every child with its figures: a community's
  thousands of agreements (p99 94 ms at 116,000 commitments, growing with the ledger). It is
  now a page (default 100, `children_offset` for the next), cut before the per-child sums.
  At 10^6 commitments (100,000 agreements, about 4,800 per community) the community scope
  is the slow one: p99 24–49 ms over the last three large runs, against 4–14 ms for every
  scope but community and unit. Counting a community's agreements for the page takes one
  skip-scan probe per agreement. Tried and reverted: autovacuum at 2% instead of 20% on the
  ledger tables, in case the ledger as the pipeline left it read the heap for lack of a
  current visibility map. Two large runs with it gave p50 3.5 and 6.0 ms, p99 24.4 and
  36.7 ms, against 7.3 and 25.8 ms without: no gain the noise does not cover. Fixed with
  `ledger_agreements`, one row per agreement with its community and unit, written with each
  batch's opening facts and by the rebuild (migration 0003 backfills it): a page and its
  count are one index range. Outside the stack, 10^6 commitments in 100,000 agreements over
  21 communities: the skip scan p50 11.4 / p99 17.2 ms, the new table p50 1.5 / p99 3.3 ms.
  Its two indexes replace the (party, agreement) indexes on `ledger_commitments`, so an
  opened commitment writes two fewer index entries. In `make bench-large` (09:37 run): the
  community scope p50 23.3 → 8.4 ms as the pipeline left the ledger, and after the rebuild
  p99 26.2 → 11.1 ms (every scope 10.2 ms, met). As the pipeline left it the p99 is still
  45–48 ms (community, unit) with p50 8–13 ms, and the rebuild's VACUUM removes the tail.
  A second run of the 10^6 pipeline and the query step (10:50, `--only pipeline1m,ledger`),
  with the table telling first queries from repeats: p99 22.3 ms overall; the community
  scope's first query of each of its 21 ids p99 46.1 ms, its repeats p99 14.2 ms; the unit
  scope (343 ids, so all 200 queries are first reads) p50 13.2 / p99 23.2 ms, against 4.4 /
  6.5 ms after the rebuild. No autovacuum worker ran during the queries (their naptime is a
  minute; the queries start 5 s after the ingest), and the ledger tables held 10,000–17,000
  dead rows. So the tail comes with the first read of each id after the ingest, not with
  the plan; most likely the reader setting hint bits and pruning update chains on pages the
  ingest has just written (inferred, not profiled). Repeats, and a vacuumed ledger, answer
  within the target.
  The cheaper explanation held: PostgreSQL's cache. The cluster ran with its default
  `shared_buffers` of 128 MB for four databases, so the pages the ingest wrote had left it
  by the time they were first read, and each first query read its pages back from the OS.
  The run stack now gives it 1 GB (`COBUILD_PG_SHARED_BUFFERS`; the test stacks keep the
  default). `make bench-large` at 12:30, as the pipeline left the ledger: p99 17.1 ms
  overall (met; 36.9 and 22.3 ms in the two runs before), the community scope's first
  queries p99 21.6 ms (46.1), the unit scope's 17.2 ms (23.2); the community scope as a
  whole is still at p99 21.0 ms. `make bench` at 12:23: p99 8.06 ms at 116,000 commitments
  (11.5 before). A second run of the 10^6 pipeline and the queries (13:21, `--only
  pipeline1m,ledger`): p99 18.9 ms overall (met), but the unit scope's first reads p99
  50.1 ms (max 88) and the community's 23.4 ms, with 350,586 dead rows in `ledger_daily`
  (105,874 in the 12:30 run) and no autovacuum worker running. So a tail is left on the
  first read after the ingest, and it varies with the dead rows the upserts left; the
  reader pruning them is the likely cause (inferred). Not changed: autovacuum at 2% was
  tried before the cache was raised, without a gain the noise did not cover, and one more
  17-minute run each side could not settle it here.
  Then room on the page for the rows updated in place (fillfactor: `ledger_daily` 70,
  `ledger_commitments`, `member_points` and `points_chain` 80; evaluation migration 0004,
  points 0002). With full pages an update that cannot stay on its page writes new index
  entries and leaves a dead row behind; with room it is HOT. `--only pipeline10k`, one run
  each, counted by `pg_stat_user_tables`: `ledger_daily` 73% → 92% of updates HOT (dead rows
  17,577 → 7,615), `ledger_commitments` 28% → 51%, `points_chain` 0% → 29%. At 10^6 the
  effect is inside the noise: `--large --only pipeline1m,ledger` back to back without and
  with it, then `make bench-large` with it (14:32, 14:13, 14:56): the points service's
  PostgreSQL 114, 49 and 122 µs of CPU per fulfilment; dead rows in `ledger_commitments`
  197,905, 0 and 94,347, in `ledger_daily` 97,659, 107,794 and 113,414; fulfilments 1,783,
  1,765 and 1,735 events/s; ledger p99 as the pipeline left it 31.2, 25.7 and 27.4 ms. All
  three missed the 20 ms that the 12:30 and 13:21 runs met with the same query code, and the
  references moved as much between runs: aiokafka produce 48,637–59,612 msgs/s against
  75,448 at 12:30, the raw pipeline 11,445–21,716 events/s, and the one-row commitment
  scope, which no change touched, p50 2.4–5.0 ms against 2.1. Whether the fillfactor plays a
  part in the tail cannot be told from that noise; the run without it was the slowest. After
  the rebuild's VACUUM the same queries give p99 12.3 ms (met). The tail is on the first
  read of each id after the ingest (community: first reads p99 43.8 ms, repeats 19.5 ms).
  The cluster is PostgreSQL 18, whose initdb turns data checksums on, so such a read also
  WAL-logs each page whose hint bits it is the first to set; the checksums are kept
  (inferred as a share of the tail, not measured).
- **Rebuild.** Profiled outside the stack on a 1.33M-entry journal (10^6 commitments):
  fetch 5.8 s, the Python fold 41.5 s, COPY 14.0 s, the roll-up to agreements, units,
  communities and the district 29.5 s (one hash aggregate of 9M rows into 1.7M groups,
  spilling to disk), the inserts keeping the tables' indexes up row by row. In the fold,
  `aggregate` built a fresh dict for every delta (`setdefault`'s default is evaluated
  eagerly) and five UUIDs were parsed per commitment. Now: the fold runs in a spawned worker
  process on chunks cut at commitment boundaries, while the service copies the chunk before
  and fetches the next (a thread did not overlap: the fold and asyncpg's COPY encoding both
  hold the GIL); both tables are loaded without their indexes, which are rebuilt once each
  by sort from their catalogue definitions; the roll-up is one grouped INSERT per scope
  kind; ids stay text. 78 s → 56 s outside the stack. After the commit the endpoint runs
  `VACUUM (ANALYZE)` on the two tables: without it the first readers set the hint bits of
  the fresh rows page by page, and an agreement's drill-down at 10^6 commitments was p50
  12.4 / p99 22.9 ms instead of 3.0 / 7.4 ms.
- **Assessment publish.** Scored and ranked in SQL, results stored with one INSERT … SELECT,
  events built and written a chunk at a time. Timed step by step on the 124,000-member
  district (in a rolled-back transaction): prepare 3.2 s, digest 0.6 s, store 1.1 s, emit
  5.1 s. The district has 29,506 distinct (points, rating) pairs, and each pair's event was
  wrapped in a full envelope, then each member's envelope copied with pydantic. Now the
  first event is wrapped in full (the envelope validated) and split around its payload
  JSON; each pair's event is still constructed (its payload validated) and dumped into that
  frame with random stand-ins for the member's own values, which each member's row replaces
  as text (the stand-ins are counted in every template). A thread builds chunk k+1 while
  the database takes chunk k, and uuid7 reads the OS random source 4 KiB at a time instead
  of once per id. Emit 5.1 → 3.0 s; the four steps 9.9 → 7.0 s.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--large", action="store_true", help="10^6 commitments, 750k members")
    parser.add_argument(
        "--smoke", action="store_true", help="1/50 of the sizes, to check the suite"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated steps to run (references always run): pipeline10k, latency, "
        "pipeline100k, pipeline1m (--large), ledger, assessment, rebuild, replay; ledger needs "
        "a pipeline step",
    )
    parser.add_argument("--out", default="", help="write the results here instead")
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()} or None
    asyncio.run(Bench(args.large, args.smoke, only, args.out).main())


if __name__ == "__main__":
    main()
