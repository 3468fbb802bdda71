"""Dispatch's handlers: events in, state changed, events emitted through the outbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from civicgrid_shared.contracts.envelope import Envelope
from civicgrid_shared.contracts.events import (
    AppealReceived,
    CaseAssigned,
    CaseRegistered,
    CaseRejected,
)
from civicgrid_shared.contracts.topics import CASES

from civicgrid_dispatch.domain.case import Case
from civicgrid_dispatch.domain.deadlines import due
from civicgrid_dispatch.domain.routing import MatterRule, UnitFinder, route
from civicgrid_dispatch.service_layer.unit_of_work import DispatchUnitOfWork


class MatterLookup(Protocol):
    def rule(self, code: str) -> MatterRule | None: ...

    def unclassified(self) -> MatterRule: ...


@dataclass(frozen=True)
class Registrar:
    """The reference data registration needs, injected by bootstrap."""

    matters: MatterLookup
    units: UnitFinder

    async def on_appeal_received(self, event: AppealReceived, meta: Envelope,
                                 uow: DispatchUnitOfWork) -> None:
        """Register the appeal as a case and assign it to a unit, with deadlines."""
        if await uow.cases.exists_for_appeal(event.appeal_id):
            return  # already registered (e.g. the appeal was re-sent after a broker reset)
        now = datetime.now(UTC)
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
        rule = (self.matters.rule(event.matter_code) if event.matter_code else None) \
            or self.matters.unclassified()
        case = Case(
            case_id=uuid.uuid4(), appeal_id=event.appeal_id,
            case_number=await uow.cases.next_case_number(now),
            channel=event.channel, matter_code=rule.code, category_code=rule.category_code,
            priority=rule.priority, territory=event.territory, received_at=event.received_at,
        )
        case.register(now)
        assignment = route(rule, event.territory, self.units)
        case.assign(
            assignment.unit_id, assignment.tier,
            sign_for_due=due(now, rule.sign_for_hours, "hours"),
            resolve_due=due(now, rule.resolve_amount, rule.resolve_unit),
            at=now,
        )
        await uow.cases.add(case)
        key = str(case.case_id)
        assert case.registered_at and case.sign_for_due and case.resolve_due
        registered = uow.emit(
            CaseRegistered(
                case_id=case.case_id, appeal_id=case.appeal_id, case_number=case.case_number,
                channel=case.channel, matter_code=case.matter_code,
                category_code=case.category_code, priority=case.priority,
                territory=case.territory, received_at=case.received_at,
                registered_at=case.registered_at,
            ),
            topic=CASES.name, key=key, correlation_id=meta.correlation_id, causation_id=meta.id,
        )
        uow.emit(
            CaseAssigned(
                case_id=case.case_id, appeal_id=case.appeal_id, unit_id=assignment.unit_id,
                tier=assignment.tier, sign_for_due=case.sign_for_due,
                resolve_due=case.resolve_due, assigned_at=now,
            ),
            topic=CASES.name, key=key, correlation_id=meta.correlation_id,
            causation_id=registered.event_id,
        )
