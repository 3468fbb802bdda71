"""The deadline scheduler: a task in the dispatch process that applies the timer rules.

Every ``interval`` it claims due deadline rows (``FOR UPDATE SKIP LOCKED``, a small
batch, through the partial index on ``next_at``) and applies the rules to each in one
transaction with the case row locked. Several dispatch processes can run it at once:
a row is taken by one of them. Timers are rows, so a restart loses none; whatever came
due while the process was down is handled at the next round.

If a batch fails on its data, its rows are retried one by one; a row that still fails
is looked at again a minute later (and logged), never dropped, and does not hold up the
others. Infrastructure faults just wait for the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from civicgrid_shared.errors import is_transient, safe_reason
from civicgrid_shared.logs import get_logger
from prometheus_client import Counter

from civicgrid_dispatch.service_layer.lifecycle import Lifecycle
from civicgrid_dispatch.service_layer.unit_of_work import DispatchUnitOfWork

log = get_logger(__name__)

TIMER_FAILURES = Counter(
    "civicgrid_dispatch_timer_failures_total", "Deadline rows whose rules failed (retried).",
    ["kind"],
)
RETRY_FAILED_AFTER = timedelta(seconds=60)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DeadlineScheduler:
    def __init__(self, make_uow: Callable[[], DispatchUnitOfWork], lifecycle: Lifecycle,
                 interval_s: float = 1.0, batch_size: int = 100,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._make_uow = make_uow
        self._lifecycle = lifecycle
        self._interval = interval_s
        self._batch = batch_size
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="dispatch-deadline-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                handled = await self.run_once()
            except Exception as exc:
                log.warning("deadline round failed", reason=safe_reason(exc))
                handled = 0
            if handled < self._batch:  # a full batch: more may be due, go on at once
                await asyncio.sleep(self._interval)

    async def run_once(self) -> int:
        """One round; returns how many deadline rows it looked at."""
        now = self._clock()
        ids: list[int] = []
        try:
            async with self._make_uow() as uow:
                due = await uow.deadlines.claim_due(now, self._batch)
                ids = [d.deadline_id for d in due]
                for deadline in due:
                    await self._lifecycle.on_deadline(uow, deadline, now)
                await uow.commit()
            return len(ids)
        except Exception as exc:
            if is_transient(exc) or not ids:
                raise
            log.warning("deadline batch failed, retrying one by one", size=len(ids),
                        reason=safe_reason(exc))
        for deadline_id in ids:
            await self._one(deadline_id, now)
        return len(ids)

    async def _one(self, deadline_id: int, now: datetime) -> None:
        kind = "unknown"
        try:
            async with self._make_uow() as uow:
                deadline = await uow.deadlines.claim_one(deadline_id, now)
                if deadline is None:
                    return
                kind = deadline.kind.value
                await self._lifecycle.on_deadline(uow, deadline, now)
                await uow.commit()
        except Exception as exc:
            if is_transient(exc):
                raise
            TIMER_FAILURES.labels(kind).inc()
            log.error("deadline rules failed; will look again later", deadline_id=deadline_id,
                      kind=kind, reason=safe_reason(exc))
            async with self._make_uow() as uow:
                await uow.deadlines.postpone(deadline_id, now + RETRY_FAILED_AFTER)
                await uow.commit()
