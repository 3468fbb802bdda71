"""Registration (立案) and dispatch (派遣) of received appeals.

In order of precedence an appeal is:
- historical (imported): registered and replayed with its original times, no timers;
- a duplicate of an open case: merged into it (CaseMerged), nobody is sent it again;
- resolved on the spot by a grid worker: registered, assigned to the grid, resolved;
- otherwise routed (green channel, enforcement, mediation, or plain routing) and assigned.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from civicgrid_shared.contracts.envelope import Envelope, EventPayload
from civicgrid_shared.contracts.events import (
    AppealReceived,
    AssignmentReason,
    CaseAssigned,
    CaseClosed,
    CaseHandedOver,
    CaseMerged,
    CaseRegistered,
    CaseRejected,
    CaseResolved,
    CaseSignedFor,
    DeadlineKind,
    HistoricalRecord,
)
from civicgrid_shared.contracts.topics import CASES, ENFORCEMENT

from civicgrid_dispatch.domain.case import Case
from civicgrid_dispatch.domain.deadlines import scaled_due
from civicgrid_dispatch.domain.routing import GRID_KIND, MatterRule, plan_dispatch
from civicgrid_dispatch.domain.wages import (
    mentions_wages,
    parse_wage_claim,
    takes_green_channel,
)
from civicgrid_dispatch.service_layer.ops import CaseOps, Cause
from civicgrid_dispatch.service_layer.unit_of_work import DispatchUnitOfWork

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def history_unit(agency: str) -> str:
    """The unit id of a historical case's source agency ("DOT" → "history-dot")."""
    slug = _NOT_SLUG.sub("-", agency.lower()).strip("-") or "unknown"
    return f"history-{slug}"


@dataclass
class Registrar(CaseOps):
    """Registers each received appeal as a case and dispatches it."""

    async def prepare(self, payloads: Sequence[EventPayload], uow: DispatchUnitOfWork
                      ) -> None:
        """A batch's appeals: which are registered already, in one query (see BatchConsumer)."""
        appeal_ids = [p.appeal_id for p in payloads if isinstance(p, AppealReceived)]
        if appeal_ids:
            await uow.cases.preload(appeal_ids)

    async def on_appeal_received(self, event: AppealReceived, meta: Envelope,
                                 uow: DispatchUnitOfWork) -> None:
        if await uow.cases.exists_for_appeal(event.appeal_id):
            return  # already registered (e.g. the appeal was re-sent after a broker reset)
        cause = Cause.of(meta)
        now = self.clock()
        if event.territory.county_code is None:
            uow.emit(
                CaseRejected(appeal_id=event.appeal_id, channel=event.channel,
                             reason_code="out_of_territory",
                             reason="the location is not in this city's territory",
                             received_at=event.received_at, rejected_at=now),
                topic=CASES.name, key=str(event.appeal_id),
                correlation_id=meta.correlation_id, causation_id=meta.id,
            )
            return
        if event.history is None and event.duplicate_of_case_id is not None \
                and await self._merge(event, cause, uow, now):
            return
        rule = (self.matters.rule(event.matter_code) if event.matter_code else None) \
            or self.matters.unclassified()
        registered_at = event.history.created_at if event.history else now
        case = Case(
            case_id=uuid.uuid4(), appeal_id=event.appeal_id,
            case_number=await uow.cases.next_case_number(registered_at),
            channel=event.channel, matter_code=rule.code, category_code=rule.category_code,
            priority=rule.priority, territory=event.territory, received_at=event.received_at,
            historical=event.history is not None, title=event.title, content=event.content,
            contact_phone_masked=event.contact_phone_masked,
            correlation_id=meta.correlation_id,
        )
        case.register(registered_at)
        if event.history is not None:
            await self._replay_history(case, rule, event.history, cause, uow)
            return
        grid_unit = self.units.find(GRID_KIND, event.territory.grid_code) \
            if event.resolved_on_spot and event.territory.grid_code else None
        if grid_unit is not None:
            await self._resolve_on_the_spot(case, grid_unit, event, cause, uow, now)
            return
        await self._dispatch(case, rule, event, cause, uow, now)

    # -- the paths -------------------------------------------------------------------------

    def _registered(self, case: Case) -> CaseRegistered:
        assert case.registered_at is not None
        return CaseRegistered(
            case_id=case.case_id, appeal_id=case.appeal_id, case_number=case.case_number,
            channel=case.channel, matter_code=case.matter_code,
            category_code=case.category_code, priority=case.priority,
            territory=case.territory, received_at=case.received_at,
            registered_at=case.registered_at,
        )

    async def _merge(self, event: AppealReceived, cause: Cause, uow: DispatchUnitOfWork,
                     now: datetime) -> bool:
        """合并: a repeat report of an open case joins it. False if that case is not open."""
        assert event.duplicate_of_case_id is not None
        case = await uow.cases.get(event.duplicate_of_case_id, lock=True)
        if case is None or not case.is_open:
            return False
        await uow.cases.add_merged_appeal(case.case_id, event.appeal_id, event.channel,
                                          event.received_at, now)
        self.emit_case(uow, case, CaseMerged(
            case_id=case.case_id, appeal_id=event.appeal_id, channel=event.channel,
            received_at=event.received_at, merged_at=now,
        ), cause)
        return True

    async def _dispatch(self, case: Case, rule: MatterRule, event: AppealReceived,
                        cause: Cause, uow: DispatchUnitOfWork, now: datetime) -> None:
        green = self.matters.is_unpaid_wages(rule.code) and mentions_wages(event.content) \
            and takes_green_channel(parse_wage_claim(event.content),
                                    self.policy.green_channel_min_workers,
                                    self.policy.green_channel_min_amount_yuan)
        plan = plan_dispatch(rule, event.territory, self.units, green_channel=green)
        if plan.priority is not None:
            case.priority = plan.priority
        await uow.cases.add(case)  # the row must exist before its deadlines
        self.emit_case(uow, case, self._registered(case), cause, units=())
        await self.assign_to(uow, case, plan.lead.unit_id, plan.lead.tier, now,
                             AssignmentReason.INITIAL, cause, plan.cooperating)
        if plan.handover is not None:
            handed = CaseHandedOver(
                case_id=case.case_id, appeal_id=case.appeal_id, to=plan.handover,
                unit_id=plan.lead.unit_id, matter_code=case.matter_code,
                territory=case.territory, content=case.content, handed_at=now,
            )
            self.emit_case(uow, case, handed, cause)
            if plan.handover == "enforcement":
                uow.emit(handed, topic=ENFORCEMENT.name, key=str(case.case_id),
                         correlation_id=cause.correlation_id, causation_id=cause.causation_id)
                await self._enforcement_takes_it(uow, case, now, cause)
        await uow.cases.save(case)

    async def _enforcement_takes_it(self, uow: DispatchUnitOfWork, case: Case, now: datetime,
                                    cause: Cause) -> None:
        """The hand-over is durable (outbox) and enforcement opens a lead from it: that is
        the sign-for. The case is then resolved by enforcement's decision, on its clock."""
        unit = case.unit_id or "enforcement"
        case.sign_for(now, "enforcement", reason="handed over to enforcement")
        await uow.deadlines.cancel(case.case_id, [DeadlineKind.SIGN_FOR, DeadlineKind.RESOLVE])
        case.resolve_due = scaled_due(now, self.policy.enforcement_resolve_days * 24, "hours",
                                      self.policy.time_scale)
        await self.schedule(uow, case, DeadlineKind.RESOLVE, unit, now, case.resolve_due)
        self.emit_case(uow, case, CaseSignedFor(
            case_id=case.case_id, appeal_id=case.appeal_id, unit_id=unit, signed_at=now,
            on_time=True), cause)

    async def _resolve_on_the_spot(self, case: Case, grid_unit: str, event: AppealReceived,
                                   cause: Cause, uow: DispatchUnitOfWork, now: datetime) -> None:
        """即报即办: registered, assigned to the grid and resolved there, then called back."""
        result = event.resolution_note or "resolved on the spot by the grid worker"
        case.resolve_on_the_spot(grid_unit, "grid", result, now)
        await uow.cases.add(case)
        self.emit_case(uow, case, self._registered(case), cause)
        self.emit_case(uow, case, CaseAssigned(
            case_id=case.case_id, appeal_id=case.appeal_id, case_number=case.case_number,
            unit_id=grid_unit, tier="grid", sign_for_due=now, resolve_due=now, assigned_at=now,
            matter_code=case.matter_code, priority=case.priority, territory=case.territory,
        ), cause)
        self.emit_case(uow, case, CaseResolved(
            case_id=case.case_id, appeal_id=case.appeal_id, unit_id=grid_unit, result=result,
            on_the_spot=True, on_time=True, resolved_at=now,
        ), cause)
        await self.request_callback(uow, case, now, cause)
        await uow.cases.save(case)

    async def _replay_history(self, case: Case, rule: MatterRule, history: HistoricalRecord,
                              cause: Cause, uow: DispatchUnitOfWork) -> None:
        """Imported history, with its original times and no timers or call-back."""
        at = history.created_at
        if history.agency:
            unit_id, tier = history_unit(history.agency), "county"
        else:
            lead = plan_dispatch(rule, case.territory, self.units).lead
            unit_id, tier = lead.unit_id, lead.tier
        sign_for_due, resolve_due = self.limits(case, at)
        case.assign(unit_id, tier, sign_for_due, resolve_due, at, reason="history import")
        await uow.cases.add(case)
        self.emit_case(uow, case, self._registered(case), cause)
        self.emit_case(uow, case, CaseAssigned(
            case_id=case.case_id, appeal_id=case.appeal_id, case_number=case.case_number,
            unit_id=unit_id, tier=tier, sign_for_due=sign_for_due, resolve_due=resolve_due,
            assigned_at=at, matter_code=case.matter_code, priority=case.priority,
            territory=case.territory,
        ), cause)
        if history.closed_at is not None:
            closed_at = max(history.closed_at, at)
            case.sign_for(closed_at, reason="history import")
            result = f"closed in {history.source} with status {history.status}"
            on_time = case.resolve(result, closed_at)
            self.emit_case(uow, case, CaseResolved(
                case_id=case.case_id, appeal_id=case.appeal_id, unit_id=unit_id,
                result=result, on_time=on_time, resolved_at=closed_at,
            ), cause)
            case.close(closed_at, "history import")
            self.emit_case(uow, case, CaseClosed(
                case_id=case.case_id, appeal_id=case.appeal_id, unit_id=unit_id,
                on_time=on_time, closed_at=closed_at,
            ), cause)
        await uow.cases.save(case)
