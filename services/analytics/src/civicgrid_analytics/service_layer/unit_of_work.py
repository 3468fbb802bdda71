"""Analytics' unit of work: the batch's buffered writes go out just before commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from civicgrid_shared.db.pool import Conn
from civicgrid_shared.db.uow import UnitOfWork

from civicgrid_analytics.adapters.enforcement_sql import EnforcementRepository
from civicgrid_analytics.adapters.journal import FactJournal
from civicgrid_analytics.adapters.repository import FactRepository
from civicgrid_analytics.adapters.surges import SurgeRepository

BatchHook = Callable[["AnalyticsUnitOfWork"], Awaitable[None]]


class AnalyticsUnitOfWork(UnitOfWork):
    """``journal``: where the consumer's handlers record fact updates; ``facts``: the
    projected facts and rollups (the projection's writes, every read)."""

    journal: FactJournal
    facts: FactRepository
    surges: SurgeRepository
    enforcement: EnforcementRepository

    def __init__(self, pool: asyncpg.Pool, schema: str, source: str, *,
                 journal_appended: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(pool, schema, source, **kwargs)
        # Called after a commit that appended to the journal (wakes the projection).
        self._journal_appended = journal_appended

    def _bind(self, conn: Conn) -> None:
        self.journal = FactJournal(conn)
        self.facts = FactRepository(conn)
        self.enforcement = EnforcementRepository(conn)
        self.surges = SurgeRepository(conn)
        self._hooks: list[BatchHook] = []

    def at_end_of_batch(self, hook: BatchHook) -> None:
        """Run ``hook`` once, just before commit (work done per batch, not per event)."""
        if hook not in self._hooks:
            self._hooks.append(hook)

    async def commit(self) -> None:
        hooks, self._hooks = self._hooks, []
        for hook in hooks:
            await hook(self)
        appended = await self.journal.flush()
        await self.facts.flush()
        await self.enforcement.flush()
        await super().commit()
        if appended and self._journal_appended is not None:
            self._journal_appended()
