"""Dispatch's unit of work: its repositories on the transaction's connection."""

from __future__ import annotations

from civicgrid_shared.db.pool import Conn
from civicgrid_shared.db.uow import UnitOfWork

from civicgrid_dispatch.adapters.repository import (
    CaseRepository,
    DeadlineRepository,
    ResponseLog,
    SummonsRepository,
)


class DispatchUnitOfWork(UnitOfWork):
    cases: CaseRepository
    deadlines: DeadlineRepository
    summons: SummonsRepository
    responses: ResponseLog

    def _bind(self, conn: Conn) -> None:
        self.cases = CaseRepository(conn)
        self.deadlines = DeadlineRepository(conn)
        self.summons = SummonsRepository(conn)
        self.responses = ResponseLog(conn)
