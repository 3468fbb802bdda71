"""Dispatch's unit of work: its repositories on the transaction's connection."""

from __future__ import annotations

from civicgrid_shared.db.pool import Conn
from civicgrid_shared.db.uow import UnitOfWork

from civicgrid_dispatch.adapters.repository import (
    CaseRepository,
    DeadlineRepository,
    PendingWrites,
    ResponseLog,
    SummonsRepository,
)


class DispatchUnitOfWork(UnitOfWork):
    cases: CaseRepository
    deadlines: DeadlineRepository
    summons: SummonsRepository
    responses: ResponseLog
    pending: PendingWrites

    def _bind(self, conn: Conn) -> None:
        self.pending = PendingWrites(conn)
        self.cases = CaseRepository(conn, self.pending)
        self.deadlines = DeadlineRepository(conn, self.pending)
        self.summons = SummonsRepository(conn, self.pending)
        self.responses = ResponseLog(conn, self.pending)

    async def flush(self) -> None:
        await self.pending.flush()
