"""The HTTP command path: commitments opened by signing, then claimed and marked done over
HTTP (16 concurrent), against raw single-row commits. It leaves them ready for the latency
step, where only the confirm remains."""

from __future__ import annotations

import asyncio
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable
from typing import Any

from bench import feed
from bench.report import Row
from bench.steps.pipeline import open_by_signing
from bench.suite import Suite

CONCURRENCY = 16


async def claim_and_done(s: Suite, n: int) -> feed.Batch:
    """`n` commitments opened, claimed and marked done; returns their batch."""
    batch = feed.Batch(s.district, "latency", n, members=n)
    s.remember(batch)
    await open_by_signing(s, batch, "open latency pool")
    # The command path is profiled here, not in the latency window: py-spy takes CPU from the
    # system it samples (bench/FINDINGS.md, "Latency").
    profile = asyncio.create_task(s.profile("http-commands", 10, ("commitments", "driver")))
    t0 = time.perf_counter()
    await _http_all(
        s, batch, range(n), lambda spot: _claim_and_done(s, spot), concurrency=CONCURRENCY
    )
    took = time.perf_counter() - t0
    await profile
    rate = 2 * n / took
    s.report.add(
        Row(
            "HTTP commands (claim, then done), 16 concurrent",
            rate,
            "commands/s",
            s.refs["pg_commits"],
            "raw single-row commits/s",
            "",
            None,
            "HTTP",
        )
    )
    s.report.note(
        f"claim + done over HTTP for {n} commitments in {took:.0f}s "
        f"({rate:.0f} commands/s, 16 concurrent)"
    )
    return batch


async def confirm(s: Suite, spot: feed.Spot) -> None:
    tok = s.token("community_admin", spot.community_id)
    await _post(s, f"/commitments/{spot.commitment_id}/confirm", tok)


async def _http_all(
    s: Suite,
    batch: feed.Batch,
    idx: range,
    fn: Callable[[feed.Spot], Awaitable[None]],
    concurrency: int,
) -> None:
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
        s.report.note(f"HTTP errors in {batch.name}: {dict(errors.most_common(3))}")


async def _post(s: Suite, path: str, token: str, body: Any = None) -> None:
    status, answer = await s.commands.post(path, {"authorization": f"Bearer {token}"}, body)
    if status != 200:
        raise RuntimeError(f"{path.split('/')[-1]} {status} {answer[:80]!r}")


async def _claim_and_done(s: Suite, spot: feed.Spot) -> None:
    tok = s.token("unit_admin", spot.unit_id)
    await _post(s, f"/commitments/{spot.commitment_id}/claim", tok)
    body = {"participants": [{"member_id": str(spot.member_id), "hours": "1"}]}
    await _post(s, f"/commitments/{spot.commitment_id}/done", tok, body)
