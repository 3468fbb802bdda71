"""Joint inspections (综合查一次): one visit to a business covering several departments'
checklists. Every department confirms the plan; the results are recorded once; each
violation found opens its own case. A joint visit of n departments saves n - 1 visits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from civicgrid_enforcement.domain.errors import Conflict, Rejected


class InspectionState(StrEnum):
    PLANNED = "planned"  # waiting for departments to confirm
    CONFIRMED = "confirmed"  # every department confirmed
    COMPLETED = "completed"  # results recorded


@dataclass(frozen=True)
class Confirmation:
    department_kind: str
    unit_id: str
    officer_id: str
    at: datetime


@dataclass
class JointInspection:
    inspection_id: uuid.UUID
    team_unit_id: str
    township_code: str
    grid_code: str
    business_ref: str  # e.g. the unified social credit code: a business, not a person
    planned_for: date
    checklists: dict[str, tuple[str, ...]]  # department kind -> violation codes
    created_at: datetime
    state: InspectionState = InspectionState.PLANNED
    confirmations: dict[str, Confirmation] = field(default_factory=dict)
    performed_at: datetime | None = None
    violations_found: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.checklists) < 2:
            raise Rejected("departments: a joint inspection combines at least two departments")

    @property
    def departments(self) -> tuple[str, ...]:
        return tuple(sorted(self.checklists))

    @property
    def inspections_saved(self) -> int:
        return len(self.checklists) - 1

    def confirm(self, department_kind: str, unit_id: str, officer_id: str, at: datetime
                ) -> bool:
        """Record a department's confirmation; False if it had confirmed already."""
        if department_kind not in self.checklists:
            raise Conflict(f"department {department_kind} is not part of this inspection")
        if self.state is InspectionState.COMPLETED:
            raise Conflict("the inspection is completed")
        if department_kind in self.confirmations:
            return False
        self.confirmations[department_kind] = Confirmation(department_kind, unit_id,
                                                           officer_id, at)
        if set(self.confirmations) == set(self.checklists):
            self.state = InspectionState.CONFIRMED
        return True

    def record_results(self, violation_codes: list[str], at: datetime) -> None:
        if self.state is InspectionState.COMPLETED:
            raise Conflict("the results of this inspection are already recorded")
        if self.state is not InspectionState.CONFIRMED:
            waiting = sorted(set(self.checklists) - set(self.confirmations))
            raise Conflict("waiting for departments to confirm: " + ", ".join(waiting))
        listed = {code for codes in self.checklists.values() for code in codes}
        for i, code in enumerate(violation_codes):
            if code not in listed:
                raise Rejected(f"violations.{i}.violation_code: not on this inspection's "
                               "checklists")
        if len(set(violation_codes)) != len(violation_codes):
            raise Rejected("violations: each violation is reported once")
        self.violations_found = tuple(violation_codes)
        self.performed_at = at
        self.state = InspectionState.COMPLETED
