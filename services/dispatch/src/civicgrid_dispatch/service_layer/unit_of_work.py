"""Dispatch's unit of work: the case repository on the transaction's connection."""

from __future__ import annotations

import asyncpg

from civicgrid_shared.db.uow import UnitOfWork
from civicgrid_dispatch.adapters.repository import CaseRepository


class DispatchUnitOfWork(UnitOfWork):
    cases: CaseRepository

    def _bind(self, conn: asyncpg.Connection) -> None:
        self.cases = CaseRepository(conn)
