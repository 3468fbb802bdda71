"""Analytics' handlers: each event becomes a fact update, journalled in the batch's unit
of work (an update the store could not hold is refused: the event is dead-lettered).

Registered cases also feed hotspot detection, which runs once per batch (a hook run
just before the batch's commit) and emits through the unit of work (outbox).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from civicgrid_shared.contracts.envelope import Envelope, EventPayload
from civicgrid_shared.contracts.events import (
    AppealReceived,
    CallbackAnswered,
    CallbackRequested,
    CaseAssigned,
    CaseCalledBack,
    CaseClosed,
    CaseDeadlineWarning,
    CaseEscalated,
    CaseExtensionDecided,
    CaseExtensionRequested,
    CaseHandedOver,
    CaseMerged,
    CaseOverdue,
    CaseRegistered,
    CaseRejected,
    CaseReopened,
    CaseResolved,
    CaseReturned,
    CaseSignedFor,
    CaseSupervised,
)
from civicgrid_shared.errors import Rejected
from civicgrid_shared.messaging.consumer import Handler

from civicgrid_analytics.domain import facts
from civicgrid_analytics.service_layer.hotspots import HotspotDetector
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork

#: event -> the pure fact update it makes
FACT_UPDATES: dict[type[EventPayload], Callable[[Any], facts.FactUpdate]] = {
    AppealReceived: facts.appeal_received,
    CaseRegistered: facts.case_registered,
    CaseRejected: facts.case_rejected,
    CaseMerged: facts.case_merged,
    CaseAssigned: facts.case_assigned,
    CaseSignedFor: facts.case_signed_for,
    CaseReturned: facts.case_returned,
    CaseExtensionRequested: facts.extension_requested,
    CaseExtensionDecided: facts.extension_decided,
    CaseEscalated: facts.case_escalated,
    CaseDeadlineWarning: facts.deadline_warning,
    CaseOverdue: facts.case_overdue,
    CaseSupervised: facts.case_supervised,
    CaseResolved: facts.case_resolved,
    CallbackRequested: facts.callback_requested,
    CaseCalledBack: facts.case_called_back,
    CallbackAnswered: facts.callback_answered,
    CaseReopened: facts.case_reopened,
    CaseClosed: facts.case_closed,
    CaseHandedOver: facts.case_handed_over,
}


def _journal(uow: AnalyticsUnitOfWork, fact_update: facts.FactUpdate) -> None:
    appeal_id, update = fact_update
    problem = facts.unstorable(update)
    if problem is not None:  # dead-lettered at once, with the column and the reason
        raise Rejected(f"fact update not storable: {problem}")
    uow.journal.record(appeal_id, update)


def _fact_handler(update: Callable[[Any], facts.FactUpdate]) -> Handler[AnalyticsUnitOfWork]:
    async def handle(event: Any, _: Envelope, uow: AnalyticsUnitOfWork) -> None:
        _journal(uow, update(event))
    return handle


@dataclass(frozen=True)
class AnalyticsHandlers:
    detector: HotspotDetector

    async def on_case_registered(self, e: CaseRegistered, _: Envelope,
                                 uow: AnalyticsUnitOfWork) -> None:
        _journal(uow, facts.case_registered(e))
        t = e.territory
        if t.township_code and e.matter_code:
            uow.surges.add(t.township_code, e.matter_code, t.county_code, e.received_at)
            uow.at_end_of_batch(self.detector)

    def routes(self) -> dict[type[EventPayload], Handler[AnalyticsUnitOfWork]]:
        routes = {model: _fact_handler(update) for model, update in FACT_UPDATES.items()}
        routes[CaseRegistered] = self.on_case_registered
        return routes
