"""Analytics' handlers: each event becomes a fact update in the batch's unit of work."""

from __future__ import annotations

from civicgrid_shared.contracts.envelope import Envelope, EventPayload
from civicgrid_shared.contracts.events import (
    AppealReceived,
    CaseAssigned,
    CaseRegistered,
    CaseRejected,
)
from civicgrid_shared.messaging.consumer import Handler

from civicgrid_analytics.domain import facts
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork


async def on_appeal_received(e: AppealReceived, _: Envelope, uow: AnalyticsUnitOfWork) -> None:
    uow.facts.record(*facts.appeal_received(e))


async def on_case_registered(e: CaseRegistered, _: Envelope, uow: AnalyticsUnitOfWork) -> None:
    uow.facts.record(*facts.case_registered(e))


async def on_case_rejected(e: CaseRejected, _: Envelope, uow: AnalyticsUnitOfWork) -> None:
    uow.facts.record(*facts.case_rejected(e))


async def on_case_assigned(e: CaseAssigned, _: Envelope, uow: AnalyticsUnitOfWork) -> None:
    uow.facts.record(*facts.case_assigned(e))


ROUTES: dict[type[EventPayload], Handler[AnalyticsUnitOfWork]] = {
    AppealReceived: on_appeal_received,
    CaseRegistered: on_case_registered,
    CaseRejected: on_case_rejected,
    CaseAssigned: on_case_assigned,
}
