"""Event payloads on the bus (pydantic v2). Types are stable names; versions are
carried by the ``schemaversion`` envelope attribute and bumped on breaking changes.

No payload carries a citizen's name, full phone number, address or exact location:
phones are masked (138****1234), locations are territory codes down to the grid.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from civicgrid_shared.contracts.envelope import EventPayload


class Channel(StrEnum):
    """Where an appeal came from (受理渠道)."""

    HOTLINE = "hotline"  # 12345 government service hotline
    GRID_APP = "grid_app"  # grid worker mobile app
    WEB_BOARD = "web_board"  # web message boards, e.g. the leaders' message board
    OPEN311 = "open311"  # Open311 GeoReport v2 clients
    MAYOR_MAILBOX = "mayor_mailbox"
    GOV_APP = "gov_app"  # government app / mini-program
    POLICE_110 = "police_110"  # non-emergency calls transferred from 110
    PETITION = "petition"  # 信访
    WALK_IN = "walk_in"  # service-centre counters
    VIDEO_PATROL = "video_patrol"
    MEDIA = "media"
    OTHER = "other"


class TerritoryRef(BaseModel):
    """Where a problem is, down to the grid (never an exact point)."""

    model_config = ConfigDict(frozen=True)

    county_code: str | None = None
    township_code: str | None = None
    community_code: str | None = None
    grid_code: str | None = None


class AppealReceived(EventPayload):
    """Intake accepted an appeal (诉求) and stored it durably."""

    event_type = "civicgrid.appeal.received"

    appeal_id: uuid.UUID
    tracking_code: str
    channel: Channel
    external_id: str | None = None
    received_at: AwareDatetime
    occurred_at: AwareDatetime | None = None
    title: str | None = None
    content: str
    matter_code: str | None = None
    matter_confidence: float | None = Field(default=None, ge=0, le=1)
    territory: TerritoryRef = TerritoryRef()
    contact_phone_masked: str | None = None
    resolved_on_spot: bool = False
    grid_worker_id: str | None = None


class CaseRegistered(EventPayload):
    """Dispatch registered an appeal as a case (立案)."""

    event_type = "civicgrid.case.registered"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    case_number: str
    channel: Channel
    matter_code: str
    category_code: str
    priority: str
    territory: TerritoryRef
    received_at: AwareDatetime
    registered_at: AwareDatetime


class CaseRejected(EventPayload):
    """Dispatch refused to register an appeal (invalid, out of scope)."""

    event_type = "civicgrid.case.rejected"

    appeal_id: uuid.UUID
    channel: Channel
    reason_code: str
    reason: str
    received_at: AwareDatetime
    rejected_at: AwareDatetime


class CaseAssigned(EventPayload):
    """Dispatch assigned a case to a unit at a tier, with deadlines (派遣)."""

    event_type = "civicgrid.case.assigned"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str
    tier: str
    sign_for_due: AwareDatetime
    resolve_due: AwareDatetime
    assigned_at: AwareDatetime


EVENT_TYPES: dict[str, type[EventPayload]] = {
    model.event_type: model
    for model in (AppealReceived, CaseRegistered, CaseRejected, CaseAssigned)
}

