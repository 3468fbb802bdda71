"""Group commit: concurrent submissions share one transaction (one WAL flush).

A transaction per appeal caps intake at a few hundred appeals a second on a small
machine, most of it spent committing. Here each request hands its prepared appeal to a
queue and waits; a few committer tasks take everything queued at that moment (up to
``max_batch``) and store it in one unit of work. Each request is answered only after
the transaction holding its appeal has committed, so "durable before 2xx" still holds.
Under light load a batch is a single appeal and nothing waits for a timer.

If a batch fails for a reason of the data, its appeals are retried one transaction
each, so one bad appeal never fails its neighbours. Infrastructure faults fail the
whole batch (each request answers 503 and may be retried by the client; a retry finds
the original if it was committed after all).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from civicgrid_shared.errors import is_transient

from civicgrid_intake.domain.commands import SubmitAppeal
from civicgrid_intake.domain.model import Appeal
from civicgrid_intake.service_layer.handlers import Pipeline, Submitted, prepare, store_appeals
from civicgrid_intake.service_layer.unit_of_work import IntakeUnitOfWork


@dataclass
class _Item:
    appeal: Appeal
    correlation_id: uuid.UUID | None
    done: asyncio.Future[Submitted]


class GroupCommitter:
    def __init__(self, make_uow: Callable[[], IntakeUnitOfWork], pipeline: Pipeline,
                 workers: int = 4, max_batch: int = 256) -> None:
        self._make_uow = make_uow
        self._pipeline = pipeline
        self._workers = workers
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Item] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def _ensure_started(self) -> asyncio.Queue[_Item]:
        if self._queue is None or not self._tasks or all(t.done() for t in self._tasks):
            self._queue = asyncio.Queue()
            self._tasks = [asyncio.create_task(self._run(self._queue))
                           for _ in range(self._workers)]
        return self._queue

    async def submit(self, cmd: SubmitAppeal, correlation_id: uuid.UUID | None = None
                     ) -> Submitted:
        """Prepare (validate, classify) here, store in a shared transaction; raises what
        submit_appeal would raise."""
        appeal = prepare(cmd, self._pipeline)
        done: asyncio.Future[Submitted] = asyncio.get_running_loop().create_future()
        self._ensure_started().put_nowait(_Item(appeal, correlation_id, done))
        return await done

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _run(self, queue: asyncio.Queue[_Item]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            await self._commit(batch)

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            async with self._make_uow() as uow:
                results = await store_appeals([i.appeal for i in batch], uow, self._pipeline,
                                              [i.correlation_id for i in batch])
                if any(r.created for r in results):
                    await uow.commit()
        except Exception as exc:
            if len(batch) == 1 or is_transient(exc):
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(exc)
                return
            for item in batch:  # find the bad one; the others still go through
                await self._commit([item])
            return
        for item, result in zip(batch, results, strict=True):
            if not item.done.done():
                item.done.set_result(result)
