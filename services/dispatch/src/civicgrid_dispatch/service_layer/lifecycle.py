"""The case life cycle after dispatch: the unit's work, the platform's decisions,
call-back and closing, hand-over outcomes and timers.

Every entry point takes the case row with ``SELECT ... FOR UPDATE``, applies the domain
method (which refuses an illegal move with IllegalTransition), stores the case and its
transitions, and emits the events through the unit of work. Consumer entry points do not
commit (the batch consumer does); HTTP entry points are wrapped by the routes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from civicgrid_shared.contracts.envelope import Envelope
from civicgrid_shared.contracts.events import (
    AssignmentReason,
    CallbackAnswered,
    CaseCalledBack,
    CaseClosed,
    CaseDeadlineWarning,
    CaseEscalated,
    CaseExtensionDecided,
    CaseExtensionRequested,
    CaseOverdue,
    CaseReopened,
    CaseResolved,
    CaseResponded,
    CaseReturned,
    CaseSignedFor,
    CaseStarted,
    CaseSupervised,
    DeadlineKind,
    EnforcementOutcome,
    EscalationKind,
    Satisfaction,
    UnitAction,
    UnitResponse,
)
from civicgrid_shared.logs import get_logger
from prometheus_client import Counter

from civicgrid_dispatch.domain.case import (
    FINAL_STATES,
    Case,
    CaseRuleError,
    CaseState,
    IllegalTransition,
)
from civicgrid_dispatch.domain.routing import TOWNSHIP_OFFICE_KIND, plan_dispatch
from civicgrid_dispatch.domain.timers import Deadline, Stage, Step, is_relevant, plan
from civicgrid_dispatch.service_layer.ops import (
    CaseOps,
    Cause,
    NotYourCase,
    UnknownCase,
    UnknownUnit,
)
from civicgrid_dispatch.service_layer.unit_of_work import DispatchUnitOfWork

log = get_logger(__name__)

TRANSITIONS_TOTAL = Counter(
    "civicgrid_dispatch_unit_actions_total", "Unit actions applied, by action and channel.",
    ["action", "via"],
)
TIMER_STEPS = Counter(
    "civicgrid_dispatch_timer_steps_total", "Deadline steps taken by the scheduler.",
    ["kind", "step"],
)
LATE_CALLBACKS = Counter(
    "civicgrid_dispatch_late_callback_answers_total",
    "Call-back answers that came after the case was closed (recorded nowhere).",
)


@dataclass(frozen=True)
class UnitCommand:
    """What a unit asks, from its workbench or its system (the responses topic)."""

    case_id: uuid.UUID
    unit_id: str
    action: UnitAction
    reason: str | None = None
    result: str | None = None
    requested_due: datetime | None = None
    escalation_kind: EscalationKind = EscalationKind.ESCALATE
    acted_at: datetime | None = None


def _required(value: str | None, name: str, action: UnitAction) -> str:
    if value is None or not value.strip():
        raise CaseRuleError(f"{name}: required for {action.value}")
    return value


@dataclass
class Lifecycle(CaseOps):
    # -- loading -------------------------------------------------------------------------

    async def load(self, uow: DispatchUnitOfWork, case_id: uuid.UUID) -> Case:
        case = await uow.cases.get(case_id, lock=True)
        if case is None:
            raise UnknownCase()
        return case

    async def check_access(self, uow: DispatchUnitOfWork, case: Case, unit_id: str,
                           action: UnitAction | None = None) -> None:
        """A unit acts on the cases it leads; a summoned department only responds."""
        if action is UnitAction.RESPOND:
            if not await uow.summons.is_summoned(case.case_id, unit_id):
                raise NotYourCase()
            return
        if case.unit_id != unit_id:
            raise NotYourCase()

    async def can_see(self, uow: DispatchUnitOfWork, case: Case, unit_id: str) -> bool:
        return case.unit_id == unit_id or unit_id in case.cooperating_unit_ids \
            or await uow.summons.is_summoned(case.case_id, unit_id)

    # -- the unit's actions ----------------------------------------------------------------

    async def on_unit_response(self, event: UnitResponse, meta: Envelope,
                               uow: DispatchUnitOfWork) -> None:
        """A department system's answer on the responses topic.

        A response for an unknown case, for another unit's case, with a missing field or
        at the wrong moment raises Rejected: the batch consumer dead-letters it at once,
        with the reason; the case is left as it was. A sign-for of a case already signed
        for is not the wrong moment: it changes nothing (``act``).
        """
        if not await uow.responses.record(event.response_id, event.case_id, event.unit_id,
                                          event.action.value):
            return  # the same response re-sent under a new event id
        await self.act(uow, UnitCommand(
            case_id=event.case_id, unit_id=event.unit_id, action=event.action,
            reason=event.reason, result=event.result, requested_due=event.requested_due,
            escalation_kind=event.escalation_kind or EscalationKind.ESCALATE,
            acted_at=event.acted_at,
        ), Cause.of(meta), via="responses")

    async def act(self, uow: DispatchUnitOfWork, cmd: UnitCommand, cause: Cause | None = None,
                  via: str = "workbench") -> Case:
        case = await self.load(uow, cmd.case_id)
        await self.check_access(uow, case, cmd.unit_id, cmd.action)
        cause = cause or Cause.of_case(case)
        at = self.at(case, cmd.acted_at)
        actor = cmd.unit_id
        match cmd.action:
            case UnitAction.SIGN_FOR:
                if case.signed_at is not None:
                    # Signed for already: by this unit, or on its behalf by the hand-over
                    # to enforcement (whose team's system gets the task too). Asking again
                    # asks for what is true: nothing changes, and it is no error (a dead
                    # letter for it would alarm the operators over a department's routine).
                    log.info("sign-for of a case already signed for: nothing to do",
                             case_id=str(case.case_id), unit_id=actor, via=via)
                    return case
                on_time = case.sign_for(at, actor)
                await uow.deadlines.cancel(case.case_id, [DeadlineKind.SIGN_FOR])
                self.emit_case(uow, case, CaseSignedFor(
                    case_id=case.case_id, appeal_id=case.appeal_id, unit_id=actor,
                    signed_at=at, on_time=on_time), cause)
            case UnitAction.START:
                case.start(at, actor)
                self.emit_case(uow, case, CaseStarted(
                    case_id=case.case_id, appeal_id=case.appeal_id, unit_id=actor,
                    started_at=at), cause)
            case UnitAction.RETURN:
                await self._return(uow, case, _required(cmd.reason, "reason", cmd.action),
                                   at, cause, actor)
            case UnitAction.REQUEST_EXTENSION:
                if cmd.requested_due is None:
                    raise CaseRuleError("requested_due: required for request_extension")
                reason = _required(cmd.reason, "reason", cmd.action)
                case.request_extension(cmd.requested_due, reason, at, actor)
                self.emit_case(uow, case, CaseExtensionRequested(
                    case_id=case.case_id, appeal_id=case.appeal_id, unit_id=actor,
                    requested_due=cmd.requested_due, reason=reason, requested_at=at), cause)
            case UnitAction.ESCALATE:
                reason = _required(cmd.reason, "reason", cmd.action)
                if cmd.escalation_kind is EscalationKind.WHISTLE:
                    await self._whistle(uow, case, reason, at, cause, actor)
                else:
                    if self.units.parent(actor) is None:
                        raise CaseRuleError("unit_id: there is no tier above this unit")
                    await self.escalate_up(uow, case, at, EscalationKind.ESCALATE, reason,
                                           cause, actor)
            case UnitAction.RESOLVE:
                await self._resolve(uow, case, _required(cmd.result, "result", cmd.action),
                                    at, cause, actor)
            case UnitAction.RESPOND:
                respond_due = await uow.summons.respond(case.case_id, actor, at)
                if respond_due is None:
                    raise CaseRuleError("unit_id: this department has already responded")
                await uow.deadlines.cancel(case.case_id, [DeadlineKind.RESPOND], unit_id=actor)
                self.emit_case(uow, case, CaseResponded(
                    case_id=case.case_id, appeal_id=case.appeal_id, unit_id=actor,
                    on_time=at <= respond_due, responded_at=at), cause)
        await uow.cases.save(case)
        TRANSITIONS_TOTAL.labels(cmd.action.value, via).inc()
        return case

    async def _return(self, uow: DispatchUnitOfWork, case: Case, reason: str, at: datetime,
                      cause: Cause, actor: str) -> None:
        """退单, then re-dispatch by the rules without the units that returned it; nobody
        left, or returned too often: the city platform."""
        case.return_(reason, at, actor)
        await uow.deadlines.cancel(case.case_id, [DeadlineKind.SIGN_FOR, DeadlineKind.RESOLVE])
        self.emit_case(uow, case, CaseReturned(
            case_id=case.case_id, appeal_id=case.appeal_id, unit_id=actor, reason=reason,
            return_count=case.return_count, returned_at=at), cause)
        if case.return_count >= self.policy.max_returns:
            await self.escalate_up(uow, case, at, EscalationKind.RETURN_LIMIT,
                                   f"returned {case.return_count} times", cause, "platform")
            return
        lead_plan = plan_dispatch(self.rule_of(case), case.territory, self.units,
                                  exclude=frozenset(case.returned_by))
        if lead_plan.lead.unit_id == self.units.city_platform:
            case.hold_at_platform(self.units.city_platform)
            return
        await self.assign_to(uow, case, lead_plan.lead.unit_id, lead_plan.lead.tier, at,
                             AssignmentReason.REDISPATCH, cause, lead_plan.cooperating,
                             actor="platform")

    async def _whistle(self, uow: DispatchUnitOfWork, case: Case, reason: str, at: datetime,
                       cause: Cause, actor: str) -> None:
        """吹哨报到: a township office summons the county department owning the matter,
        which must respond in time. The township stays the lead unit."""
        if self.units.kind(actor) != TOWNSHIP_OFFICE_KIND:
            raise CaseRuleError("unit_id: only a township office can blow the whistle")
        if case.signed_at is None or case.state not in (
                CaseState.SIGNED_FOR, CaseState.IN_PROGRESS, CaseState.EXTENSION_REQUESTED,
                CaseState.SUPERVISED):
            raise IllegalTransition(case.state, CaseState.ESCALATED,
                                    "sign for the case before summoning departments")
        rule = self.rule_of(case)
        county = case.territory.county_code
        dept = self.units.find(rule.department_kind, county) if county else None
        if dept is None or dept == actor:
            raise CaseRuleError("reason: no county department owns this matter here")
        respond_due = at + self.policy.respond_window
        await uow.summons.add(case.case_id, dept, at, respond_due)
        await uow.deadlines.cancel(case.case_id, [DeadlineKind.RESPOND], unit_id=dept)
        await self.schedule(uow, case, DeadlineKind.RESPOND, dept, at, respond_due)
        if dept not in case.cooperating_unit_ids:
            case.cooperating_unit_ids.append(dept)
        self.emit_case(uow, case, CaseEscalated(
            case_id=case.case_id, appeal_id=case.appeal_id, from_unit_id=actor,
            to_unit_ids=[dept], to_tier="county", kind=EscalationKind.WHISTLE, reason=reason,
            respond_due=respond_due, escalated_at=at), cause, units=[actor, dept])

    async def _resolve(self, uow: DispatchUnitOfWork, case: Case, result: str, at: datetime,
                       cause: Cause, actor: str | None) -> None:
        on_time = case.resolve(result, at, actor)
        await uow.deadlines.cancel(case.case_id, [DeadlineKind.SIGN_FOR, DeadlineKind.RESOLVE,
                                                  DeadlineKind.RESPOND])
        self.emit_case(uow, case, CaseResolved(
            case_id=case.case_id, appeal_id=case.appeal_id, unit_id=case.unit_id,
            result=result, on_time=on_time, resolved_at=at), cause)
        await self.request_callback(uow, case, at, cause)

    # -- the platform's decisions ------------------------------------------------------------

    async def manual_assign(self, uow: DispatchUnitOfWork, case_id: uuid.UUID, unit_id: str,
                            actor: str) -> Case:
        """派遣 by a city-platform operator, of a case the platform holds."""
        tier = self.units.tier(unit_id)
        if tier is None:
            raise UnknownUnit()
        case = await self.load(uow, case_id)
        held = case.unit_id == self.units.city_platform
        if not held or case.state not in (CaseState.ASSIGNED, CaseState.RETURNED,
                                          CaseState.ESCALATED):
            raise IllegalTransition(case.state, CaseState.ASSIGNED,
                                    "only a case in the platform's queue is dispatched by hand")
        await self.assign_to(uow, case, unit_id, tier, self.at(case), AssignmentReason.MANUAL,
                             Cause.of_case(case), actor=actor)
        await uow.cases.save(case)
        return case

    async def decide_extension(self, uow: DispatchUnitOfWork, case_id: uuid.UUID,
                               granted: bool, reason: str | None, actor: str) -> Case:
        case = await self.load(uow, case_id)
        at = self.at(case)
        due = case.decide_extension(granted, at, reason, actor)
        if granted:
            await uow.deadlines.cancel(case.case_id, [DeadlineKind.RESOLVE])
            await self.schedule(uow, case, DeadlineKind.RESOLVE, case.unit_id, at, due)
        self.emit_case(uow, case, CaseExtensionDecided(
            case_id=case.case_id, appeal_id=case.appeal_id, unit_id=case.unit_id or "",
            granted=granted, resolve_due=due, reason=reason, decided_at=at),
            Cause.of_case(case))
        await uow.cases.save(case)
        return case

    # -- call-back --------------------------------------------------------------------------

    async def on_callback_answered(self, event: CallbackAnswered, meta: Envelope,
                                   uow: DispatchUnitOfWork) -> None:
        """Solved and satisfied: closed. Otherwise reopened to the same unit, and after
        too many reopens escalated to the unit above."""
        case_id = event.case_id or await uow.cases.case_id_for_appeal(event.appeal_id)
        if case_id is None:
            raise UnknownCase()
        case = await self.load(uow, case_id)
        if case.state is CaseState.CLOSED:
            LATE_CALLBACKS.inc()
            log.info("call-back answer after the case was closed", case_id=str(case.case_id))
            return
        cause = Cause.of(meta)
        at = self.at(case, event.answered_at)
        case.called_back(event.solved, event.satisfaction, at)
        await uow.deadlines.cancel(case.case_id, [DeadlineKind.CALLBACK])
        self.emit_case(uow, case, CaseCalledBack(
            case_id=case.case_id, appeal_id=case.appeal_id, unit_id=case.unit_id,
            solved=event.solved, satisfaction=event.satisfaction, called_back_at=at), cause)
        satisfied = event.satisfaction is Satisfaction.SATISFIED or (
            event.satisfaction is Satisfaction.BASICALLY_SATISFIED
            and self.policy.basically_satisfied_counts)
        if event.solved and satisfied:
            on_time = case.close(at, "call-back: solved and satisfied")
            self.emit_case(uow, case, CaseClosed(
                case_id=case.case_id, appeal_id=case.appeal_id, unit_id=case.unit_id,
                on_time=on_time, closed_at=at), cause)
        else:
            reason = "not solved" if not event.solved else f"citizen {event.satisfaction.value}"
            await self._reopen(uow, case, reason, at, cause)
        await uow.cases.save(case)

    async def _reopen(self, uow: DispatchUnitOfWork, case: Case, reason: str, at: datetime,
                      cause: Cause) -> None:
        unit, tier = case.unit_id, case.tier
        case.reopen(reason, at)
        self.emit_case(uow, case, CaseReopened(
            case_id=case.case_id, appeal_id=case.appeal_id, unit_id=unit,
            reopen_count=case.reopen_count, reason=reason, reopened_at=at), cause)
        if case.reopen_count > self.policy.max_reopens or unit is None or tier is None:
            await self.escalate_up(uow, case, at, EscalationKind.ESCALATE,
                                   f"reopened {case.reopen_count} times", cause, "platform")
            return
        await self.assign_to(uow, case, unit, tier, at, AssignmentReason.REOPEN, cause,
                             case.cooperating_unit_ids, actor="platform")

    # -- hand-over outcomes -----------------------------------------------------------------

    async def on_enforcement_outcome(self, event: EnforcementOutcome, meta: Envelope,
                                     uow: DispatchUnitOfWork) -> None:
        """Enforcement's decision is the handling result of the case handed to it."""
        case = await self.load(uow, event.case_id)
        cause = Cause.of(meta)
        if case.resolved_at is not None or case.state in FINAL_STATES:
            # The unit fed a result back itself before the decision came: it stands, and
            # the decision is on record in enforcement. Not an error to dead-letter.
            log.info("enforcement outcome for a case already resolved; kept its result",
                     case_id=str(case.case_id), state=case.state.value)
            return
        at = self.at(case, event.decided_at)
        if case.state in (CaseState.ASSIGNED, CaseState.SUPERVISED) and case.signed_at is None:
            case.sign_for(at, "enforcement", reason="implicit: enforcement outcome")
            await uow.deadlines.cancel(case.case_id, [DeadlineKind.SIGN_FOR])
        await self._resolve(uow, case, event.summary, at, cause, "enforcement")
        await uow.cases.save(case)

    # -- timers ---------------------------------------------------------------------------

    async def on_deadline(self, uow: DispatchUnitOfWork, deadline: Deadline,
                          now: datetime) -> Step:
        """Apply the rules to a deadline whose time has come (its row is locked)."""
        # The scheduler holds deadline rows: it must never wait for a case row that a
        # handler holds (the handler may be waiting for one of those deadline rows).
        # A busy case is simply looked at again at the next round.
        case = await uow.cases.get(deadline.case_id, lock=True, skip_locked=True)
        if case is None:
            if await uow.cases.exists(deadline.case_id):
                return Step.WAIT
            await uow.deadlines.move(deadline.deadline_id, Stage.DONE, None)
            return Step.EXPIRE
        responded = deadline.kind is DeadlineKind.RESPOND and deadline.unit_id is not None \
            and not await uow.summons.pending(case.case_id, deadline.unit_id)
        step = plan(deadline, is_relevant(deadline, case, responded), now,
                    self.policy.escalate_after)
        cause = Cause.of_case(case)
        unit = deadline.unit_id
        match step.step:
            case Step.WARN:
                self.emit_case(uow, case, CaseDeadlineWarning(
                    case_id=case.case_id, appeal_id=case.appeal_id, unit_id=unit,
                    deadline=deadline.kind, due=deadline.due_at, warned_at=now),
                    cause, units=[unit])
            case Step.OVERDUE:
                self.emit_case(uow, case, CaseOverdue(
                    case_id=case.case_id, appeal_id=case.appeal_id, unit_id=unit,
                    deadline=deadline.kind, due=deadline.due_at, overdue_at=now),
                    cause, units=[unit])
                if deadline.kind is not DeadlineKind.RESPOND:
                    self._supervise(uow, case, 1, now, cause)
            case Step.ESCALATE:
                self._supervise(uow, case, 2, now, cause)
                if case.unit_id != self.units.city_platform:
                    await self.escalate_up(
                        uow, case, now, EscalationKind.AUTOMATIC,
                        f"{deadline.kind.value} overdue under supervision", cause, "platform")
            case Step.CLOSE_UNANSWERED:
                on_time = case.close(now, "no call-back answer by the deadline", "platform")
                self.emit_case(uow, case, CaseClosed(
                    case_id=case.case_id, appeal_id=case.appeal_id, unit_id=case.unit_id,
                    on_time=on_time, closed_at=now), cause)
            case Step.EXPIRE | Step.WAIT:
                pass
        await uow.deadlines.move(deadline.deadline_id, step.stage, step.next_at)
        await uow.cases.save(case)
        TIMER_STEPS.labels(deadline.kind.value, step.step.value).inc()
        return step.step

    def _supervise(self, uow: DispatchUnitOfWork, case: Case, level: int, at: datetime,
                   cause: Cause) -> None:
        case.supervise(level, at, "platform")
        self.emit_case(uow, case, CaseSupervised(
            case_id=case.case_id, appeal_id=case.appeal_id, unit_id=case.unit_id, level=level,
            supervised_at=at), cause)

