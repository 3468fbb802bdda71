"""The case (案件) and its life cycle: a state machine with no I/O.

States follow docs/domain.md: received → registered | rejected | merged → assigned →
signed for → in progress → resolved → called back → closed, with returned, extension
requested, escalated, supervised and reopened along the way. Any move not in
TRANSITIONS is refused with IllegalTransition.

Some states are passed through in one step: a returned case is re-dispatched at once
(returned → assigned) unless nobody else can take it, an escalated case is assigned to
the unit above (escalated → assigned), a reopened case goes back to its unit
(reopened → assigned). A returned or escalated case whose unit is the city platform
waits in the platform's manual queue.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from civicgrid_shared.contracts.events import Channel, Satisfaction, TerritoryRef
from civicgrid_shared.errors import Rejected


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
    # assigned → assigned: the city platform dispatches a case it holds by hand.
    S.ASSIGNED: frozenset({S.SIGNED_FOR, S.RETURNED, S.ESCALATED, S.SUPERVISED, S.ASSIGNED}),
    S.SIGNED_FOR: frozenset({S.IN_PROGRESS, S.RETURNED, S.EXTENSION_REQUESTED, S.ESCALATED,
                             S.SUPERVISED, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.EXTENSION_REQUESTED, S.ESCALATED, S.SUPERVISED, S.RESOLVED,
                              S.RETURNED}),
    S.EXTENSION_REQUESTED: frozenset({S.IN_PROGRESS, S.SUPERVISED, S.ESCALATED, S.RESOLVED}),
    S.SUPERVISED: frozenset({S.SIGNED_FOR, S.IN_PROGRESS, S.ESCALATED, S.RESOLVED,
                             S.EXTENSION_REQUESTED, S.RETURNED}),
    S.RETURNED: frozenset({S.ASSIGNED, S.ESCALATED}),
    S.ESCALATED: frozenset({S.ASSIGNED}),
    S.RESOLVED: frozenset({S.CALLED_BACK, S.CLOSED}),  # closed without call-back if unanswered
    S.CALLED_BACK: frozenset({S.CLOSED, S.REOPENED}),
    S.REOPENED: frozenset({S.ASSIGNED, S.ESCALATED}),
    S.REJECTED: frozenset(),
    S.MERGED: frozenset(),
    S.CLOSED: frozenset(),
}

OPEN_STATES = frozenset(_WORKING) | {S.REGISTERED, S.RETURNED, S.ESCALATED, S.REOPENED}
WORKING_STATES = frozenset(_WORKING)
# Where a unit (not the platform) is handling the case: its deadlines run.
FINAL_STATES = frozenset({S.CLOSED, S.REJECTED, S.MERGED})
# Satisfaction answers that count as satisfied (基本满意 is configurable in the policy).
SATISFIED = frozenset({Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED})


class IllegalTransition(Rejected):
    def __init__(self, current: CaseState, target: CaseState, why: str = "") -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
        detail = f" ({why})" if why else ""
        super().__init__(
            f"a case that is {current} cannot become {target}{detail}; allowed: {allowed}")
        self.current = current
        self.target = target


class CaseRuleError(Rejected):
    """A request that breaks a rule of the case (a bad value, not a bad moment)."""


@dataclass(frozen=True)
class Transition:
    from_state: CaseState
    to_state: CaseState
    at: datetime
    reason: str | None = None
    actor: str | None = None


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
    cooperating_unit_ids: list[str] = field(default_factory=list)
    signed_at: datetime | None = None
    started_at: datetime | None = None
    requested_due: datetime | None = None  # a pending extension request
    resolved_at: datetime | None = None
    result: str | None = None
    on_the_spot: bool = False
    callback_due: datetime | None = None
    called_back_at: datetime | None = None
    solved: bool | None = None
    satisfaction: Satisfaction | None = None
    closed_at: datetime | None = None
    return_count: int = 0
    returned_by: list[str] = field(default_factory=list)
    reopen_count: int = 0
    supervision_level: int = 0
    historical: bool = False
    # What the unit needs to handle the case: the appeal's text and masked contact only.
    title: str | None = None
    content: str | None = None
    contact_phone_masked: str | None = None
    correlation_id: uuid.UUID | None = None
    # Transitions made in memory (a loaded case starts with none: they are stored).
    transitions: list[Transition] = field(default_factory=list)
    # How many of ``transitions`` are stored, and how many the case has in storage.
    saved_transitions: int = 0
    stored_seq: int = 0

    # -- the table ---------------------------------------------------------------------

    def _move(self, target: CaseState, at: datetime, reason: str | None = None,
              actor: str | None = None) -> None:
        if target not in TRANSITIONS[self.state]:
            raise IllegalTransition(self.state, target)
        self.transitions.append(Transition(self.state, target, at, reason, actor))
        self.state = target

    def can(self, target: CaseState) -> bool:
        return target in TRANSITIONS[self.state]

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def new_transitions(self) -> list[Transition]:
        return self.transitions[self.saved_transitions:]

    # -- registration and dispatch -----------------------------------------------------

    def register(self, at: datetime) -> None:
        self._move(CaseState.REGISTERED, at)
        self.registered_at = at

    def assign(self, unit_id: str, tier: str, sign_for_due: datetime, resolve_due: datetime,
               at: datetime, cooperating: Sequence[str] = (), reason: str | None = None,
               actor: str | None = None) -> None:
        self._move(CaseState.ASSIGNED, at, reason, actor)
        self.unit_id = unit_id
        self.tier = tier
        self.assigned_at = at
        self.sign_for_due = sign_for_due
        self.resolve_due = resolve_due
        self.cooperating_unit_ids = [u for u in dict.fromkeys(cooperating) if u != unit_id]
        self.signed_at = None
        self.started_at = None
        self.requested_due = None
        self.supervision_level = 0

    def resolve_on_the_spot(self, unit_id: str, tier: str, result: str, at: datetime) -> None:
        """即报即办: a grid worker solved it when reporting it; closed at grid level."""
        self._move(CaseState.RESOLVED, at, "resolved on the spot", unit_id)
        self.unit_id = unit_id
        self.tier = tier
        self.assigned_at = at
        self.signed_at = at
        self.resolved_at = at
        self.result = result
        self.on_the_spot = True

    # -- the unit's work -----------------------------------------------------------------

    def sign_for(self, at: datetime, actor: str | None = None, reason: str | None = None
                 ) -> bool:
        """签收; returns whether it was on time."""
        if self.signed_at is not None:
            raise IllegalTransition(self.state, CaseState.SIGNED_FOR, "already signed for")
        self._move(CaseState.SIGNED_FOR, at, reason, actor)
        self.signed_at = at
        return self.sign_for_due is None or at <= self.sign_for_due

    def start(self, at: datetime, actor: str | None = None) -> None:
        if self.signed_at is None:
            raise IllegalTransition(self.state, CaseState.IN_PROGRESS, "sign for it first")
        self._move(CaseState.IN_PROGRESS, at, None, actor)
        self.started_at = at

    def return_(self, reason: str, at: datetime, actor: str | None = None) -> None:
        """退单: the unit says the case is not its own; the platform re-dispatches it."""
        if not reason.strip():
            raise CaseRuleError("reason: a return needs a reason")
        self._move(CaseState.RETURNED, at, reason, actor)
        self.return_count += 1
        if self.unit_id is not None and self.unit_id not in self.returned_by:
            self.returned_by.append(self.unit_id)
        self.signed_at = None
        self.requested_due = None

    def request_extension(self, requested_due: datetime, reason: str, at: datetime,
                          actor: str | None = None) -> None:
        if self.signed_at is None:
            raise IllegalTransition(self.state, CaseState.EXTENSION_REQUESTED, "sign for it first")
        if not reason.strip():
            raise CaseRuleError("reason: an extension request needs a reason")
        if self.resolve_due is not None and requested_due <= self.resolve_due:
            raise CaseRuleError("requested_due: must be later than the deadline in force")
        self._move(CaseState.EXTENSION_REQUESTED, at, reason, actor)
        self.requested_due = requested_due

    def decide_extension(self, granted: bool, at: datetime, reason: str | None = None,
                         actor: str | None = None) -> datetime:
        """The platform's decision; returns the resolve deadline in force after it."""
        if self.requested_due is None or self.state not in (
                CaseState.EXTENSION_REQUESTED, CaseState.SUPERVISED):
            raise IllegalTransition(self.state, CaseState.IN_PROGRESS,
                                    "no extension request is pending")
        self._move(CaseState.IN_PROGRESS, at,
                   ("extension granted" if granted else "extension refused")
                   + (f": {reason}" if reason else ""), actor)
        if granted:
            self.resolve_due = self.requested_due
            self.supervision_level = 0
        self.requested_due = None
        assert self.resolve_due is not None
        return self.resolve_due

    def escalate(self, at: datetime, reason: str, actor: str | None = None) -> None:
        """Up a tier (上报, automatic or after too many returns); an assignment follows."""
        self._move(CaseState.ESCALATED, at, reason, actor)
        self.signed_at = None
        self.requested_due = None

    def hold_at_platform(self, platform_id: str) -> None:
        """A returned or escalated case nobody else can take waits for manual dispatch."""
        if self.state not in (CaseState.RETURNED, CaseState.ESCALATED):
            raise IllegalTransition(self.state, CaseState.ASSIGNED, "not waiting for dispatch")
        self.unit_id = platform_id
        self.tier = "city"
        self.cooperating_unit_ids = []
        self.sign_for_due = None
        self.resolve_due = None

    @property
    def last_change_at(self) -> datetime:
        """The latest moment the case is known to have changed."""
        times = [t for t in (self.received_at, self.registered_at, self.assigned_at,
                             self.signed_at, self.started_at, self.resolved_at,
                             self.called_back_at, self.closed_at) if t is not None]
        times += [t.at for t in self.transitions]
        return max(times)

    def supervise(self, level: int, at: datetime, actor: str | None = None) -> None:
        """督办 of an overdue case. A supervised case stays supervised at a higher level."""
        if self.state is not CaseState.SUPERVISED:
            self._move(CaseState.SUPERVISED, at, f"supervision level {level}", actor)
        self.supervision_level = max(self.supervision_level, level)

    def resolve(self, result: str, at: datetime, actor: str | None = None) -> bool:
        """办结 with the result fed back; returns whether it was on time."""
        if self.signed_at is None:
            raise IllegalTransition(self.state, CaseState.RESOLVED, "sign for it first")
        if not result.strip():
            raise CaseRuleError("result: resolving needs the result")
        self._move(CaseState.RESOLVED, at, None, actor)
        self.resolved_at = at
        self.result = result
        self.requested_due = None
        return self.resolved_on_time

    @property
    def resolved_on_time(self) -> bool:
        if self.resolved_at is None:
            return False
        return self.resolve_due is None or self.resolved_at <= self.resolve_due

    # -- call-back and closing -----------------------------------------------------------

    def request_callback(self, due: datetime) -> None:
        if self.state is not CaseState.RESOLVED:
            raise IllegalTransition(self.state, CaseState.CALLED_BACK, "not resolved")
        self.callback_due = due

    def called_back(self, solved: bool, satisfaction: Satisfaction, at: datetime) -> None:
        self._move(CaseState.CALLED_BACK, at, f"solved={solved} satisfaction={satisfaction}",
                   "citizen")
        self.called_back_at = at
        self.solved = solved
        self.satisfaction = satisfaction

    def close(self, at: datetime, reason: str | None = None, actor: str | None = None) -> bool:
        """结案归档; returns whether the case was resolved within its time limit."""
        self._move(CaseState.CLOSED, at, reason, actor)
        self.closed_at = at
        self.callback_due = None
        return self.resolved_on_time

    def reopen(self, reason: str, at: datetime) -> None:
        """重办: not solved or not satisfied; handled again."""
        self._move(CaseState.REOPENED, at, reason, "citizen")
        self.reopen_count += 1
        self.callback_due = None
        self.resolved_at = None
        self.signed_at = None
