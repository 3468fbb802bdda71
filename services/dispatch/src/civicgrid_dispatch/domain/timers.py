"""Timer rules (预警, 超期, 督办, automatic escalation), with no I/O.

A deadline is a row that the scheduler looks at when its ``next_at`` has come. What it
then does depends on the deadline's stage and on the case as it is now:

  pending  --(warn_at)-->  warned  --(due_at)-->  overdue: CaseOverdue + CaseSupervised(1)
  overdue  --(due_at + escalate_after)-->  CaseSupervised(2) + automatic escalation

A summons (RESPOND) stops at overdue. A call-back deadline (CALLBACK) closes a case whose
citizen never answered. A deadline whose work is done (signed for, resolved, reassigned)
expires silently: handlers retire deadlines as they go, and this check is the safety net.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from civicgrid_shared.contracts.events import DeadlineKind

from civicgrid_dispatch.domain.case import WORKING_STATES, Case, CaseState


class Stage(StrEnum):
    PENDING = "pending"
    WARNED = "warned"
    OVERDUE = "overdue"
    DONE = "done"  # fired its last step, or its work was done
    CANCELLED = "cancelled"  # retired by a handler (signed for, resolved, reassigned)


ACTIVE_STAGES = frozenset({Stage.PENDING, Stage.WARNED, Stage.OVERDUE})


class Step(StrEnum):
    WARN = "warn"
    OVERDUE = "overdue"  # + supervision level 1 for the unit's own deadlines
    ESCALATE = "escalate"  # supervision level 2 + automatic escalation
    CLOSE_UNANSWERED = "close_unanswered"  # no call-back answer came
    EXPIRE = "expire"  # nothing to do any more
    WAIT = "wait"  # looked at too early (e.g. moved by an extension): look again later


@dataclass(frozen=True)
class Deadline:
    deadline_id: int
    case_id: uuid.UUID
    kind: DeadlineKind
    unit_id: str | None
    due_at: datetime
    warn_at: datetime | None
    stage: Stage = Stage.PENDING


@dataclass(frozen=True)
class Plan:
    step: Step
    stage: Stage  # the deadline's stage after the step
    next_at: datetime | None  # when to look again (None: never, the row is archived)


def is_relevant(deadline: Deadline, case: Case, responded: bool = False) -> bool:
    """Whether the work this deadline watches is still undone by the unit it was set for."""
    if deadline.kind is DeadlineKind.CALLBACK:
        return case.state is CaseState.RESOLVED
    if deadline.kind is DeadlineKind.RESPOND:
        return case.is_open and not responded
    if case.state not in WORKING_STATES or case.unit_id != deadline.unit_id:
        return False
    if deadline.kind is DeadlineKind.SIGN_FOR:
        return case.signed_at is None
    # RESOLVE: an extension moves the deadline; a row for the old one is stale.
    return case.resolve_due == deadline.due_at


def plan(deadline: Deadline, relevant: bool, now: datetime, escalate_after: timedelta) -> Plan:
    """The next step of a deadline whose ``next_at`` has come."""
    if not relevant or deadline.stage not in ACTIVE_STAGES:
        return Plan(Step.EXPIRE, Stage.DONE, None)
    if deadline.kind is DeadlineKind.CALLBACK:
        if now < deadline.due_at:
            return Plan(Step.WAIT, deadline.stage, deadline.due_at)
        return Plan(Step.CLOSE_UNANSWERED, Stage.DONE, None)
    if deadline.stage is Stage.PENDING and now < deadline.due_at:
        if deadline.warn_at is not None and now >= deadline.warn_at:
            return Plan(Step.WARN, Stage.WARNED, deadline.due_at)
        return Plan(Step.WAIT, Stage.PENDING, deadline.warn_at or deadline.due_at)
    if deadline.stage in (Stage.PENDING, Stage.WARNED):
        if now < deadline.due_at:
            return Plan(Step.WAIT, deadline.stage, deadline.due_at)
        if deadline.kind is DeadlineKind.RESPOND:
            return Plan(Step.OVERDUE, Stage.DONE, None)
        return Plan(Step.OVERDUE, Stage.OVERDUE, deadline.due_at + escalate_after)
    # overdue, and still not done after the further period
    if now < deadline.due_at + escalate_after:
        return Plan(Step.WAIT, Stage.OVERDUE, deadline.due_at + escalate_after)
    return Plan(Step.ESCALATE, Stage.DONE, None)


def first_look(due_at: datetime, warn: datetime | None) -> datetime:
    """When the scheduler first looks at a new deadline."""
    return warn if warn is not None and warn < due_at else due_at
