"""What every dispatch handler shares: emitting a case's events, assigning with deadlines.

Handlers never publish. ``emit_case`` queues an event in the unit of work for the cases
topic (key: case id) and, as a task update, for the task topic of each unit concerned
(the lead unit by default). Historical and on-the-spot cases have no task topic: nobody
is asked to do anything about them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from civicgrid_shared.contracts.envelope import Envelope, EventPayload
from civicgrid_shared.contracts.events import (
    AssignmentReason,
    CallbackRequested,
    CaseAssigned,
    CaseEscalated,
    DeadlineKind,
    EscalationKind,
)
from civicgrid_shared.contracts.topics import CASES, task_topic
from civicgrid_shared.errors import Rejected

from civicgrid_dispatch.domain.case import Case
from civicgrid_dispatch.domain.deadlines import scaled_due, warn_at
from civicgrid_dispatch.domain.policy import Policy
from civicgrid_dispatch.domain.routing import MatterRule, UnitFinder
from civicgrid_dispatch.domain.timers import first_look
from civicgrid_dispatch.service_layer.unit_of_work import DispatchUnitOfWork


class UnknownCase(Rejected):
    def __init__(self) -> None:
        super().__init__("case_id: no such case")


class NotYourCase(Rejected):
    def __init__(self) -> None:
        super().__init__("unit_id: the case is not assigned to this unit")


class UnknownUnit(Rejected):
    def __init__(self) -> None:
        super().__init__("unit_id: no such unit")


class MatterLookup(Protocol):
    def rule(self, code: str) -> MatterRule | None: ...

    def unclassified(self) -> MatterRule: ...

    def is_unpaid_wages(self, code: str) -> bool: ...


class UnitDirectory(UnitFinder, Protocol):
    def exists(self, unit_id: str) -> bool: ...

    def tier(self, unit_id: str) -> str | None: ...

    def kind(self, unit_id: str) -> str | None: ...

    def parent(self, unit_id: str) -> tuple[str, str] | None: ...


@dataclass(frozen=True)
class Cause:
    """Why events are emitted: the correlation of the appeal, and the event that caused
    them (None for an HTTP call or a timer)."""

    correlation_id: uuid.UUID | None
    causation_id: uuid.UUID | None = None

    @classmethod
    def of(cls, meta: Envelope) -> Cause:
        return cls(meta.correlation_id, meta.id)

    @classmethod
    def of_case(cls, case: Case) -> Cause:
        return cls(case.correlation_id, None)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class CaseOps:
    matters: MatterLookup
    units: UnitDirectory
    policy: Policy = field(default_factory=Policy)
    clock: Callable[[], datetime] = _utcnow

    # -- events ------------------------------------------------------------------------

    def emit_case(self, uow: DispatchUnitOfWork, case: Case, payload: EventPayload,
                  cause: Cause, units: Iterable[str | None] | None = None) -> None:
        key = str(case.case_id)
        correlation = cause.correlation_id or case.correlation_id
        uow.emit(payload, topic=CASES.name, key=key, correlation_id=correlation,
                 causation_id=cause.causation_id)
        if case.historical or case.on_the_spot:
            return
        for unit in dict.fromkeys(units if units is not None else (case.unit_id,)):
            if unit:
                uow.emit(payload, topic=task_topic(unit).name, key=key,
                         correlation_id=correlation, causation_id=cause.causation_id)

    # -- time --------------------------------------------------------------------------

    def at(self, case: Case, reported: datetime | None = None) -> datetime:
        """When an action happened: as reported, but never in the future and never before
        the case's last change (a clock that runs behind cannot reorder a case)."""
        now = self.clock()
        t = min(reported, now) if reported is not None else now
        return max(t, case.last_change_at)

    def rule_of(self, case: Case) -> MatterRule:
        return self.matters.rule(case.matter_code) or self.matters.unclassified()

    def limits(self, case: Case, start: datetime) -> tuple[datetime, datetime]:
        """Sign-for and resolve deadlines of a case assigned at ``start``."""
        rule = self.rule_of(case)
        sign_for_hours = rule.sign_for_hours
        if case.priority == "emergency" and rule.priority != "emergency":
            sign_for_hours = min(sign_for_hours, self.policy.green_channel_sign_for_hours)
        scale = self.policy.time_scale
        return (scaled_due(start, sign_for_hours, "hours", scale),
                scaled_due(start, rule.resolve_amount, rule.resolve_unit, scale))

    async def schedule(self, uow: DispatchUnitOfWork, case: Case, kind: DeadlineKind,
                       unit_id: str | None, start: datetime, due_at: datetime,
                       warn: bool = True) -> None:
        if case.historical:
            return
        w = warn_at(start, due_at, self.policy.warn_fraction) if warn else None
        await uow.deadlines.schedule(case.case_id, kind, unit_id, due_at, w,
                                     first_look(due_at, w))

    # -- assignment ----------------------------------------------------------------------

    async def assign_to(self, uow: DispatchUnitOfWork, case: Case, unit_id: str, tier: str,
                        at: datetime, reason: AssignmentReason, cause: Cause,
                        cooperating: Sequence[str] = (), actor: str | None = None) -> None:
        """Assign (派遣) with fresh deadlines, and tell the unit on its task topic."""
        sign_for_due, resolve_due = self.limits(case, at)
        await uow.deadlines.cancel(case.case_id, [DeadlineKind.SIGN_FOR, DeadlineKind.RESOLVE])
        case.assign(unit_id, tier, sign_for_due, resolve_due, at, cooperating,
                    reason=reason.value, actor=actor)
        await self.schedule(uow, case, DeadlineKind.SIGN_FOR, unit_id, at, sign_for_due)
        await self.schedule(uow, case, DeadlineKind.RESOLVE, unit_id, at, resolve_due)
        self.emit_case(uow, case, CaseAssigned(
            case_id=case.case_id, appeal_id=case.appeal_id, case_number=case.case_number,
            unit_id=unit_id, tier=tier, sign_for_due=sign_for_due, resolve_due=resolve_due,
            assigned_at=at, reason=reason, cooperating_unit_ids=case.cooperating_unit_ids,
            matter_code=case.matter_code, priority=case.priority, title=case.title,
            content=case.content, territory=case.territory,
            contact_phone_masked=case.contact_phone_masked,
        ), cause, units=[unit_id, *case.cooperating_unit_ids])

    async def escalate_up(self, uow: DispatchUnitOfWork, case: Case, at: datetime,
                          kind: EscalationKind, reason: str, cause: Cause,
                          actor: str | None = None) -> None:
        """Hand the case to the unit above its unit (the city platform's queue at the top)."""
        from_unit = case.unit_id
        target = self.units.parent(from_unit) if from_unit else None
        if kind is EscalationKind.RETURN_LIMIT or target is None:
            target = (self.units.city_platform, "city")
        case.escalate(at, f"{kind.value}: {reason}", actor)
        await uow.deadlines.cancel(case.case_id, [DeadlineKind.SIGN_FOR, DeadlineKind.RESOLVE])
        self.emit_case(uow, case, CaseEscalated(
            case_id=case.case_id, appeal_id=case.appeal_id, from_unit_id=from_unit,
            to_unit_ids=[target[0]], to_tier=target[1], kind=kind, reason=reason,
            escalated_at=at,
        ), cause, units=[from_unit, target[0]])
        if target[0] == self.units.city_platform:
            case.hold_at_platform(target[0])
        else:
            await self.assign_to(uow, case, target[0], target[1], at,
                                 AssignmentReason.ESCALATION, cause, actor=actor)

    async def request_callback(self, uow: DispatchUnitOfWork, case: Case, at: datetime,
                               cause: Cause) -> None:
        """回访: ask the citizen, within a few working days."""
        due = scaled_due(at, self.policy.callback_working_days, "working_days",
                         self.policy.time_scale)
        case.request_callback(due)
        await self.schedule(uow, case, DeadlineKind.CALLBACK, None, at, due, warn=False)
        self.emit_case(uow, case, CallbackRequested(
            case_id=case.case_id, appeal_id=case.appeal_id, channel=case.channel,
            contact_phone_masked=case.contact_phone_masked, due=due, requested_at=at), cause)
