"""Enforcement's own events, on the ENFORCEMENT topic keyed by enforcement case id
(inspection events: by inspection id). EnforcementOutcome (shared contract) goes back
to dispatch keyed by the dispatch case id.

No payload carries a party's name, phone, ID number or address, a lead's free text
or a media file: evidence is referenced by its SHA-256.
"""

from __future__ import annotations

import uuid
from datetime import date

from civicgrid_shared.contracts.envelope import EventPayload
from civicgrid_shared.contracts.events import TerritoryRef
from pydantic import AwareDatetime


class LeadCreated(EventPayload):
    event_type = "civicgrid.enforcement.lead_created"

    enforcement_case_id: uuid.UUID
    source: str  # dispatch | patrol | inspection
    team_unit_id: str
    territory: TerritoryRef
    matter_code: str | None = None
    violation_code: str | None = None
    dispatch_case_id: uuid.UUID | None = None
    inspection_id: uuid.UUID | None = None
    created_at: AwareDatetime


class CaseFiled(EventPayload):
    event_type = "civicgrid.enforcement.case_filed"

    enforcement_case_id: uuid.UUID
    case_number: str
    team_unit_id: str
    violation_code: str
    department_kind: str
    officer_id: str
    filed_at: AwareDatetime
    decision_due: AwareDatetime


class CaseNotFiled(EventPayload):
    event_type = "civicgrid.enforcement.case_not_filed"

    enforcement_case_id: uuid.UUID
    team_unit_id: str
    reason_code: str
    officer_id: str
    at: AwareDatetime


class CaseStepped(EventPayload):
    """Any other step of the life cycle: investigation, review, delivery, execution."""

    event_type = "civicgrid.enforcement.case_stepped"

    enforcement_case_id: uuid.UUID
    team_unit_id: str
    from_state: str
    to_state: str
    officer_id: str
    at: AwareDatetime


class LegalReviewed(EventPayload):
    event_type = "civicgrid.enforcement.legal_reviewed"

    enforcement_case_id: uuid.UUID
    team_unit_id: str
    approved: bool
    reviewer_id: str
    reviewed_at: AwareDatetime


class EvidenceRecorded(EventPayload):
    event_type = "civicgrid.enforcement.evidence_recorded"

    enforcement_case_id: uuid.UUID
    team_unit_id: str
    seq: int
    media_kind: str
    sha256: str
    recorded_at: AwareDatetime


class DecisionMade(EventPayload):
    event_type = "civicgrid.enforcement.decision_made"

    enforcement_case_id: uuid.UUID
    case_number: str
    team_unit_id: str
    violation_code: str
    kind: str  # penalty | exempted | no_violation
    procedure: str  # simple | ordinary
    party_type: str
    severity: str | None
    fine_yuan: int
    measures: list[str]
    major: bool
    officer_id: str
    decided_at: AwareDatetime
    disclosure_due: AwareDatetime | None


class CaseClosed(EventPayload):
    event_type = "civicgrid.enforcement.case_closed"

    enforcement_case_id: uuid.UUID
    team_unit_id: str
    outcome: str
    officer_id: str
    closed_at: AwareDatetime


class Disclosed(EventPayload):
    """The public disclosure itself (already redacted: it is public)."""

    event_type = "civicgrid.enforcement.disclosed"

    enforcement_case_id: uuid.UUID
    disclosure_id: uuid.UUID
    case_number: str
    team_unit_id: str
    violation_code: str
    decision: str
    penalty: str
    fine_yuan: int
    party: str
    decided_on: date
    due: AwareDatetime
    on_time: bool
    disclosed_at: AwareDatetime


class DisclosureOverdue(EventPayload):
    event_type = "civicgrid.enforcement.disclosure_overdue"

    enforcement_case_id: uuid.UUID
    team_unit_id: str
    due: AwareDatetime
    flagged_at: AwareDatetime


class DecisionDeadlineWarning(EventPayload):
    """The 90-day limit from filing to decision is near."""

    event_type = "civicgrid.enforcement.decision_deadline_warning"

    enforcement_case_id: uuid.UUID
    team_unit_id: str
    filed_at: AwareDatetime
    decision_due: AwareDatetime
    warned_at: AwareDatetime


class DecisionOverdue(EventPayload):
    event_type = "civicgrid.enforcement.decision_overdue"

    enforcement_case_id: uuid.UUID
    team_unit_id: str
    filed_at: AwareDatetime
    decision_due: AwareDatetime
    flagged_at: AwareDatetime


class InspectionPlanned(EventPayload):
    event_type = "civicgrid.enforcement.inspection_planned"

    inspection_id: uuid.UUID
    team_unit_id: str
    departments: list[str]
    planned_for: date
    created_at: AwareDatetime


class InspectionConfirmed(EventPayload):
    event_type = "civicgrid.enforcement.inspection_confirmed"

    inspection_id: uuid.UUID
    department_kind: str
    unit_id: str
    all_confirmed: bool
    confirmed_at: AwareDatetime


class InspectionCompleted(EventPayload):
    event_type = "civicgrid.enforcement.inspection_completed"

    inspection_id: uuid.UUID
    team_unit_id: str
    departments: list[str]
    inspections_saved: int
    violations_found: int
    case_ids: list[uuid.UUID]
    performed_at: AwareDatetime
