"""What analytics reads of enforcement's own events (topic ``civicgrid.enforcement.v1``).

Enforcement's models are its own (``civicgrid_enforcement.domain.events``); analytics does
not import another service. These readers declare only the fields analytics uses, under
the same event types and schema versions; unknown fields are ignored (``EventPayload``),
so enforcement may add fields freely. The contract documents (``make contracts``) name
analytics as a consumer of exactly these event types.
"""

from __future__ import annotations

import uuid

from civicgrid_shared.contracts.envelope import EventPayload
from civicgrid_shared.contracts.events import TerritoryRef
from pydantic import AwareDatetime


class LeadCreated(EventPayload):
    event_type = "civicgrid.enforcement.lead_created"

    enforcement_case_id: uuid.UUID
    source: str
    team_unit_id: str
    territory: TerritoryRef
    created_at: AwareDatetime


class CaseFiled(EventPayload):
    event_type = "civicgrid.enforcement.case_filed"

    enforcement_case_id: uuid.UUID
    team_unit_id: str
    filed_at: AwareDatetime


class DecisionMade(EventPayload):
    event_type = "civicgrid.enforcement.decision_made"

    enforcement_case_id: uuid.UUID
    team_unit_id: str
    kind: str  # penalty | exempted | no_violation
    fine_yuan: int
    decided_at: AwareDatetime


class Disclosed(EventPayload):
    event_type = "civicgrid.enforcement.disclosed"

    enforcement_case_id: uuid.UUID
    team_unit_id: str
    on_time: bool
    disclosed_at: AwareDatetime


class CaseClosed(EventPayload):
    event_type = "civicgrid.enforcement.case_closed"

    enforcement_case_id: uuid.UUID
    team_unit_id: str
    outcome: str
    closed_at: AwareDatetime


class InspectionCompleted(EventPayload):
    event_type = "civicgrid.enforcement.inspection_completed"

    inspection_id: uuid.UUID
    team_unit_id: str
    departments: list[str]
    inspections_saved: int
    violations_found: int
    performed_at: AwareDatetime


#: every enforcement event analytics reads
READS: tuple[type[EventPayload], ...] = (
    LeadCreated, CaseFiled, DecisionMade, Disclosed, CaseClosed, InspectionCompleted)
