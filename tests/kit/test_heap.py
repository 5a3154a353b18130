"""The service process's collector settings (cobuild_kit.heap)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from cobuild_kit import heap
from cobuild_kit.metrics import GC_FROZEN, GC_PAUSE


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds, callbacks = gc.get_threshold(), list(gc.callbacks)
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.callbacks[:] = callbacks


def _paused(generation: int) -> float:
    return GC_PAUSE.labels(str(generation))._value.get()


def test_settle_freezes_what_is_alive(collector: None) -> None:
    kept = [[i] for i in range(1000)]
    frozen = heap.settle()
    assert frozen == gc.get_freeze_count() >= len(kept)
    assert GC_FROZEN._value.get() == frozen


def test_young_collections_are_paced_and_the_older_keep_theirs(collector: None) -> None:
    _, older, oldest = gc.get_threshold()
    heap.pace_young_collections(50_000)
    assert gc.get_threshold() == (50_000, older, oldest)


def test_collections_are_timed_per_generation_and_the_hook_is_installed_once(
    collector: None,
) -> None:
    heap.time_collections()
    heap.time_collections()
    assert gc.callbacks.count(heap._on_collection) == 1
    before = _paused(2), _paused(0)
    gc.collect()
    gc.collect(0)
    assert _paused(2) > before[0]
    assert _paused(0) > before[1]
