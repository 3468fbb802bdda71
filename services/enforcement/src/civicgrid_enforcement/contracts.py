"""What enforcement publishes: its own events, on the shared enforcement topic.

Every step of an enforcement case (综合行政执法) and of a joint inspection is published on
``civicgrid.enforcement.v1`` for oversight and disclosure systems; analytics reads those
it turns into the enforcement indicators (``_ANALYTICS_READS``). Case events are keyed
by the enforcement case id, inspection events by the inspection id. No payload carries a
party's name, phone, ID number or address, a lead's free text or a media file. The
hand-over from dispatch and the outcome back to it are shared contracts
(``civicgrid_shared.contracts.flows``).

This is enforcement's public contract: ``tools/contracts.py`` documents it
(``make contracts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from civicgrid_shared.contracts.envelope import EventPayload
from civicgrid_shared.contracts.flows import Flow
from civicgrid_shared.contracts.topics import ENFORCEMENT

from civicgrid_enforcement.domain import events as ev
from civicgrid_enforcement.domain.case import CaseState, Source
from civicgrid_enforcement.domain.commands import MediaKind, NotFiledReason
from civicgrid_enforcement.domain.discretion import DecisionKind, PartyType, Policy, Procedure
from civicgrid_enforcement.reference.catalog import Measure, Severity

_POLICY = Policy()
_CASE_KEY = "enforcement case id"
_INSPECTION_KEY = "inspection id"
# One street-vending case through its life, for the examples.
_NUMBER = "ZF20261123000042"
_FILED, _DUE = "2026-11-23T10:05:00+08:00", "2027-02-21T10:05:00+08:00"
_DECIDED, _DISCLOSE_BY = "2026-11-23T15:00:00+08:00", "2026-12-02T23:59:59+08:00"
_DEPARTMENTS = ["market_supervision", "urban_management"]
# What analytics reads for the enforcement indicators (its own reader models).
_ANALYTICS_READS: frozenset[type[EventPayload]] = frozenset({
    ev.LeadCreated, ev.CaseFiled, ev.DecisionMade, ev.CaseClosed, ev.Disclosed,
    ev.InspectionCompleted,
})


def _one_of(values: type[StrEnum]) -> str:
    return ", ".join(f"`{v.value}`" for v in values)


def _flow(event: type[EventPayload], description: str, example: Mapping[str, Any],
          key: str = _CASE_KEY) -> Flow:
    consumers = ("analytics",) if event in _ANALYTICS_READS else ()
    return Flow(ENFORCEMENT, event, "enforcement", consumers, description=description,
                key=key, example=example)


FLOWS: tuple[Flow, ...] = (
    _flow(ev.LeadCreated,
          "A lead (线索) opened an enforcement case. `source` says where it came from "
          f"({_one_of(Source)}): a case dispatch handed over (`dispatch_case_id`), the "
          "team's own patrol, or a joint inspection (`inspection_id`). `violation_code` is "
          "the catalog's violation, when already known; the territory goes down to the grid.",
          {"source": "dispatch", "matter_code": "EF-001", "inspection_id": None,
           "created_at": "2026-11-23T09:31:00+08:00"}),
    _flow(ev.CaseFiled,
          "The team filed the case (立案) under a violation of the enforcement catalog; the "
          "case now has its number. The limit for a decision starts: "
          f"{_POLICY.decision_limit_days} days from filing (`decision_due`).",
          {"case_number": _NUMBER, "filed_at": _FILED, "decision_due": _DUE}),
    _flow(ev.CaseNotFiled,
          "The team decided not to file the lead (不予立案). `reason_code`: "
          f"{_one_of(NotFiledReason)}. When the lead came from dispatch, dispatch hears of it "
          "through `civicgrid.enforcement.outcome`.",
          {"reason_code": "insufficient_evidence"}),
    _flow(ev.CaseStepped,
          f"`from_state` and `to_state` are states of the case: {_one_of(CaseState)}; "
          "filing, not filing, the decision and closing have events of their own.",
          {"from_state": "filed", "to_state": "investigation"}),
    _flow(ev.LegalReviewed,
          "The legal review (法制审核) of a proposed major decision is done. Approved: the "
          "decision may follow as proposed. Not approved: the case goes back to "
          "investigation. The reviewer is never the officer who proposed it.",
          {"approved": True}),
    _flow(ev.EvidenceRecorded,
          "A piece of evidence joined the case's tamper-evident record (its hash chain, at "
          f"position `seq`). Only its kind ({_one_of(MediaKind)}) and SHA-256 travel, never "
          "the file or its location.",
          {"seq": 3}),
    _flow(ev.DecisionMade,
          f"The team decided (作出决定). `kind`: {_one_of(DecisionKind)} (a first-offence "
          "exemption, 首次不罚, is `exempted`). "
          f"`procedure`: {_one_of(Procedure)} (简易程序 / 普通程序). "
          f"`party_type`: {_one_of(PartyType)}. `severity` is the tier of the catalog's "
          f"discretion benchmark ({_one_of(Severity)}); `measures` are among "
          f"{_one_of(Measure)}. A `major` decision (重大执法决定) had an approved legal "
          "review. `disclosure_due` is when the decision must be public (none when there "
          f"was no violation): {_POLICY.disclosure_working_days} working days after it.",
          {"case_number": _NUMBER, "fine_yuan": 200, "decided_at": _DECIDED,
           "disclosure_due": _DISCLOSE_BY}),
    _flow(ev.CaseClosed,
          "The enforcement case was closed (结案): the decision delivered and, when there was "
          "a fine to collect or a measure to carry out, executed. `outcome`: `penalised`, "
          "`warning`, `exempted` or `no_violation`; a case handed over by dispatch also "
          "sends it back in `civicgrid.enforcement.outcome`.",
          {"closed_at": "2026-11-30T16:20:00+08:00"}),
    _flow(ev.Disclosed,
          "Published when the team discloses a decision (行政执法公示). `on_time` says whether "
          "it was public by `due`. An individual party appears as 张**; an organisation is "
          "named in full.",
          {"case_number": _NUMBER, "fine_yuan": 200, "decided_on": "2026-11-23",
           "due": _DISCLOSE_BY, "on_time": True,
           "disclosed_at": "2026-11-27T09:00:00+08:00"}),
    _flow(ev.DisclosureOverdue,
          "A decision was still not public at its disclosure due date "
          f"({_POLICY.disclosure_working_days} working days after the decision). Sent once "
          "per case by the periodic deadline check.",
          {"due": _DISCLOSE_BY, "flagged_at": "2026-12-03T00:05:00+08:00"}),
    _flow(ev.DecisionDeadlineWarning,
          f"Sent once per case, {_POLICY.decision_warn_days} days after filing, while the "
          "case still awaits its decision.",
          {"filed_at": _FILED, "decision_due": _DUE,
           "warned_at": "2027-02-06T10:06:00+08:00"}),
    _flow(ev.DecisionOverdue,
          f"The {_POLICY.decision_limit_days}-day limit from filing to decision passed "
          "without a decision (超期). Sent once per case by the periodic deadline check.",
          {"filed_at": _FILED, "decision_due": _DUE,
           "flagged_at": "2027-02-21T10:06:00+08:00"}),
    _flow(ev.InspectionPlanned,
          "A team planned a joint inspection (综合查一次): one visit to a business covering "
          "the checklists of several county departments (`departments`: their kinds), on "
          "`planned_for`. Each department is asked to confirm.",
          {"departments": _DEPARTMENTS, "planned_for": "2026-11-26"},
          key=_INSPECTION_KEY),
    _flow(ev.InspectionConfirmed,
          "A department confirmed it takes part in a joint inspection; `all_confirmed` once "
          "every department has.",
          {"department_kind": "market_supervision",
           "unit_id": "county-140502-market-supervision", "all_confirmed": True},
          key=_INSPECTION_KEY),
    _flow(ev.InspectionCompleted,
          "The joint inspection's results are recorded. One visit replaced one per "
          "department (`inspections_saved` = departments - 1); each violation found opened "
          "a case of its own (`case_ids`, each announced by its `lead_created`).",
          {"departments": _DEPARTMENTS, "inspections_saved": 1,
           "violations_found": 1},
          key=_INSPECTION_KEY),
)
