"""How each event changes an appeal's facts (pure).

One row per appeal. Every update names only the columns its event knows, and every
column has a *merge policy* that makes the result independent of the order in which
events arrive (the appeals and cases topics are not ordered with each other, and a
case may be reassigned, reopened or resolved more than once):

- ``any``: a fixed attribute (channel, territory, ...): the events agree on it; should
  two disagree (an appeal registered twice), the greatest value wins, so the result
  still does not depend on the order of arrival.
- ``least`` / ``greatest``: the first / last moment, the highest count (counts come
  from the event payload, so a redelivered event cannot add twice), ``or`` for flags.
- ``sum``: a count of events without a count in their payload (escalations); safe
  because the inbox lets each event through exactly once, also on a rebuild.
- ``follows:<moment>``: belongs to the event that set ``<moment>``; taken only from the
  update whose ``<moment>`` is the latest (ties: the later-applied one).

The same policies are used for merging updates within a batch (here) and against the
stored row (the SQL upsert in adapters/repository.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

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
    DeadlineKind,
    EscalationKind,
    TerritoryRef,
)

PgType = Literal["uuid", "timestamptz", "text", "boolean", "integer"]

#: column -> (PostgreSQL type, merge policy)
COLUMNS: dict[str, tuple[PgType, str]] = {
    "case_id": ("uuid", "any"),
    "case_number": ("text", "any"),
    "channel": ("text", "any"),
    "matter_code": ("text", "any"),
    "category_code": ("text", "any"),
    "priority": ("text", "any"),
    "county_code": ("text", "any"),
    "township_code": ("text", "any"),
    "community_code": ("text", "any"),
    "grid_code": ("text", "any"),
    "grid_worker_id": ("text", "any"),
    "history_source": ("text", "any"),
    "history_agency": ("text", "any"),
    "received_at": ("timestamptz", "least"),
    "registered_at": ("timestamptz", "least"),
    "rejected_at": ("timestamptz", "least"),
    "merged_at": ("timestamptz", "least"),
    "merged_into": ("uuid", "any"),
    # first assignment (派遣 is counted once per case) ...
    "assigned_at": ("timestamptz", "least"),
    # ... the lead unit and deadlines of the latest one (redispatch, escalation, reopen)
    "last_assigned_at": ("timestamptz", "greatest"),
    "unit_id": ("text", "follows:last_assigned_at"),
    "tier": ("text", "follows:last_assigned_at"),
    "sign_for_due": ("timestamptz", "follows:last_assigned_at"),
    "resolve_due": ("timestamptz", "follows:last_assigned_at"),
    "signed_at": ("timestamptz", "greatest"),
    "signed_on_time": ("boolean", "follows:signed_at"),
    "returned_at": ("timestamptz", "greatest"),
    "return_count": ("integer", "greatest"),
    "extension_requested_at": ("timestamptz", "greatest"),
    "extension_decided_at": ("timestamptz", "greatest"),
    "extension_granted": ("boolean", "follows:extension_decided_at"),
    "extended_due": ("timestamptz", "follows:extension_decided_at"),
    "escalated_at": ("timestamptz", "greatest"),
    "escalated_to_tier": ("text", "follows:escalated_at"),
    "escalation_count": ("integer", "sum"),
    "whistle_blown": ("boolean", "greatest"),
    "warned_at": ("timestamptz", "greatest"),
    "overdue_at": ("timestamptz", "least"),
    "overdue_sign_for": ("boolean", "greatest"),
    "overdue_resolve": ("boolean", "greatest"),
    "supervised_at": ("timestamptz", "greatest"),
    "supervision_level": ("integer", "greatest"),
    "resolved_at": ("timestamptz", "greatest"),
    "resolved_on_time": ("boolean", "follows:resolved_at"),
    "resolved_on_spot": ("boolean", "greatest"),
    "callback_requested_at": ("timestamptz", "greatest"),
    "called_back_at": ("timestamptz", "greatest"),
    "callback_solved": ("boolean", "follows:called_back_at"),
    "callback_satisfaction": ("text", "follows:called_back_at"),
    "reopened_at": ("timestamptz", "greatest"),
    "reopen_count": ("integer", "greatest"),
    "closed_at": ("timestamptz", "greatest"),
    "closed_on_time": ("boolean", "follows:closed_at"),
    "handed_over_at": ("timestamptz", "greatest"),
    "handed_over_to": ("text", "follows:handed_over_at"),
}

FACT_COLUMNS: tuple[str, ...] = tuple(COLUMNS)

HISTORY_UNIT_PREFIX = "history-"

FactUpdate = tuple[uuid.UUID, dict[str, Any]]


def policy(column: str) -> str:
    return COLUMNS[column][1]


_INTEGER = range(-2**31, 2**31)  # PostgreSQL's integer


def unstorable(update: Mapping[str, Any]) -> str | None:
    """Why the store could not hold this update (the column and what is wrong, never the
    value), or None. Checked before an update is journalled: a fold that failed on it
    would fail again for every event journalled after it."""
    for column, value in update.items():
        kind = COLUMNS[column][0]
        if kind == "integer" and isinstance(value, int) and value not in _INTEGER:
            return f"{column}: beyond the range of the store's integers"
        if kind == "text" and isinstance(value, str) and "\x00" in value:
            return f"{column}: contains a NUL character"
    return None


def _territory(t: TerritoryRef) -> dict[str, Any]:
    return {"county_code": t.county_code, "township_code": t.township_code,
            "community_code": t.community_code, "grid_code": t.grid_code}


def appeal_received(e: AppealReceived) -> FactUpdate:
    update: dict[str, Any] = {
        "channel": e.channel.value, "received_at": e.received_at,
        "grid_worker_id": e.grid_worker_id, **_territory(e.territory),
    }
    if e.resolved_on_spot:
        update["resolved_on_spot"] = True
    if e.history is not None:
        update["history_source"] = e.history.source
        update["history_agency"] = e.history.agency
    return e.appeal_id, update


def case_registered(e: CaseRegistered) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "case_number": e.case_number,
                         "channel": e.channel.value, "matter_code": e.matter_code,
                         "category_code": e.category_code, "priority": e.priority,
                         "received_at": e.received_at, "registered_at": e.registered_at,
                         **_territory(e.territory)}


def case_rejected(e: CaseRejected) -> FactUpdate:
    return e.appeal_id, {"channel": e.channel.value, "received_at": e.received_at,
                         "rejected_at": e.rejected_at}


def case_merged(e: CaseMerged) -> FactUpdate:
    return e.appeal_id, {"channel": e.channel.value, "received_at": e.received_at,
                         "merged_at": e.merged_at, "merged_into": e.case_id}


def case_assigned(e: CaseAssigned) -> FactUpdate:
    # The matter and territory come from case.registered only: a value that two events
    # could disagree on would make the row depend on the order of arrival.
    update: dict[str, Any] = {
        "case_id": e.case_id, "unit_id": e.unit_id, "tier": e.tier,
        "assigned_at": e.assigned_at, "last_assigned_at": e.assigned_at,
        "sign_for_due": e.sign_for_due, "resolve_due": e.resolve_due,
    }
    # An imported case's agency comes from AppealReceived.history (the source's own
    # code, e.g. "DOT"); dispatch's "history-<agency>" unit id is a slug of it.
    return e.appeal_id, update


def case_signed_for(e: CaseSignedFor) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "signed_at": e.signed_at,
                         "signed_on_time": e.on_time}


def case_returned(e: CaseReturned) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "returned_at": e.returned_at,
                         "return_count": e.return_count}


def extension_requested(e: CaseExtensionRequested) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "extension_requested_at": e.requested_at}


def extension_decided(e: CaseExtensionDecided) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "extension_decided_at": e.decided_at,
                         "extension_granted": e.granted, "extended_due": e.resolve_due}


def case_escalated(e: CaseEscalated) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "escalated_at": e.escalated_at,
                         "escalated_to_tier": e.to_tier, "escalation_count": 1,
                         "whistle_blown": e.kind is EscalationKind.WHISTLE}


def deadline_warning(e: CaseDeadlineWarning) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "warned_at": e.warned_at}


def case_overdue(e: CaseOverdue) -> FactUpdate:
    update: dict[str, Any] = {"case_id": e.case_id, "overdue_at": e.overdue_at}
    if e.deadline is DeadlineKind.SIGN_FOR:
        update["overdue_sign_for"] = True
    elif e.deadline is DeadlineKind.RESOLVE:
        update["overdue_resolve"] = True
    return e.appeal_id, update


def case_supervised(e: CaseSupervised) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "supervised_at": e.supervised_at,
                         "supervision_level": e.level}


def case_resolved(e: CaseResolved) -> FactUpdate:
    update: dict[str, Any] = {"case_id": e.case_id, "resolved_at": e.resolved_at,
                              "resolved_on_time": e.on_time}
    if e.on_the_spot:
        update["resolved_on_spot"] = True
    return e.appeal_id, update


def callback_requested(e: CallbackRequested) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "callback_requested_at": e.requested_at}


def case_called_back(e: CaseCalledBack) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "called_back_at": e.called_back_at,
                         "callback_solved": e.solved,
                         "callback_satisfaction": e.satisfaction.value}


def callback_answered(e: CallbackAnswered) -> FactUpdate:
    """Intake's record of the same answer dispatch confirms with case.called_back."""
    update: dict[str, Any] = {"called_back_at": e.answered_at, "callback_solved": e.solved,
                              "callback_satisfaction": e.satisfaction.value}
    if e.case_id is not None:
        update["case_id"] = e.case_id
    return e.appeal_id, update


def case_reopened(e: CaseReopened) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "reopened_at": e.reopened_at,
                         "reopen_count": e.reopen_count}


def case_closed(e: CaseClosed) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "closed_at": e.closed_at,
                         "closed_on_time": e.on_time}


def case_handed_over(e: CaseHandedOver) -> FactUpdate:
    return e.appeal_id, {"case_id": e.case_id, "handed_over_at": e.handed_at,
                         "handed_over_to": e.to}


def _newer(new: Any, old: Any) -> bool:
    """Does a moment ``new`` win over ``old`` (latest wins; ties go to the newcomer)?"""
    return new is not None and (old is None or new >= old)


def merge(into: dict[str, Any], update: Mapping[str, Any]) -> None:
    """Apply ``update`` to ``into`` by each column's policy (order-independent)."""
    before = dict(into)
    for column, value in update.items():
        if value is None:
            continue
        rule = policy(column)
        old = before.get(column)
        if rule == "any":
            into[column] = value if old is None else max(old, value)
        elif rule == "least":
            into[column] = value if old is None else min(old, value)
        elif rule == "greatest":
            into[column] = value if old is None else max(old, value)
        elif rule == "sum":
            into[column] = value + (old or 0)
        else:
            moment = rule.removeprefix("follows:")
            if _newer(update.get(moment), before.get(moment)):
                into[column] = value


def moments(update: Mapping[str, Any]) -> list[datetime]:
    """The event times an update carries (for tests and diagnostics)."""
    return [v for c, v in update.items() if COLUMNS[c][0] == "timestamptz"
            and isinstance(v, datetime)]
