"""Which events travel on which topic, who produces them and who consumes them.

The AsyncAPI document, the JSON Schemas and the integrator's tables are generated
from flows and the payload models, so documentation cannot drift from code. This
module holds the flows of the shared topics; each service declares the flows of its
own topics in its public ``contracts`` module, and ``tools/contracts.py`` (``make
contracts``) puts them all together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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

#: The platform's own services; anyone else named in a flow is a system outside it.
PLATFORM_SERVICES: tuple[str, ...] = ("intake", "dispatch", "enforcement", "analytics")

DEPARTMENT_SYSTEMS = "department systems"

# A documentation stand-in for every unit's own task topic.
UNIT_TASKS = task_topic("{unit_id}")


@dataclass(frozen=True)
class Flow:
    """One event type on one topic: who writes it and who reads it."""

    topic: TopicSpec
    event: type[EventPayload]
    producer: str
    consumers: tuple[str, ...]
    description: str = ""
    """The event in the domain's words, for a model without a docstring of its own."""
    key: str = ""
    """What the record key is, when it is not the topic's usual key."""
    key_format: str | None = "uuid"
    """The key's JSON Schema format (None: free text)."""
    example: Mapping[str, Any] | None = field(default=None, compare=False)
    """Example values in the domain's words, over those derived from the schema; the
    result must validate against the model (the unit tests check it)."""

    @property
    def record_key(self) -> str:
        return self.key or self.topic.key


_LIFE_CYCLE: tuple[type[EventPayload], ...] = (
    ev.CaseRegistered, ev.CaseRejected, ev.CaseAssigned, ev.CaseMerged, ev.CaseSignedFor,
    ev.CaseStarted, ev.CaseResponded, ev.CaseReturned, ev.CaseExtensionRequested,
    ev.CaseExtensionDecided, ev.CaseEscalated,
    ev.CaseDeadlineWarning, ev.CaseOverdue, ev.CaseSupervised, ev.CaseResolved,
    ev.CallbackRequested, ev.CaseCalledBack, ev.CaseReopened, ev.CaseClosed, ev.CaseHandedOver,
)
# What intake follows: open cases for duplicate detection, progress notes for citizens.
_INTAKE_FOLLOWS: frozenset[type[EventPayload]] = frozenset({
    ev.CaseRegistered, ev.CaseRejected, ev.CaseAssigned, ev.CaseMerged, ev.CaseSignedFor,
    ev.CaseResolved, ev.CaseCalledBack, ev.CaseReopened, ev.CaseClosed,
})
# Analytics counts every step but these two.
_ANALYTICS_SKIPS: frozenset[type[EventPayload]] = frozenset({ev.CaseStarted, ev.CaseResponded})
# Dispatch copies every change of an assigned case to the unit's task topic; a case is
# not yet anyone's when it is registered or rejected.
_TO_UNITS: tuple[type[EventPayload], ...] = tuple(
    e for e in _LIFE_CYCLE if e not in (ev.CaseRegistered, ev.CaseRejected))


def _case_consumers(event: type[EventPayload]) -> tuple[str, ...]:
    return (*(("analytics",) if event not in _ANALYTICS_SKIPS else ()),
            *(("intake",) if event in _INTAKE_FOLLOWS else ()))


FLOWS: tuple[Flow, ...] = (
    Flow(APPEALS, ev.AppealReceived, "intake", ("dispatch", "analytics")),
    Flow(APPEALS, ev.CallbackAnswered, "intake", ("dispatch", "analytics")),
    *(Flow(CASES, e, "dispatch", _case_consumers(e),
           key="appeal id" if e is ev.CaseRejected else "") for e in _LIFE_CYCLE),
    *(Flow(UNIT_TASKS, e, "dispatch", (DEPARTMENT_SYSTEMS,)) for e in _TO_UNITS),
    Flow(RESPONSES, ev.UnitResponse, DEPARTMENT_SYSTEMS, ("dispatch",),
         example={"action": "resolve", "reason": None, "result": "已更换灯泡，路灯恢复正常。",
                  "requested_due": None, "escalation_kind": None,
                  "acted_at": "2026-11-23T10:15:00+08:00"}),
    Flow(ENFORCEMENT, ev.CaseHandedOver, "dispatch", ("enforcement",)),
    Flow(ENFORCEMENT, ev.EnforcementOutcome, "enforcement", ("dispatch",),
         key="dispatch case id"),
)
