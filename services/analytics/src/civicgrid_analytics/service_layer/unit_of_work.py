"""Analytics' unit of work: the batch's buffered writes go out just before commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from civicgrid_shared.db.pool import Conn
from civicgrid_shared.db.uow import UnitOfWork

from civicgrid_analytics.adapters.enforcement_sql import EnforcementRepository
from civicgrid_analytics.adapters.repository import FactRepository
from civicgrid_analytics.adapters.surges import SurgeRepository

BatchHook = Callable[["AnalyticsUnitOfWork"], Awaitable[None]]


class AnalyticsUnitOfWork(UnitOfWork):
    facts: FactRepository
    surges: SurgeRepository
    enforcement: EnforcementRepository

    def _bind(self, conn: Conn) -> None:
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
        await self.facts.flush()
        await self.enforcement.flush()
        await super().commit()
