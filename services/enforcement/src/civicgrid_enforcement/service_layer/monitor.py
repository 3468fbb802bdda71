"""The periodic check: overdue disclosures and the 90-day filing-to-decision limit.

Durable in PostgreSQL: each case is warned and flagged once (a timestamp column), rows
are claimed with FOR UPDATE SKIP LOCKED, so several instances can run it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from civicgrid_shared.contracts.topics import ENFORCEMENT

from civicgrid_enforcement import metrics
from civicgrid_enforcement.domain import events as ev
from civicgrid_enforcement.domain.discretion import Policy
from civicgrid_enforcement.service_layer.unit_of_work import EnforcementUnitOfWork


@dataclass(frozen=True)
class CheckResult:
    disclosures_flagged: int
    cases_warned: int
    cases_flagged: int
    cases_overdue: int
    disclosures_overdue: int


async def check_deadlines(uow: EnforcementUnitOfWork, policy: Policy, now: datetime,
                          batch: int = 500) -> CheckResult:
    async with uow:
        flagged = await uow.disclosures.overdue_unflagged(now, batch)
        for d in flagged:
            await uow.disclosures.flag_overdue(d.case_id, now)
            uow.emit(ev.DisclosureOverdue(enforcement_case_id=d.case_id,
                                          team_unit_id=d.team_unit_id, due=d.due,
                                          flagged_at=now),
                     topic=ENFORCEMENT.name, key=str(d.case_id))
        warn_before = now - timedelta(days=policy.decision_warn_days)
        warned = await uow.cases.due_for_warning(warn_before, batch)
        for case in warned:
            assert case.filed_at is not None and case.decision_due is not None
            await uow.cases.mark_warned(case.case_id, now)
            uow.emit(ev.DecisionDeadlineWarning(
                enforcement_case_id=case.case_id, team_unit_id=case.team_unit_id,
                filed_at=case.filed_at, decision_due=case.decision_due, warned_at=now),
                topic=ENFORCEMENT.name, key=str(case.case_id))
        overdue = await uow.cases.due_for_overdue(now, batch)
        for case in overdue:
            assert case.filed_at is not None and case.decision_due is not None
            await uow.cases.mark_overdue(case.case_id, now)
            uow.emit(ev.DecisionOverdue(
                enforcement_case_id=case.case_id, team_unit_id=case.team_unit_id,
                filed_at=case.filed_at, decision_due=case.decision_due, flagged_at=now),
                topic=ENFORCEMENT.name, key=str(case.case_id))
        cases_overdue = await uow.cases.count_overdue(now)
        disclosures_overdue = await uow.disclosures.count_overdue(now)
        await uow.commit()
    metrics.DISCLOSURES_FLAGGED.inc(len(flagged))
    metrics.DECISION_WARNINGS.inc(len(warned))
    metrics.DECISIONS_OVERDUE_FLAGGED.inc(len(overdue))
    metrics.CASES_OVERDUE.set(cases_overdue)
    metrics.DISCLOSURES_OVERDUE.set(disclosures_overdue)
    return CheckResult(len(flagged), len(warned), len(overdue), cases_overdue,
                       disclosures_overdue)
