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


class HistoricalRecord(BaseModel):
    """What an imported historical case already went through, in its source system.

    Dispatch replays it with the original event times (registered at ``created_at``,
    resolved and closed at ``closed_at``) so analytics reports history correctly.
    """

    model_config = ConfigDict(frozen=True)

    source: str  # e.g. "nyc-311-2011"
    created_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    status: str  # the source's own status word, e.g. "Closed"
    agency: str | None = None  # the source's handling agency code, e.g. "DOT"
    category: str | None = None  # the source's own category, e.g. "Street Condition"


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
    resolution_note: str | None = None  # what the grid worker did on the spot
    grid_worker_id: str | None = None
    duplicate_of_case_id: uuid.UUID | None = None  # flagged by intake for dispatch to merge
    history: HistoricalRecord | None = None


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


class AssignmentReason(StrEnum):
    INITIAL = "initial"
    REDISPATCH = "redispatch"  # after a return (退单)
    ESCALATION = "escalation"  # handed up a tier
    REOPEN = "reopen"  # after "not solved / not satisfied" (重办)
    MANUAL = "manual"  # by a city-platform operator


class CaseAssigned(EventPayload):
    """Dispatch assigned a case to a unit at a tier, with deadlines (派遣).

    ``unit_id`` is the lead unit (首接负责); ``cooperating_unit_ids`` join for joint
    handling. Also published, as a task, on the lead unit's own task topic.
    """

    event_type = "civicgrid.case.assigned"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    case_number: str = ""
    unit_id: str
    tier: str
    sign_for_due: AwareDatetime
    resolve_due: AwareDatetime
    assigned_at: AwareDatetime
    reason: AssignmentReason = AssignmentReason.INITIAL
    cooperating_unit_ids: list[str] = Field(default_factory=list)
    matter_code: str | None = None
    priority: str | None = None
    # What the unit needs to handle it: the appeal's text and masked contact only.
    title: str | None = None
    content: str | None = None
    territory: TerritoryRef = TerritoryRef()
    contact_phone_masked: str | None = None


class CaseMerged(EventPayload):
    """A repeat report of an open case was merged into it (合并), not dispatched again."""

    event_type = "civicgrid.case.merged"

    case_id: uuid.UUID  # the case it joined
    appeal_id: uuid.UUID  # the duplicate appeal
    channel: Channel
    received_at: AwareDatetime
    merged_at: AwareDatetime


class CaseSignedFor(EventPayload):
    """The unit acknowledged the case (签收)."""

    event_type = "civicgrid.case.signed_for"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str
    signed_at: AwareDatetime
    on_time: bool


class CaseStarted(EventPayload):
    """The unit began handling the case (处置中)."""

    event_type = "civicgrid.case.started"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str
    started_at: AwareDatetime


class CaseResponded(EventPayload):
    """A summoned county department reported (报到)."""

    event_type = "civicgrid.case.responded"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str
    on_time: bool
    responded_at: AwareDatetime


class CaseReturned(EventPayload):
    """The unit sent a misrouted case back to the platform (退单), with a reason."""

    event_type = "civicgrid.case.returned"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str
    reason: str
    return_count: int
    returned_at: AwareDatetime


class CaseExtensionRequested(EventPayload):
    """The unit asked for more time (延期申请)."""

    event_type = "civicgrid.case.extension_requested"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str
    requested_due: AwareDatetime
    reason: str
    requested_at: AwareDatetime


class CaseExtensionDecided(EventPayload):
    """The platform granted or refused an extension."""

    event_type = "civicgrid.case.extension_decided"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str
    granted: bool
    resolve_due: AwareDatetime  # the deadline in force after the decision
    reason: str | None = None
    decided_at: AwareDatetime


class EscalationKind(StrEnum):
    ESCALATE = "escalate"  # 上报: hand up to the next tier
    WHISTLE = "whistle"  # 吹哨: a township summons county departments
    AUTOMATIC = "automatic"  # stayed overdue under supervision
    RETURN_LIMIT = "return_limit"  # returned too often: up to the city platform


class CaseEscalated(EventPayload):
    """A case went up a tier, or county departments were summoned (吹哨报到)."""

    event_type = "civicgrid.case.escalated"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    from_unit_id: str | None
    to_unit_ids: list[str]
    to_tier: str
    kind: EscalationKind
    reason: str
    respond_due: AwareDatetime | None = None
    escalated_at: AwareDatetime


class DeadlineKind(StrEnum):
    SIGN_FOR = "sign_for"
    RESOLVE = "resolve"
    RESPOND = "respond"  # summoned departments' response (报到)
    CALLBACK = "callback"


class CaseDeadlineWarning(EventPayload):
    """A deadline is near (预警)."""

    event_type = "civicgrid.case.deadline_warning"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str | None
    deadline: DeadlineKind
    due: AwareDatetime
    warned_at: AwareDatetime


class CaseOverdue(EventPayload):
    """A deadline passed with the work not done (超期)."""

    event_type = "civicgrid.case.overdue"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str | None
    deadline: DeadlineKind
    due: AwareDatetime
    overdue_at: AwareDatetime


class CaseSupervised(EventPayload):
    """The platform is pursuing an overdue case (督办)."""

    event_type = "civicgrid.case.supervised"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str | None
    level: int  # 1 = first notice; higher levels lead to automatic escalation
    supervised_at: AwareDatetime


class CaseResolved(EventPayload):
    """The unit finished handling and fed back the result (办结 / 反馈)."""

    event_type = "civicgrid.case.resolved"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str | None
    result: str
    on_the_spot: bool = False  # 即报即办: closed at grid level
    on_time: bool
    resolved_at: AwareDatetime


class CallbackRequested(EventPayload):
    """A call-back task (回访): ask the citizen whether it is solved and how satisfied."""

    event_type = "civicgrid.case.callback_requested"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    channel: Channel
    contact_phone_masked: str | None
    due: AwareDatetime
    requested_at: AwareDatetime


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    NOT_SATISFIED = "not_satisfied"  # 不满意


class CallbackAnswered(EventPayload):
    """The citizen's answer to the call-back, taken by intake (on the appeals topic)."""

    event_type = "civicgrid.appeal.callback_answered"

    appeal_id: uuid.UUID
    case_id: uuid.UUID | None = None
    solved: bool
    satisfaction: Satisfaction
    comment: str | None = None
    answered_at: AwareDatetime


class CaseCalledBack(EventPayload):
    """Dispatch recorded the call-back result (回访)."""

    event_type = "civicgrid.case.called_back"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str | None
    solved: bool
    satisfaction: Satisfaction
    called_back_at: AwareDatetime


class CaseReopened(EventPayload):
    """Not solved or not satisfied: handled again by the same unit (重办)."""

    event_type = "civicgrid.case.reopened"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str | None
    reopen_count: int
    reason: str
    reopened_at: AwareDatetime


class CaseClosed(EventPayload):
    """Closed and archived (结案归档)."""

    event_type = "civicgrid.case.closed"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    unit_id: str | None
    on_time: bool
    closed_at: AwareDatetime


class CaseHandedOver(EventPayload):
    """Dispatch handed the case to another system: enforcement, mediation, green channel."""

    event_type = "civicgrid.case.handed_over"

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    to: str  # "enforcement" | "mediation" | "green_channel"
    unit_id: str
    matter_code: str
    territory: TerritoryRef
    content: str | None = None
    handed_at: AwareDatetime


class UnitAction(StrEnum):
    SIGN_FOR = "sign_for"
    START = "start"
    RETURN = "return"
    REQUEST_EXTENSION = "request_extension"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    RESPOND = "respond"  # a summoned department reports (报到)


class UnitResponse(EventPayload):
    """A department system's answer on the responses topic (key: case id)."""

    event_type = "civicgrid.unit.response"

    response_id: uuid.UUID
    case_id: uuid.UUID
    unit_id: str
    action: UnitAction
    reason: str | None = Field(default=None, max_length=2000)
    result: str | None = Field(default=None, max_length=5000)
    requested_due: AwareDatetime | None = None
    # With action=escalate: "whistle" summons the county department (吹哨); default escalate.
    escalation_kind: EscalationKind | None = None
    acted_at: AwareDatetime


class EnforcementOutcome(EventPayload):
    """Enforcement's result for a case dispatch handed over (back as its handling result)."""

    event_type = "civicgrid.enforcement.outcome"

    case_id: uuid.UUID  # the dispatch case
    enforcement_case_id: uuid.UUID
    outcome: str  # e.g. "penalised", "warning", "exempted", "not_filed"
    summary: str
    decided_at: AwareDatetime


EVENT_TYPES: dict[str, type[EventPayload]] = {
    model.event_type: model
    for model in (
        AppealReceived, CaseRegistered, CaseRejected, CaseAssigned, CaseMerged, CaseSignedFor,
        CaseStarted, CaseResponded, CaseReturned, CaseExtensionRequested, CaseExtensionDecided,
        CaseEscalated,
        CaseDeadlineWarning, CaseOverdue, CaseSupervised, CaseResolved, CallbackRequested,
        CallbackAnswered, CaseCalledBack, CaseReopened, CaseClosed, CaseHandedOver,
        UnitResponse, EnforcementOutcome,
    )
}

