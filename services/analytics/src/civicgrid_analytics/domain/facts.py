"""How each event changes an appeal's facts (pure).

Every update names only the columns its event knows, so events may arrive in any
order (the appeals and cases topics are not ordered with each other) and applying
the same event twice changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from civicgrid_shared.contracts.events import (
    AppealReceived,
    CaseAssigned,
    CaseRegistered,
    CaseRejected,
    TerritoryRef,
)

FACT_COLUMNS = (
    "case_id", "channel", "matter_code", "category_code", "county_code", "township_code",
    "community_code", "grid_code", "unit_id", "tier", "received_at", "registered_at",
    "rejected_at", "assigned_at", "sign_for_due", "resolve_due",
)

FactUpdate = tuple[uuid.UUID, dict[str, Any]]


def _territory(t: TerritoryRef) -> dict[str, Any]:
    return {"county_code": t.county_code, "township_code": t.township_code,
            "community_code": t.community_code, "grid_code": t.grid_code}


def appeal_received(e: AppealReceived) -> FactUpdate:
    return e.appeal_id, {"channel": e.channel.value, "received_at": e.received_at,
                         **_territory(e.territory)}


def case_registered(e: CaseRegistered) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "channel": e.channel.value,
                         "matter_code": e.matter_code, "category_code": e.category_code,
                         "received_at": e.received_at, "registered_at": e.registered_at,
                         **_territory(e.territory)}


def case_rejected(e: CaseRejected) -> FactUpdate:
    return e.appeal_id, {"channel": e.channel.value, "received_at": e.received_at,
                         "rejected_at": e.rejected_at}


def case_assigned(e: CaseAssigned) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "unit_id": e.unit_id, "tier": e.tier,
                         "assigned_at": e.assigned_at, "sign_for_due": e.sign_for_due,
                         "resolve_due": e.resolve_due}


def merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    """Combine two updates of one appeal within a batch (later non-null values win)."""
    for column, value in update.items():
        if value is not None:
            into[column] = value
