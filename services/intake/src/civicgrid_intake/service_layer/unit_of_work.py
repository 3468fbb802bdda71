"""Intake's unit of work: the appeals repository and the case view on the transaction's
connection."""

from __future__ import annotations

from civicgrid_shared.db.pool import Conn
from civicgrid_shared.db.uow import UnitOfWork

from civicgrid_intake.adapters.case_view import CaseView
from civicgrid_intake.adapters.repository import AppealRepository


class IntakeUnitOfWork(UnitOfWork):
    appeals: AppealRepository
    case_view: CaseView

    def _bind(self, conn: Conn) -> None:
        self.appeals = AppealRepository(conn)
        self.case_view = CaseView(conn)

    async def flush(self) -> None:
        await self.case_view.flush()
