"""Analytics' handlers of enforcement's events, and the enforcement indicators' read model.

Each event becomes a fact update in the batch's unit of work (written once per batch,
just before commit, in the transaction that also claims the events in the inbox).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from civicgrid_shared.contracts.envelope import Envelope, EventPayload
from civicgrid_shared.messaging.consumer import Handler

from civicgrid_analytics import enforcement_events as ev
from civicgrid_analytics.adapters.enforcement_sql import EnforcementQuery
from civicgrid_analytics.domain import enforcement as facts
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork

#: enforcement case event -> the pure fact update it makes
CASE_UPDATES: dict[type[EventPayload], Callable[[Any], facts.CaseUpdate]] = {
    ev.LeadCreated: facts.lead_created,
    ev.CaseFiled: facts.case_filed,
    ev.DecisionMade: facts.decision_made,
    ev.Disclosed: facts.disclosed,
    ev.CaseClosed: facts.case_closed,
}


def _case_handler(update: Callable[[Any], facts.CaseUpdate]) -> Handler[AnalyticsUnitOfWork]:
    async def handle(event: Any, _: Envelope, uow: AnalyticsUnitOfWork) -> None:
        uow.enforcement.record_case(*update(event))
    return handle


async def on_inspection_completed(e: ev.InspectionCompleted, _: Envelope,
                                  uow: AnalyticsUnitOfWork) -> None:
    uow.enforcement.record_inspection(*facts.inspection_completed(e))


def routes() -> dict[type[EventPayload], Handler[AnalyticsUnitOfWork]]:
    out = {model: _case_handler(update) for model, update in CASE_UPDATES.items()}
    out[ev.InspectionCompleted] = on_inspection_completed
    assert set(out) == set(ev.READS)
    return out


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


async def indicators(uow: AnalyticsUnitOfWork, q: EnforcementQuery) -> dict[str, Any]:
    cases, inspections = await uow.enforcement.indicators(q)
    return {"from": _iso(q.start), "to": _iso(q.end),
            "group_by": q.group_by.value if q.group_by else None,
            **facts.combine(cases, inspections, q.group_by is not None)}
