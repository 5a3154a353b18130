"""The service process's heap and Python's cycle collector.

A consumer holds a batch's objects across its round trips to PostgreSQL, so many of them
outlive the young collections, and every few batches the collector runs a full collection.
A full collection walks every tracked object, and most of a service's are made once, at
import and startup (104,000-121,000: FastAPI, FastStream, pydantic's schemas; 70-90 ms a
collection on the bench machine). Freezing them once the service is up (`gc.freeze`) leaves
the full collections only what the service made since. Nothing is lost: what startup built
lives as long as the process anyway.

The young collections keep Python's pace by default (`gc_young_threshold`). Every 50,000
allocations instead of 700, the consumers spent about half as long again in the collector,
but a young collection walked far more objects in one pause: the latency step (200 confirms
a second) gave p99 127, 138 and 240 ms, against 62-114 ms frozen at the default pace (and a
348 ms outlier) and 62-79 ms without either (bench/RESULTS.md).
"""

from __future__ import annotations

import gc
import time
from typing import Any

from cobuild_kit.metrics import GC_FROZEN, GC_PAUSE


def settle() -> int:
    """Collect once, then move every surviving object out of the collector's reach.

    Returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    GC_FROZEN.set(frozen)
    return frozen


def pace_young_collections(threshold: int) -> None:
    """Collect the youngest generation every `threshold` allocations (the older two keep
    Python's pace relative to it)."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(threshold, older, oldest)


def time_collections() -> None:
    """Count the time the collector runs, per generation (`cobuild_gc_pause_seconds_total`)."""
    if _on_collection not in gc.callbacks:
        gc.callbacks.append(_on_collection)


_started: list[float] = []


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started.append(time.perf_counter())
    elif _started:
        GC_PAUSE.labels(str(info["generation"])).inc(time.perf_counter() - _started.pop())
