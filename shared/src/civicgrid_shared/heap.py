"""Garbage collection tuned for batch consumers.

A service's batches allocate tens of thousands of short-lived dicts and tuples (decoded
events, fact rows, rollup sums), none of them in reference cycles that outlive the batch.
With CPython's default thresholds (700, 10, 10) that triggers a full collection every
~70,000 allocations, and each one walks every object the process holds: the modules,
the reference data and the settings made at start, which live as long as the process.
Measured in analytics' ingest bench: about a quarter of its Python time (BENCHMARKS.md,
session 6).
"""

from __future__ import annotations

import gc

#: a young collection every 20,000 allocations (not 700); the older generations as before
THRESHOLDS = (20_000, 10, 10)


def settle() -> None:
    """Call once the service has started: moves everything made so far out of the
    collector's way (``gc.freeze``: never scanned again, so cycles among those objects are
    never freed: they live as long as the process anyway) and collects young objects less
    often. Only the first call freezes: a process that starts several runtimes (the
    tests) would otherwise freeze the garbage of the ones it stopped."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
    gc.set_threshold(*THRESHOLDS)
