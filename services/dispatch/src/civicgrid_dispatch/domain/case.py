"""The case (案件) and its life cycle: a state machine with no I/O.

States follow docs/domain.md: received → registered | rejected | merged → assigned →
signed for → in progress → resolved → called back → closed, with returned, extension
requested, escalated, supervised and reopened along the way. Any move not in
TRANSITIONS is refused with IllegalTransition.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from civicgrid_shared.contracts.events import Channel, TerritoryRef
from civicgrid_shared.errors import SafeError


class CaseState(StrEnum):
    RECEIVED = "received"
    REGISTERED = "registered"  # 立案
    REJECTED = "rejected"  # 不予立案
    MERGED = "merged"  # merged as a duplicate into another case
    ASSIGNED = "assigned"  # 派遣
    SIGNED_FOR = "signed_for"  # 签收
    IN_PROGRESS = "in_progress"  # 处置中
    RETURNED = "returned"  # 退单
    EXTENSION_REQUESTED = "extension_requested"  # 延期申请
    ESCALATED = "escalated"  # 上报 / 吹哨
    SUPERVISED = "supervised"  # 督办
    RESOLVED = "resolved"  # 办结
    CALLED_BACK = "called_back"  # 回访
    CLOSED = "closed"  # 结案归档
    REOPENED = "reopened"  # 重办


S = CaseState
_WORKING = (S.ASSIGNED, S.SIGNED_FOR, S.IN_PROGRESS, S.EXTENSION_REQUESTED, S.SUPERVISED)

TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    S.RECEIVED: frozenset({S.REGISTERED, S.REJECTED, S.MERGED}),
    S.REGISTERED: frozenset({S.ASSIGNED, S.RESOLVED}),  # resolved on the spot at grid level
    S.ASSIGNED: frozenset({S.SIGNED_FOR, S.RETURNED, S.ESCALATED, S.SUPERVISED}),
    S.SIGNED_FOR: frozenset({S.IN_PROGRESS, S.RETURNED, S.EXTENSION_REQUESTED, S.ESCALATED,
                             S.SUPERVISED, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.EXTENSION_REQUESTED, S.ESCALATED, S.SUPERVISED, S.RESOLVED,
                              S.RETURNED}),
    S.EXTENSION_REQUESTED: frozenset({S.IN_PROGRESS, S.SUPERVISED, S.ESCALATED, S.RESOLVED}),
    S.SUPERVISED: frozenset({S.SIGNED_FOR, S.IN_PROGRESS, S.ESCALATED, S.RESOLVED,
                             S.EXTENSION_REQUESTED, S.RETURNED}),
    S.RETURNED: frozenset({S.ASSIGNED, S.ESCALATED}),
    S.ESCALATED: frozenset({S.ASSIGNED}),
    S.RESOLVED: frozenset({S.CALLED_BACK, S.CLOSED}),  # closed without call-back if declined
    S.CALLED_BACK: frozenset({S.CLOSED, S.REOPENED}),
    S.REOPENED: frozenset({S.ASSIGNED, S.ESCALATED}),
    S.REJECTED: frozenset(),
    S.MERGED: frozenset(),
    S.CLOSED: frozenset(),
}

OPEN_STATES = frozenset(_WORKING) | {S.REGISTERED, S.RETURNED, S.ESCALATED, S.REOPENED}


class IllegalTransition(SafeError):
    def __init__(self, current: CaseState, target: CaseState) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
        super().__init__(f"a case that is {current} cannot become {target}; allowed: {allowed}")
        self.current = current
        self.target = target


@dataclass(frozen=True)
class Transition:
    from_state: CaseState
    to_state: CaseState
    at: datetime
    reason: str | None = None


@dataclass
class Case:
    case_id: uuid.UUID
    appeal_id: uuid.UUID
    case_number: str
    channel: Channel
    matter_code: str
    category_code: str
    priority: str
    territory: TerritoryRef
    received_at: datetime
    state: CaseState = CaseState.RECEIVED
    unit_id: str | None = None
    tier: str | None = None
    registered_at: datetime | None = None
    assigned_at: datetime | None = None
    sign_for_due: datetime | None = None
    resolve_due: datetime | None = None
    transitions: list[Transition] = field(default_factory=list)

    def _move(self, target: CaseState, at: datetime, reason: str | None = None) -> None:
        if target not in TRANSITIONS[self.state]:
            raise IllegalTransition(self.state, target)
        self.transitions.append(Transition(self.state, target, at, reason))
        self.state = target

    def register(self, at: datetime) -> None:
        self._move(CaseState.REGISTERED, at)
        self.registered_at = at

    def assign(self, unit_id: str, tier: str, sign_for_due: datetime, resolve_due: datetime,
               at: datetime) -> None:
        self._move(CaseState.ASSIGNED, at)
        self.unit_id = unit_id
        self.tier = tier
        self.assigned_at = at
        self.sign_for_due = sign_for_due
        self.resolve_due = resolve_due

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES
