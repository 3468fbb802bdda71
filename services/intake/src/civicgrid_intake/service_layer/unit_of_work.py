"""Intake's unit of work: the appeals repository on the transaction's connection."""

from __future__ import annotations

from civicgrid_shared.db.pool import Conn
from civicgrid_shared.db.uow import UnitOfWork

from civicgrid_intake.adapters.repository import AppealRepository


class IntakeUnitOfWork(UnitOfWork):
    appeals: AppealRepository

    def _bind(self, conn: Conn) -> None:
        self.appeals = AppealRepository(conn)
