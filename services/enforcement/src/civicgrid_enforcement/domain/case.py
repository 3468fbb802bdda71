"""The enforcement case (执法案件) and its life cycle: a state machine with no I/O.

lead → filed | not_filed → investigation → legal_review → decided → delivered →
executed → closed. The simple procedure (简易程序) decides straight from ``filed``;
a non-major decision may be made from ``investigation``; a major one only after an
approved legal review (法制审核). Every move records who, when and why as a Step, which
the repository appends to the case's hash chain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from civicgrid_enforcement.domain.discretion import (
    Assessment,
    Decision,
    Policy,
    Procedure,
    simple_procedure_refusal,
)
from civicgrid_enforcement.domain.errors import Conflict, Rejected
from civicgrid_enforcement.reference.catalog import Violation


class CaseState(StrEnum):
    LEAD = "lead"  # 线索
    FILED = "filed"  # 立案
    NOT_FILED = "not_filed"  # 不予立案
    INVESTIGATION = "investigation"  # 调查取证
    LEGAL_REVIEW = "legal_review"  # 法制审核
    DECIDED = "decided"  # 作出决定
    DELIVERED = "delivered"  # 送达
    EXECUTED = "executed"  # 执行
    CLOSED = "closed"  # 结案


class Source(StrEnum):
    DISPATCH = "dispatch"  # handed over by dispatch (12345 and the grid)
    PATROL = "patrol"  # the team's own patrol finding
    INSPECTION = "inspection"  # found during a joint inspection


S = CaseState
TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    S.LEAD: frozenset({S.FILED, S.NOT_FILED}),
    S.FILED: frozenset({S.INVESTIGATION, S.DECIDED}),  # decided: simple procedure only
    S.INVESTIGATION: frozenset({S.LEGAL_REVIEW, S.DECIDED}),  # decided: not major
    S.LEGAL_REVIEW: frozenset({S.DECIDED, S.INVESTIGATION}),  # back when not approved
    S.DECIDED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.EXECUTED, S.CLOSED}),  # closed: nothing to execute
    S.EXECUTED: frozenset({S.CLOSED}),
    S.NOT_FILED: frozenset(),
    S.CLOSED: frozenset(),
}
# Cases the 90-day decision limit applies to.
AWAITING_DECISION = frozenset({S.FILED, S.INVESTIGATION, S.LEGAL_REVIEW})
FINAL = frozenset({S.NOT_FILED, S.CLOSED})


class IllegalTransition(Conflict):
    def __init__(self, current: CaseState, target: CaseState, why: str | None = None) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
        text = f"a case that is {current} cannot become {target}"
        super().__init__(f"{text}: {why}" if why else f"{text}; allowed: {allowed}")
        self.current = current
        self.target = target


@dataclass(frozen=True)
class Step:
    from_state: CaseState | None
    to_state: CaseState
    actor: str  # pseudonymous officer id, or "system"
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class Review:
    proposal: Decision
    requested_by: str
    requested_at: datetime
    reviewer: str | None = None
    approved: bool | None = None
    opinion: str | None = None
    reviewed_at: datetime | None = None


@dataclass
class EnforcementCase:
    case_id: uuid.UUID
    source: Source
    team_unit_id: str
    township_code: str
    created_at: datetime
    grid_code: str | None = None
    matter_code: str | None = None
    violation_code: str | None = None
    dispatch_case_id: uuid.UUID | None = None
    inspection_id: uuid.UUID | None = None
    state: CaseState = CaseState.LEAD
    case_number: str | None = None
    filed_at: datetime | None = None
    decision_due: datetime | None = None
    not_filed_reason: str | None = None
    review: Review | None = None
    decision: Decision | None = None
    decided_at: datetime | None = None
    closed_at: datetime | None = None
    steps: list[Step] = field(default_factory=list)  # new in this command only

    @classmethod
    def open_lead(cls, case_id: uuid.UUID, source: Source, team_unit_id: str,
                  township_code: str, at: datetime, actor: str, reason: str, **kw: object
                  ) -> EnforcementCase:
        case = cls(case_id=case_id, source=source, team_unit_id=team_unit_id,
                   township_code=township_code, created_at=at, **kw)  # type: ignore[arg-type]
        case.steps.append(Step(None, CaseState.LEAD, actor, at, reason))
        return case

    def _move(self, target: CaseState, actor: str, at: datetime, reason: str | None) -> None:
        if target not in TRANSITIONS[self.state]:
            raise IllegalTransition(self.state, target)
        self.steps.append(Step(self.state, target, actor, at, reason))
        self.state = target

    @property
    def is_final(self) -> bool:
        return self.state in FINAL

    # -- filing ---------------------------------------------------------------------
    def file(self, violation: Violation, case_number: str, officer: str, at: datetime,
             policy: Policy, reason: str | None = None) -> None:
        if self.state is not CaseState.LEAD:
            raise IllegalTransition(self.state, CaseState.FILED)
        if not violation.township_may_enforce:
            raise Rejected(
                f"violation {violation.code} is in the power of the {violation.department_kind} "
                "department and not delegated to township teams: do not file it, transfer it "
                "(not-file with reason_code 'transferred')")
        self._move(CaseState.FILED, officer, at, reason)
        self.violation_code = violation.code
        self.case_number = case_number
        self.filed_at = at
        self.decision_due = at + timedelta(days=policy.decision_limit_days)

    def not_file(self, reason_code: str, reason: str, officer: str, at: datetime) -> None:
        self._move(CaseState.NOT_FILED, officer, at, f"{reason_code}: {reason}")
        self.not_filed_reason = reason_code
        self.closed_at = at

    def start_investigation(self, officer: str, at: datetime, reason: str | None) -> None:
        if self.state is CaseState.LEGAL_REVIEW:  # the table's way back is complete_review's
            raise IllegalTransition(self.state, CaseState.INVESTIGATION, "only a legal review "
                                    "that does not approve sends the case back")
        self._move(CaseState.INVESTIGATION, officer, at, reason)

    # -- legal review ---------------------------------------------------------------
    def request_review(self, proposal: Decision, officer: str, at: datetime) -> None:
        if proposal.procedure is not Procedure.ORDINARY:
            raise Rejected("procedure: legal review is part of the ordinary procedure")
        self._move(CaseState.LEGAL_REVIEW, officer, at, "legal review requested")
        self.review = Review(proposal, officer, at)

    def complete_review(self, reviewer: str, approved: bool, opinion: str, at: datetime
                        ) -> None:
        if self.state is not CaseState.LEGAL_REVIEW or self.review is None:
            raise Conflict(f"a case that is {self.state} has no legal review pending")
        if self.review.approved is not None:
            raise Conflict("the legal review of this case is already completed")
        if reviewer == self.review.requested_by:
            raise Conflict("the reviewer must not be the officer who proposed the decision")
        self.review = Review(self.review.proposal, self.review.requested_by,
                             self.review.requested_at, reviewer, approved, opinion, at)
        if not approved:
            self._move(CaseState.INVESTIGATION, reviewer, at,
                       "legal review did not approve: back to investigation")
            self.review = None

    # -- decision -------------------------------------------------------------------
    def decide(self, decision: Decision, assessment: Assessment, officer: str, at: datetime,
               policy: Policy) -> None:
        target = CaseState.DECIDED
        if target not in TRANSITIONS[self.state]:
            raise IllegalTransition(self.state, target)
        if self.state is CaseState.FILED:
            if decision.procedure is not Procedure.SIMPLE:
                raise IllegalTransition(self.state, target, "without an investigation only "
                                        "the simple procedure may decide")
            refusal = simple_procedure_refusal(decision, assessment, policy)
            if refusal:
                raise Rejected(f"procedure: {refusal}")
        else:
            if decision.procedure is Procedure.SIMPLE:
                raise IllegalTransition(self.state, target, "the simple procedure decides "
                                        "on the spot, before any investigation")
            if self.state is CaseState.INVESTIGATION and assessment.major:
                raise IllegalTransition(self.state, target, "a major decision ("
                                        + ", ".join(assessment.major_reasons)
                                        + ") needs an approved legal review first")
            if self.state is CaseState.LEGAL_REVIEW:
                if self.review is None or self.review.approved is not True:
                    raise IllegalTransition(self.state, target,
                                            "the legal review is not approved yet")
                if not decision.same_as(self.review.proposal):
                    raise Conflict("the decision differs from the proposal the legal review "
                                   "approved; request a new review")
        self._move(target, officer, at, f"{decision.kind} ({decision.procedure} procedure)")
        self.decision = decision
        self.decided_at = at

    def deliver(self, officer: str, at: datetime, method: str) -> None:
        self._move(CaseState.DELIVERED, officer, at, f"delivered: {method}")

    def execute(self, officer: str, at: datetime, note: str | None) -> None:
        if self.decision is not None and not self.decision.needs_execution:
            raise IllegalTransition(self.state, CaseState.EXECUTED,
                                    "this decision has nothing to execute; close it")
        self._move(CaseState.EXECUTED, officer, at, note or "executed")

    def close(self, officer: str, at: datetime, reason: str | None) -> None:
        if (self.state is CaseState.DELIVERED and self.decision is not None
                and self.decision.needs_execution):
            raise IllegalTransition(self.state, CaseState.CLOSED,
                                    "the decision must be executed before the case closes")
        self._move(CaseState.CLOSED, officer, at, reason or "closed")
        self.closed_at = at


def decision_warn_at(filed_at: datetime, policy: Policy) -> datetime:
    return filed_at + timedelta(days=policy.decision_warn_days)


def decision_deadline_status(case: EnforcementCase, now: datetime, policy: Policy) -> str:
    """'ok', 'warning' (near the 90-day limit) or 'overdue'; 'n/a' once decided."""
    if case.state not in AWAITING_DECISION or case.filed_at is None:
        return "n/a"
    assert case.decision_due is not None
    if now > case.decision_due:
        return "overdue"
    if now >= decision_warn_at(case.filed_at, policy):
        return "warning"
    return "ok"
