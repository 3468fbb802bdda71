"""Which events travel on which topic, who produces them and who consumes them.

The AsyncAPI document, the JSON Schemas and the integrator's tables are generated
from this catalog and the payload models, so documentation cannot drift from code.
"""

from __future__ import annotations

from dataclasses import dataclass

from civicgrid_shared.contracts import events as ev
from civicgrid_shared.contracts.envelope import EventPayload
from civicgrid_shared.contracts.topics import (
    APPEALS,
    CASES,
    ENFORCEMENT,
    RESPONSES,
    TopicSpec,
    task_topic,
)

# A documentation stand-in for every unit's own task topic.
UNIT_TASKS = task_topic("{unit_id}")


@dataclass(frozen=True)
class Flow:
    topic: TopicSpec
    event: type[EventPayload]
    producer: str
    consumers: tuple[str, ...]


_CASE_CONSUMERS = ("analytics", "intake")
_LIFE_CYCLE: tuple[type[EventPayload], ...] = (
    ev.CaseRegistered, ev.CaseRejected, ev.CaseAssigned, ev.CaseMerged, ev.CaseSignedFor,
    ev.CaseStarted, ev.CaseResponded, ev.CaseReturned, ev.CaseExtensionRequested,
    ev.CaseExtensionDecided, ev.CaseEscalated,
    ev.CaseDeadlineWarning, ev.CaseOverdue, ev.CaseSupervised, ev.CaseResolved,
    ev.CallbackRequested, ev.CaseCalledBack, ev.CaseReopened, ev.CaseClosed, ev.CaseHandedOver,
)
_TO_UNITS: tuple[type[EventPayload], ...] = (
    ev.CaseAssigned, ev.CaseExtensionDecided, ev.CaseSupervised, ev.CaseDeadlineWarning,
    ev.CaseOverdue, ev.CaseReopened, ev.CaseEscalated,
)

FLOWS: tuple[Flow, ...] = (
    Flow(APPEALS, ev.AppealReceived, "intake", ("dispatch", "analytics")),
    Flow(APPEALS, ev.CallbackAnswered, "intake", ("dispatch", "analytics")),
    *(Flow(CASES, e, "dispatch", _CASE_CONSUMERS) for e in _LIFE_CYCLE),
    *(Flow(UNIT_TASKS, e, "dispatch", ("department systems",)) for e in _TO_UNITS),
    Flow(RESPONSES, ev.UnitResponse, "department systems", ("dispatch",)),
    Flow(ENFORCEMENT, ev.CaseHandedOver, "dispatch", ("enforcement",)),
    Flow(ENFORCEMENT, ev.EnforcementOutcome, "enforcement", ("dispatch", "analytics")),
)
