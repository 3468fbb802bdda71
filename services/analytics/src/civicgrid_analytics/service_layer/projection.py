"""The projection: folds the fact journal into the case facts and the rollups.

The consumer only appends each batch's fact updates to the journal (with its inbox claim);
this loop takes what has accumulated, up to ``max_rows`` journal rows at once, and writes
facts and rollups for all of it in one transaction (``FactRepository.flush``). When events
come slowly a fold follows each batch within milliseconds; when they come fast, folds grow
by themselves (what arrives during one fold is the next one), and a case's several events
or a row many cases share (a county's day) are written once per fold, not once per batch.

Each event still counts once: the consumer's transaction holds its inbox claim and its
journal row; the fold's transaction deletes the rows it takes and writes what they make.
One fold runs at a time per store (an advisory lock). A fold that fails for a reason of
the infrastructure leaves its rows in the journal and is tried again; one that fails for
its data is written appeal by appeal, and an appeal that still fails is set aside
(``fact_journal_set_aside``, with the reason) instead of holding back every event after it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from civicgrid_shared.aio import wait_at_most
from civicgrid_shared.errors import is_transient, safe_reason
from civicgrid_shared.logs import get_logger

from civicgrid_analytics import metrics
from civicgrid_analytics.adapters.journal import Taken
from civicgrid_analytics.domain.facts import merge
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork

log = get_logger(__name__)


class FactProjection:
    def __init__(self, uow_factory: Callable[[], AnalyticsUnitOfWork], *,
                 max_rows: int = 50, idle_poll_s: float = 1.0) -> None:
        self._uow_factory = uow_factory
        self._max_rows = max_rows  # journal rows per fold (a row: one consumed batch)
        # Another instance's appends wake nobody here: look again after this long.
        self._idle_poll_s = idle_poll_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """The journal has new rows (called after a consumer's commit)."""
        self._wake.set()

    async def fold(self) -> int | None:
        """Fold what the journal holds (up to ``max_rows`` rows) in one transaction: the
        events folded, or None when another transaction holds the store's fold."""
        started = time.perf_counter()
        async with self._uow_factory() as uow:
            if not await uow.journal.lock_fold():
                return None
            taken = await uow.journal.take(self._max_rows)
            try:
                async with uow.conn.transaction():  # a savepoint
                    for appeal_id, update in taken.updates:
                        uow.facts.record(appeal_id, update)
                    await uow.facts.flush()
            except Exception as exc:
                if is_transient(exc):
                    raise
                await self._one_by_one(uow, taken, exc)
            backlog = await uow.journal.backlog()
            await uow.commit()
        now = datetime.now(UTC)
        metrics.JOURNAL_EVENTS.set(backlog.events)
        metrics.JOURNAL_AGE.set((now - backlog.oldest).total_seconds() if backlog.oldest else 0)
        if taken.events:
            metrics.FOLDED_EVENTS.inc(taken.events)
            metrics.FOLD_SECONDS.observe(time.perf_counter() - started)
            if taken.oldest is not None:
                metrics.FOLD_DELAY.observe((now - taken.oldest).total_seconds())
        return taken.events

    async def _one_by_one(self, uow: AnalyticsUnitOfWork, taken: Taken,
                          exc: BaseException) -> None:
        """The fold failed for a reason of its data: write its appeals one at a time
        (each in a savepoint) and set aside those that fail, with the reason, so that
        one bad update cannot hold back every event after it."""
        log.error("fold failed for its data; folding appeal by appeal",
                  reason=safe_reason(exc), events=taken.events)
        merged: dict[uuid.UUID, dict[str, Any]] = {}
        for appeal_id, update in taken.updates:
            merge(merged.setdefault(appeal_id, {}), update)
        failed: list[tuple[uuid.UUID, dict[str, Any], str]] = []
        for appeal_id, update in merged.items():
            try:
                async with uow.conn.transaction():
                    uow.facts.record(appeal_id, update)
                    await uow.facts.flush()
            except Exception as one:
                if is_transient(one):
                    raise
                failed.append((appeal_id, update, safe_reason(one)))
        if len(failed) == len(merged) > 1:
            # Not some appeals' data but the fold itself (a fault of the code or the
            # store): keep everything in the journal and try again, as for any failure.
            raise exc
        for appeal_id, update, reason in failed:
            await uow.journal.set_aside(appeal_id, update, reason)
            metrics.FOLD_SET_ASIDE.inc()
            log.error("appeal set aside: its updates cannot be folded",
                      appeal_id=str(appeal_id), reason=reason)

    async def catch_up(self) -> int:
        """Fold until the journal is empty (waiting while another instance folds): the
        events folded here. For tests, the rebuild and benchmarks; the service runs ``run``."""
        total = 0
        while True:
            folded = await self.fold()
            if folded is None:
                await asyncio.sleep(0.05)
            elif folded == 0:
                return total
            else:
                total += folded

    async def run(self) -> None:
        """Fold for as long as the service runs; a failed fold is logged and tried again
        (its rows stay in the journal: the backlog gauges show it)."""
        failures = 0
        while True:
            try:
                self._wake.clear()  # before the fold: a commit during it wakes the next one
                folded = await self.fold()
                failures = 0
                if not folded:
                    await wait_at_most(self._wake, self._idle_poll_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                metrics.FOLD_FAILURES.inc()
                delay = min(5.0, 0.1 * 2 ** min(failures, 6))
                log.warning("fact fold failed; the journal keeps its rows, retrying",
                            reason=safe_reason(exc), retry_in_s=delay, failures=failures)
                await asyncio.sleep(delay)
