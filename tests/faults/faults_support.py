"""The fault suite's harness: play the seeded scenario on a real stack with a fault, then read
back the final business state (`snapshot`) and check the ledger invariants (`invariants`).

A snapshot names things by plan key (member index, item key, party code), never by the ids the
services minted, and leaves out generated ids, hashes and wall-clock timestamps: two runs of the
same seed must give equal snapshots (docs/RELIABILITY.md, "How a fault run works").
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from cobuild_kit.db import connect
from cobuild_scenario import actors
from cobuild_scenario.actors import Api, Tokens
from cobuild_scenario.driver import MainJob, Played, World, play
from cobuild_scenario.pace import Quiescence
from cobuild_stack.launcher import SERVICES, Stack, StackConfig
from cobuild_stack.service_process import ServiceProcess

SEED = int(os.environ.get("COBUILD_FAULTS_SEED", "7"))
SCALE = os.environ.get("COBUILD_FAULTS_SCALE", "tiny")
YEAR = 2026
AS_OF = (date(YEAR, 6, 30), date(YEAR, 12, 31))
# A service restarting takes seconds; the driver keeps retrying a dropped request (with the
# same Idempotency-Key) for about two minutes instead of its usual ten seconds.
DRIVER_RETRIES = 45
# One row per run, printed as a table at the end of the session (conftest.py).
RESULTS: list[dict[str, Any]] = []


def say(line: str) -> None:
    print(f"  [faults] {line}", flush=True)


# --- the stack under test --------------------------------------------------------------------


class FaultStack(Stack):
    """The launcher's stack with extra environment for single services (crash hooks)."""

    def __init__(self, config: StackConfig, service_env: Mapping[str, Mapping[str, str]]) -> None:
        super().__init__(config)
        self.service_env = {k: dict(v) for k, v in service_env.items()}

    def _service_process(
        self, name: str, port: int, ports: dict[str, int], console_port: int | None = None
    ) -> ServiceProcess:
        process = super()._service_process(name, port, ports, console_port)
        process.env.update(self.service_env.get(name, {}))
        return process


@dataclass
class LiveRun:
    """A stack with the scenario being played on it; what a fault acts on."""

    name: str
    stack: FaultStack
    info: Any
    started_at: datetime
    rng: random.Random
    notes: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    _supervisor: asyncio.Task[None] | None = None

    @property
    def var_dir(self) -> Path:
        return self.stack.var_dir

    def api(self) -> Api:
        return Api(
            {n: s["url"] for n, s in self.info["services"].items()}, Tokens(self.info["keys"])
        )

    def supervise(self) -> None:
        """Restart crashed services (the launcher's own watcher), but not the broker or
        PostgreSQL: the faults stop and start those themselves."""
        if self._supervisor is None:
            watchers = [self.stack._watch_service(s) for s in self.stack.services.values()]
            self._supervisor = asyncio.create_task(_gather(watchers))

    async def unsupervise(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None

    def check_supervisor(self) -> None:
        if self._supervisor is not None and self._supervisor.done():
            self._supervisor.result()  # raises the StackError of a service that stayed down

    @property
    def restarts(self) -> int:
        return sum(s.restarts for s in self.stack.services.values())

    async def quiesce(self, timeout_s: float = 300.0) -> None:
        api = self.api()
        try:
            district = "00000000-0000-0000-0000-000000000000"
            quiet = Quiescence(api, api.tokens.token("operator", district), timeout_s)
            await quiet.wait()
        finally:
            await api.aclose()

    async def clock_reaches(self, day: date) -> None:
        """Until the driver's business clock is at or past `day`."""
        path = Path(self.info["clock"].removeprefix("file:"))
        while True:
            with contextlib.suppress(OSError, ValueError):
                text = await asyncio.to_thread(path.read_text)
                if datetime.fromisoformat(text.strip()).date() >= day:
                    return
            await asyncio.sleep(0.1)

    async def run_cli(self, *args: str, timeout_s: float = 120.0) -> str:
        """`cobuild <args> --var-dir <var>`, as an operator would type it; its output."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cobuild_stack.cli",
            *args,
            "--var-dir",
            str(self.var_dir),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "250"},
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
        text = out.decode(errors="replace")
        if proc.returncode != 0:
            raise AssertionError(f"cobuild {' '.join(args)} failed ({proc.returncode}): {text}")
        return text


async def _gather(aws: list[Awaitable[None]]) -> None:
    await asyncio.gather(*aws)


class Fault:
    """A fault: how the stack is set up, what happens while the year is played, and after."""

    name = "undisturbed"
    tried = "nothing: the seeded year, undisturbed"
    service_env: Mapping[str, Mapping[str, str]] = {}

    async def configure(self, stack: FaultStack, root: Path) -> None:
        """Before the stack starts."""

    async def before(self, run: LiveRun) -> None:
        """Once the stack is up, before the year is played."""

    async def during(self, run: LiveRun) -> None:
        """Concurrently with the play (awaited after it)."""

    async def after(self, run: LiveRun, played: Played) -> None:
        """After the year; the run is then drained and read."""

    async def cleanup(self) -> None:
        """After the stack stopped (helper processes)."""


@dataclass
class Outcome:
    fault: str
    tried: str
    played: Played
    snapshot: dict[str, Any]
    invariants: list[str]
    counts: Counter[str]
    notes: list[str]
    seconds: float
    http_5xx: Counter[int]


class _HttpTally:
    """Counts the 5xx answers the driver got (it retries 502-504 and fails on others)."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self._original = Api.__init__

    def __enter__(self) -> _HttpTally:
        original, tally = self._original, self.statuses

        async def on_response(response: httpx.Response) -> None:
            if response.status_code >= 500:
                tally[response.status_code] += 1

        def init(api: Api, *args: Any, **kwargs: Any) -> None:
            original(api, *args, **kwargs)
            api._client.event_hooks["response"].append(on_response)

        Api.__init__ = init  # type: ignore[method-assign]
        self._retries = actors.RETRIES
        actors.RETRIES = DRIVER_RETRIES
        return self

    def __exit__(self, *exc: object) -> None:
        Api.__init__ = self._original  # type: ignore[method-assign]
        actors.RETRIES = self._retries


async def run_scenario(root: Path, fault: Fault) -> Outcome:
    """Play the seeded year on a fresh stack with `fault`; drain; read state and invariants."""
    started = time.monotonic()
    root.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
    os.chmod(root, 0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    config = MainJob().prepare_stack(
        StackConfig.from_env(
            {},
            var_dir=root / "var",
            service_ports={name: 0 for name in SERVICES},
            partitions=2,
            test_mode=True,
            max_restarts=30,
            ready_timeout=120.0,
        )
    )
    stack = FaultStack(config, fault.service_env)
    await fault.configure(stack, root)
    say(f"{fault.name}: starting a stack in {root}")
    try:
        info = await stack.start()
        run = LiveRun(
            fault.name,
            stack,
            info,
            datetime.now().astimezone(),
            random.Random(f"{SEED}:{fault.name}"),
        )
        run.supervise()
        with _HttpTally() as tally:
            await fault.before(run)
            during = asyncio.create_task(fault.during(run))
            try:
                played = await play(
                    info,
                    seed=SEED,
                    scale=SCALE,
                    var_dir=stack.var_dir,
                    say=say,
                    show_progress=False,
                )
            except BaseException:
                during.cancel()
                raise
            await during
            run.check_supervisor()
            await fault.after(run, played)
            await run.quiesce()
        run.check_supervisor()
        snap = await snapshot(info, played.world)
        problems, counts = await invariants(info)
        run.counts.update(counts)
        run.counts["restarts"] = run.restarts
        await run.unsupervise()
    finally:
        await stack.stop()
        await fault.cleanup()
    seconds = time.monotonic() - started
    say(f"{fault.name}: done in {seconds:.0f}s")
    return Outcome(
        fault.name,
        fault.tried,
        played,
        snap,
        problems,
        run.counts,
        run.notes,
        seconds,
        tally.statuses,
    )


# --- the snapshot ----------------------------------------------------------------------------


def _names(world: World) -> dict[UUID, str]:
    """Minted id → plan key."""
    names: dict[UUID, str] = {}
    for code, pid in world.parties.items():
        names[UUID(pid)] = f"party:{code}"
    for index, mid in world.members.items():
        names[UUID(mid)] = f"member:{index}"
    for table, prefix in (
        (world.needs, "need"),
        (world.agreements, "agreement"),
        (world.commitments, "item"),
        (world.wishes, "wish"),
        (world.experts, "expert"),
    ):
        for key, value in table.items():
            names[UUID(value)] = f"{prefix}:{key}"
    return names


class _Namer:
    def __init__(self, world: World) -> None:
        self.names = _names(world)

    def __call__(self, value: Any) -> Any:
        """Plain, comparable values: ids by plan key, numbers as strings, jsonb walked."""
        if isinstance(value, UUID):
            return self.names.get(value, "<unknown id>")
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return self(UUID(value)) if len(value) == 36 else value
            return value
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        if isinstance(value, date | bool | int) or value is None:
            return value if not isinstance(value, date) else value.isoformat()
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {str(self(k)): self(v) for k, v in value.items()}
        return str(value)


# table → (query, key columns). Only business columns: no generated ids, hashes, wall-clock.
QUERIES: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "agreements": {
        "agreement": (
            "SELECT agreement_id, state, version, signed_version, origin FROM agreement",
            ("agreement_id",),
        ),
        "need": ("SELECT need_id, status, version FROM need", ("need_id",)),
    },
    "commitments": {
        "commitments": (
            """SELECT commitment_id, status, percent, paid_fen, actual_quantity,
                      overdue_at IS NOT NULL AS flagged_overdue,
                      reminded_at IS NOT NULL AS reminded, member_ids, participants
               FROM commitments""",
            ("commitment_id",),
        ),
        "history": (
            """SELECT commitment_id, event_type, count(*) AS n FROM commitment_history
               GROUP BY commitment_id, event_type""",
            ("commitment_id", "event_type"),
        ),
        "evidence": (
            "SELECT commitment_id, sha256, count(*) AS n FROM evidence GROUP BY 1, 2",
            ("commitment_id", "sha256"),
        ),
    },
    "points": {
        "balance": (
            "SELECT member_id, year, balance, length FROM points_chain",
            ("member_id", "year"),
        ),
        "entries": (
            """SELECT member_id, year, category, kind, business_date, count(*) AS n,
                      sum(points) AS points FROM points_entry GROUP BY 1, 2, 3, 4, 5""",
            ("member_id", "year", "category", "kind", "business_date"),
        ),
        "member": ("SELECT member_id, status, community_id FROM member", ("member_id",)),
        "wish": ("SELECT wish_id, status, member_id FROM wish", ("wish_id",)),
        "signups": (
            """SELECT member_id, count(*) AS n, count(confirmed_at) AS confirmed,
                      sum(hours) AS hours FROM signup GROUP BY member_id""",
            ("member_id",),
        ),
        "member_score": (
            "SELECT member_id, year, score, grade, rank_in_community FROM member_score",
            ("member_id", "year"),
        ),
    },
    "evaluation": {
        "ledger_commitments": (
            """SELECT commitment_id, agreement_id, deadline, committed_fen, opened_on,
                      fulfilled_on, credited_fen, on_time, cancelled_on, flagged_on
               FROM ledger_commitments""",
            ("commitment_id",),
        ),
        "journal": (
            """SELECT commitment_id, fact, business_day, count(*) AS n FROM ledger_journal
               GROUP BY 1, 2, 3""",
            ("commitment_id", "fact", "business_day"),
        ),
        "member_points": (
            "SELECT member_id, year, total FROM member_points",
            ("member_id", "year"),
        ),
        "members": ("SELECT member_id, community_id, left_on FROM members", ("member_id",)),
        "evaluations": (
            """SELECT subject_kind, subject_id, evaluator_kind, count(*) AS n,
                      sum(rating) AS ratings, sum(score) AS scores FROM evaluations
               GROUP BY 1, 2, 3""",
            ("subject_kind", "subject_id", "evaluator_kind"),
        ),
        "buckets": (
            """SELECT subject_kind, subject_id, evaluator_kind, bucket, n, total
               FROM evaluation_buckets""",
            ("subject_kind", "subject_id", "evaluator_kind", "bucket"),
        ),
        "results": (
            """SELECT r.subject_kind, r.subject_id, r.score, r.grade, r.components,
                      r.rank_community, r.rank_street, r.rank_district
               FROM assessment_results r JOIN assessments a USING (assessment_id)
               WHERE a.current""",
            ("subject_kind", "subject_id"),
        ),
        "assessments": (
            "SELECT year, policy_version, totals FROM assessments WHERE current",
            ("year", "policy_version"),
        ),
    },
}

_MEASURES = (
    *("signed", "signed_fen", "cancelled", "cancelled_fen", "fulfilled", "fulfilled_fen"),
    *("due", "due_fen", "on_time", "on_time_fen", "overdue", "overdue_fen", "flagged_overdue"),
)


async def _fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def snapshot(info: Any, world: World) -> dict[str, Any]:
    """Every service's final business state, keyed by plan keys (read-only SQL)."""
    name = _Namer(world)
    out: dict[str, Any] = {}
    for service, tables in QUERIES.items():
        dsn = info["databases"][service]
        for table, (sql, keys) in tables.items():
            rows: dict[str, Any] = {}
            for r in await _fetch(dsn, sql):
                key = "|".join(str(name(r[k])) for k in keys)
                rows[key] = {c: name(v) for c, v in r.items() if c not in keys}
            out[f"{service}.{table}"] = rows
    # Fulfilment aggregates as of two dates, for every scope the ledger keeps.
    sums = ", ".join(f"sum({m}) AS {m}" for m in _MEASURES)
    for day in AS_OF:
        rows = {}
        for r in await _fetch(
            info["databases"]["evaluation"],
            f"""SELECT scope_kind, scope_id, {sums} FROM ledger_daily WHERE day <= $1
                GROUP BY scope_kind, scope_id""",
            day,
        ):
            scope = r["scope_kind"] if r["scope_kind"] == "all" else name(r["scope_id"])
            rows[f"{r['scope_kind']}|{scope}"] = {m: int(r[m]) for m in _MEASURES}
        out[f"evaluation.aggregates@{day.isoformat()}"] = rows
    return out


@dataclass
class Difference:
    table: str
    key: str
    kind: str  # lost | duplicated | changed
    baseline: Any
    got: Any

    def __str__(self) -> str:
        return f"{self.kind}: {self.table}[{self.key}] baseline={self.baseline!r} got={self.got!r}"


def compare(baseline: dict[str, Any], got: dict[str, Any]) -> list[Difference]:
    """Row by row. A missing row or a smaller count/amount is `lost`, an extra row or a larger
    one `duplicated`, anything else `changed`."""
    diffs: list[Difference] = []
    for table in sorted(set(baseline) | set(got)):
        base_rows, rows = baseline.get(table, {}), got.get(table, {})
        for key in sorted(set(base_rows) | set(rows)):
            b, g = base_rows.get(key), rows.get(key)
            if b == g:
                continue
            if g is None:
                diffs.append(Difference(table, key, "lost", b, g))
            elif b is None:
                diffs.append(Difference(table, key, "duplicated", b, g))
            else:
                diffs.append(Difference(table, key, _direction(b, g), b, g))
    return diffs


def _direction(b: dict[str, Any], g: dict[str, Any]) -> str:
    for column in ("n", "length", "balance", "total", "points", "fulfilled", "signed"):
        bv, gv = b.get(column), g.get(column)
        if bv is not None and gv is not None and bv != gv:
            with contextlib.suppress(ValueError, TypeError):
                return "lost" if Decimal(str(gv)) < Decimal(str(bv)) else "duplicated"
    return "changed"


# --- the invariants --------------------------------------------------------------------------


def consumer_groups() -> dict[str, tuple[str, dict[str, set[str]]]]:
    """group → (service, {topic: event types it handles}), from the services' definitions,
    the kit's groups (`<service>.access`, revocations) included: they read and dead-letter
    like any other."""
    groups: dict[str, tuple[str, dict[str, set[str]]]] = {}
    for service in SERVICES:
        definition = importlib.import_module(f"cobuild_{service}.app").definition()
        for spec in definition.all_consumers():
            groups[f"{service}.{spec.purpose}"] = (
                service,
                {topic: set(spec.event_types()) for topic in spec.topics},
            )
    return groups


_GROUPS: dict[str, tuple[str, dict[str, set[str]]]] | None = None


def groups() -> dict[str, tuple[str, dict[str, set[str]]]]:
    global _GROUPS
    if _GROUPS is None:
        _GROUPS = consumer_groups()
    return _GROUPS


async def invariants(info: Any) -> tuple[list[str], Counter[str]]:
    """The ledger invariants; a list of what does not hold (empty: all hold) and counts."""
    problems: list[str] = []
    counts: Counter[str] = Counter()
    dbs = info["databases"]
    problems += await _points_ledger(dbs["points"], counts)
    problems += await _fulfilment_rebuild(dbs["evaluation"], counts)
    problems += await _inboxes(dbs, counts)
    return problems, counts


async def _points_ledger(dsn: str, counts: Counter[str]) -> list[str]:
    from cobuild_points.usecases.points import verify_year as verify

    problems = []
    conn = await connect(dsn)
    try:
        bad = await conn.fetch(
            """SELECT c.member_id, c.year, c.balance, c.length,
                      coalesce(sum(e.points), 0) AS journal, count(e.entry_id) AS entries
               FROM points_chain c LEFT JOIN points_entry e USING (member_id, year)
               GROUP BY c.member_id, c.year, c.balance, c.length
               HAVING c.balance <> coalesce(sum(e.points), 0) OR c.length <> count(e.entry_id)"""
        )
        problems += [
            f"points: balance {r['balance']} ≠ journal {r['journal']} ({dict(r)})" for r in bad
        ]
        report = await verify(conn, YEAR)
        counts["chains verified"] = report.chains_checked
        counts["points entries"] = report.entries_checked
        if not report.ok:
            problems.append(f"points: hash chain broken: {report.first_bad}")
    finally:
        await conn.close()
    return problems


_REBUILT_TABLES = ("ledger_daily", "ledger_commitments", "ledger_agreements")


async def _fulfilment_rebuild(dsn: str, counts: Counter[str]) -> list[str]:
    """The aggregates as kept equal a rebuild from the journal (rebuilt inside a transaction
    that is rolled back: the check changes nothing)."""
    from cobuild_evaluation.usecases import ledger_rebuild as ledger_replay

    read = (
        "SELECT * FROM ledger_daily ORDER BY scope_kind, scope_id, day",
        "SELECT * FROM ledger_commitments ORDER BY commitment_id",
        "SELECT * FROM ledger_agreements ORDER BY agreement_id",
    )
    conn = await connect(dsn)
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            kept = [[dict(r) for r in await conn.fetch(q)] for q in read]
            rebuilt_counts = await ledger_replay.rebuild(conn)
            rebuilt = [[dict(r) for r in await conn.fetch(q)] for q in read]
        finally:
            await tx.rollback()
    finally:
        await conn.close()
    counts["journal entries"] = rebuilt_counts["journal_entries"]
    problems = []
    for what, a, b in zip(_REBUILT_TABLES, kept, rebuilt, strict=True):
        if a != b:
            problems.append(
                f"evaluation: {what} differs from its rebuild ({len(a)} vs {len(b)} rows)"
            )
    return problems


async def _inboxes(dbs: Mapping[str, str], counts: Counter[str]) -> list[str]:
    """Per consumer group: its inbox holds exactly the events of the types it handles that
    the services published (every outbox keeps its rows), plus dead-lettered ones; and the
    evaluation journal has one entry per commitment fact in its inbox."""
    published: dict[tuple[str, str], set[UUID]] = {}
    for service in SERVICES:
        for r in await _fetch(dbs[service], "SELECT event_id, topic, event_type FROM outbox"):
            published.setdefault((r["topic"], r["event_type"]), set()).add(r["event_id"])
    problems = []
    for group, (service, topics) in groups().items():
        expected = {
            eid
            for topic, types in topics.items()
            for t in types
            for eid in published.get((topic, t), set())
        }
        rows = await _fetch(dbs[service], "SELECT event_id FROM inbox WHERE consumer = $1", group)
        inbox = {r["event_id"] for r in rows}
        counts["inbox rows"] += len(inbox)
        lost, extra = expected - inbox, inbox - expected
        if lost:
            problems.append(f"{group}: {len(lost)} published event(s) never applied")
        if extra:
            problems.append(f"{group}: {len(extra)} inbox row(s) for no published event")
    facts = await _fetch(
        dbs["evaluation"],
        """SELECT (SELECT count(*) FROM ledger_journal) AS journal,
                  (SELECT count(*) FROM inbox WHERE consumer = 'evaluation.commitments'
                     AND event_type IN ('commitment.opened', 'commitment.fulfilled',
                                        'commitment.overdue', 'commitment.cancelled')) AS inbox""",
    )
    if facts[0]["journal"] != facts[0]["inbox"]:
        problems.append(
            f"evaluation: {facts[0]['journal']} journal entries for {facts[0]['inbox']} facts"
        )
    # A member is scored twice (published for 公示, then final) and points keeps the latest:
    # one row per member the evaluation service scored, whatever the number of events.
    scores = await _fetch(dbs["points"], "SELECT count(*) AS n FROM member_score")
    subjects = await _fetch(
        dbs["evaluation"],
        """SELECT count(DISTINCT subject_id) AS n FROM assessment_results
            WHERE subject_kind = 'member'""",
    )
    if scores[0]["n"] != subjects[0]["n"]:
        problems.append(
            f"points: {scores[0]['n']} member scores for {subjects[0]['n']} members scored"
        )
    return problems


# --- helpers the faults share ----------------------------------------------------------------


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.2)


def summarize(outcome: Outcome, diffs: list[Difference]) -> dict[str, Any]:
    kinds = Counter(d.kind for d in diffs)
    return {
        "fault": outcome.fault,
        "tried": outcome.tried,
        "lost": kinds["lost"],
        "duplicated": kinds["duplicated"],
        "changed": kinds["changed"],
        "500s": outcome.http_5xx[500],
        "invariants": "hold" if not outcome.invariants else "; ".join(outcome.invariants),
        "counted": ", ".join(f"{k} {v}" for k, v in sorted(outcome.counts.items())),
        "notes": "; ".join(outcome.notes),
        "seconds": round(outcome.seconds),
    }
