"""Enforcement's unit of work: its repositories on the transaction's connection."""

from __future__ import annotations

from civicgrid_shared.db.pool import Conn
from civicgrid_shared.db.uow import UnitOfWork

from civicgrid_enforcement.adapters.repository import (
    CaseRepository,
    DisclosureRepository,
    InspectionRepository,
    RecordRepository,
)


class EnforcementUnitOfWork(UnitOfWork):
    cases: CaseRepository
    records: RecordRepository
    disclosures: DisclosureRepository
    inspections: InspectionRepository

    def _bind(self, conn: Conn) -> None:
        self.cases = CaseRepository(conn)
        self.records = RecordRepository(conn)
        self.disclosures = DisclosureRepository(conn)
        self.inspections = InspectionRepository(conn)
