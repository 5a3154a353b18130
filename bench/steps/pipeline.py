"""What the pipeline steps share: a phase fed to the broker and timed until the ledger (and
points) show every event, its rows against the raw pipeline and the path's floor, and the
cores the throughput target needs at the phase's CPU per event."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from bench import feed
from bench.cpu import CORES, cores_for
from bench.probe import Counter, Since, wait_until
from bench.report import Row
from bench.suite import Suite, partial


async def baselines(s: Suite) -> dict[str, int]:
    """Where a phase starts: the highest ledger journal id and points outbox id (each table
    has one writer, the service's consumer, whose transactions commit in turn)."""
    ev = Counter(s.dsn("evaluation"))
    pt = Counter(s.dsn("points"))
    out = {
        "journal": await ev.value("SELECT coalesce(max(id), 0) FROM ledger_journal"),
        "outbox": await pt.value("SELECT coalesce(max(id), 0) FROM outbox"),
    }
    await ev.close()
    await pt.close()
    return out


async def wait_effects(
    s: Suite,
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

    Each poll counts only the rows written since the one before (by id): counting the whole
    journal on every poll puts parallel scans on the PostgreSQL whose CPU the phase measures
    (bench/FINDINGS.md, "The CPU budget, per event"). A points award is counted by its
    `points.awarded` outbox row, written in the same transaction as the entry. One full count
    at the end checks that they are all there."""
    ledger = Since(s.dsn("evaluation"), "ledger_journal", "fact = $2", base["journal"], fact)
    awards = Since(s.dsn("points"), "outbox", "event_type = $2", base["outbox"], "points.awarded")
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
        s.report.note(
            f"TIMEOUT after {timeout:.0f}s waiting for {batch.name} {fact}: "
            f"ledger {ledger.total}/{want}, points {awards.total}/{want}"
        )
    return took, ledger.total, awards.total


def fulfilled_rows(s: Suite, n: int, events: int, seconds: float, cpu_us: float) -> None:
    """The fulfil phase against the raw pipeline (the target) and against the path's floor:
    how far the services are from their shape's bare plumbing."""
    figure = f"pipeline {n:,}: fulfilled → ledger + points{partial(events, n)}"
    path = "commitment.fulfilled fed to the topic → evaluation and points consumers"
    throughput_row(s, figure, events, seconds, path, cpu_us)
    s.report.add(
        Row(
            f"{figure}, against the path's floor",
            events / seconds,
            "events/s",
            s.refs["path_floor"],
            "floor events/s",
            path=path,
        )
    )


def throughput_row(
    s: Suite, figure: str, events: int, seconds: float, path: str, cpu_us: float | None = None
) -> Row:
    rate = events / seconds
    ref = s.refs["raw_pipeline"]
    row = s.report.add(
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
        _cores_row(s, figure, cpu_us)
    return row


def _cores_row(s: Suite, figure: str, cpu_us: float) -> None:
    """The throughput target read as CPU: half the raw pipeline's rate times the phase's CPU
    per event (every process on the machine) is the cores it needs, against the cores here.
    Scaling out to them is the sizing method's assumption, not measured."""
    s.report.add(
        Row(
            f"{figure}: cores the target needs at this CPU per event",
            cores_for(0.5 * s.refs["raw_pipeline"], cpu_us),
            "cores",
            CORES,
            "cores here",
            path=f"0.5 × raw pipeline events/s × {cpu_us:,.0f} µs of CPU per event",
        )
    )


async def open_by_signing(s: Suite, batch: feed.Batch, phase: str) -> tuple[float, int, float]:
    """agreement.signed fed for every agreement of `batch`; timed until the ledger shows its
    commitments opened. Returns (seconds, commitments opened, µs of CPU per commitment)."""
    signed = feed.encode_all((batch.signed(a) for a in range(batch.agreements())), "agreements")
    s.rss.mark(phase)
    base = await baselines(s)
    cpu0 = s.cpu.read()
    t0 = time.perf_counter()
    fed = await s.produce(signed)
    took, got, _ = await wait_effects(
        s, batch, "opened", base, points=False, t0=t0, timeout=s.phase_cap_s
    )
    cpu_us = s.cpu_row(
        f"{phase}: agreement.signed → commitment opened in the ledger", cpu0, got, took
    )
    s.report.note(
        f"{batch.name}: fed {len(signed)} agreement.signed in {fed:.1f}s; "
        f"{got} commitments opened into the ledger after {took:.1f}s"
    )
    return took, got, cpu_us


async def fulfil_fed(s: Suite, batch: feed.Batch) -> tuple[float, int, float]:
    """commitment.fulfilled fed for every commitment of `batch` the ledger opened; timed until
    the ledger and points show them (py-spy samples the consumers for 20 s). Returns
    (seconds, fulfilments in both, µs of CPU per fulfilment)."""
    # Only what the ledger opened: a fulfilment of an unknown commitment is a poison event.
    opened = await _opened_indexes(s, batch)
    events = feed.encode_all((batch.fulfilled(i) for i in opened), "commitments")
    if len(opened) < batch.n:
        s.report.note(f"{batch.name}: fulfilling the {len(opened)} commitments opened in time")
    s.rss.mark(f"fulfil {batch.n}")
    base = await baselines(s)
    profile = asyncio.create_task(s.profile(f"fulfil-{batch.n}", 20))
    cpu0 = s.cpu.read()
    t0 = time.perf_counter()
    fed = await s.produce(events)
    took, got, pts = await wait_effects(
        s,
        batch,
        "fulfilled",
        base,
        points=True,
        t0=t0,
        timeout=s.phase_cap_s,
        want=len(opened),
    )
    cpu_us = s.cpu_row(
        f"fulfil {batch.n}: commitment.fulfilled → ledger + points (py-spy sampled for 20 s)",
        cpu0,
        min(got, pts),
        took,
    )
    await profile
    s.report.note(
        f"{batch.name}: fed {len(opened)} commitment.fulfilled in {fed:.1f}s; "
        f"ledger {got}, points {pts} after {took:.1f}s"
    )
    return took, min(got, pts), cpu_us


async def _opened_indexes(s: Suite, batch: feed.Batch) -> list[int]:
    index = {batch.spot(i).commitment_id: i for i in range(batch.n)}
    conn = await asyncpg.connect(s.dsn("evaluation"))
    ids = [r[0] for r in await conn.fetch("SELECT commitment_id FROM ledger_commitments")]
    await conn.close()
    return sorted(index[c] for c in ids if c in index)
