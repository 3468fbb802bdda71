"""Analytics' unit of work: facts are flushed in one statement just before commit."""

from __future__ import annotations

from civicgrid_shared.db.pool import Conn
from civicgrid_shared.db.uow import UnitOfWork

from civicgrid_analytics.adapters.repository import FactRepository


class AnalyticsUnitOfWork(UnitOfWork):
    facts: FactRepository

    def _bind(self, conn: Conn) -> None:
        self.facts = FactRepository(conn)

    async def commit(self) -> None:
        await self.facts.flush()
        await super().commit()
