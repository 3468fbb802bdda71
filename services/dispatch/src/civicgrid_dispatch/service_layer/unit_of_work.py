"""Dispatch's unit of work: the case repository on the transaction's connection."""

from __future__ import annotations

from civicgrid_shared.db.pool import Conn
from civicgrid_shared.db.uow import UnitOfWork

from civicgrid_dispatch.adapters.repository import CaseRepository


class DispatchUnitOfWork(UnitOfWork):
    cases: CaseRepository

    def _bind(self, conn: Conn) -> None:
        self.cases = CaseRepository(conn)
