"""The services' garbage-collector settings (shared/heap.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from civicgrid_shared import heap


@pytest.fixture
def restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def test_settle_freezes_the_start_up_heap_once_and_raises_the_young_threshold(
        restored: None) -> None:
    gc.unfreeze()
    kept = [{"made": "at start"} for _ in range(1000)]
    heap.settle()
    frozen = gc.get_freeze_count()
    assert frozen >= len(kept)
    assert gc.get_threshold() == heap.THRESHOLDS
    later = [{"made": "later"} for _ in range(1000)]
    heap.settle()  # a second runtime in the same process: nothing more is frozen
    assert gc.get_freeze_count() == frozen
    assert later


def test_cycles_made_after_settling_are_still_collected(restored: None) -> None:
    heap.settle()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2
