"""A service's Prometheus histograms, read from its /metrics around a step: how many
observations the step added, and how many of them were slower than a bound."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

Buckets = dict[float, float]  # upper bound (le) → cumulative count


async def read(
    http: httpx.AsyncClient, base_url: str, names: Iterable[str], token: str
) -> dict[str, Buckets]:
    """The cumulative bucket counts of the (unlabelled) histograms `names`, from one read of
    `base_url`/metrics (an operator's, with `token`)."""
    r = await http.get(f"{base_url}/metrics", headers={"authorization": f"Bearer {token}"})
    r.raise_for_status()
    wanted = set(names)
    found = {
        family.name: {
            float(s.labels["le"]): s.value
            for s in family.samples
            if s.name == f"{family.name}_bucket"
        }
        for family in text_string_to_metric_families(r.text)
        if family.name in wanted
    }
    if missing := wanted - found.keys():
        raise KeyError(f"{base_url}/metrics has no histogram {', '.join(sorted(missing))}")
    return found


@dataclass(frozen=True)
class Added:
    """What a step added to a histogram."""

    total: int
    above: dict[int, int]  # bound (ms) → observations slower than it
    slowest_bound: float  # the upper bound (seconds) of the highest bucket that gained any

    def line(self) -> str:
        parts = [f"{n:,} over {bound} ms" for bound, n in self.above.items()]
        slowest = "∞" if math.isinf(self.slowest_bound) else f"{self.slowest_bound * 1000:g} ms"
        return f"{self.total:,} in all, {', '.join(parts)}; the slowest at most {slowest}"


def added(before: Buckets, after: Buckets, bounds_ms: tuple[int, ...]) -> Added:
    """The difference of two reads. Each bound must be one of the histogram's bucket bounds."""
    delta = {le: after[le] - before.get(le, 0.0) for le in after}
    total = int(delta[math.inf])
    above = {b: total - int(delta[b / 1000]) for b in bounds_ms}
    # The lowest bound whose cumulative count already holds every observation.
    slowest = next((le for le in sorted(delta) if delta[le] == total), math.inf)
    return Added(total, above, slowest if total else 0.0)
