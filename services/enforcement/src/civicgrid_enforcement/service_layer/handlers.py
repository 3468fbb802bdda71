"""Enforcement's handlers: a command or event plus a unit of work; state changed, records
appended to the case's hash chain and events emitted through the outbox.

Every handler that changes a case locks its row first (SELECT ... FOR UPDATE), so two
appends to one chain can never fork it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from civicgrid_shared.contracts.envelope import Envelope, EventPayload
from civicgrid_shared.contracts.events import CaseHandedOver, EnforcementOutcome, TerritoryRef
from civicgrid_shared.contracts.topics import ENFORCEMENT

from civicgrid_enforcement import metrics
from civicgrid_enforcement.adapters.reference import UnitInfo
from civicgrid_enforcement.adapters.repository import Party, decision_to_json
from civicgrid_enforcement.domain import commands as c
from civicgrid_enforcement.domain import events as ev
from civicgrid_enforcement.domain.case import CaseState, EnforcementCase, Source
from civicgrid_enforcement.domain.chain import digest
from civicgrid_enforcement.domain.disclosure import build_disclosure, disclosure_due, penalty_text
from civicgrid_enforcement.domain.discretion import (
    Decision,
    DecisionKind,
    Policy,
    Procedure,
    assess,
)
from civicgrid_enforcement.domain.errors import Conflict, NotFound, Rejected
from civicgrid_enforcement.domain.inspection import JointInspection
from civicgrid_enforcement.reference.catalog import EnforcementCatalog, Violation
from civicgrid_enforcement.service_layer.unit_of_work import EnforcementUnitOfWork

SYSTEM = "system"
FROM_DISPATCH = "enforcement"  # CaseHandedOver.to for this service


class Teams(Protocol):
    def unit(self, unit_id: str) -> UnitInfo | None: ...

    def team_for(self, unit_id: str, territory: TerritoryRef) -> UnitInfo | None: ...

    def grid_exists(self, grid_code: str) -> bool: ...


def _now() -> datetime:
    return datetime.now(UTC)


def _territory_of_grid(grid_code: str) -> TerritoryRef:
    return TerritoryRef(county_code=grid_code[6:12], township_code=grid_code[6:15],
                        community_code=grid_code[6:18], grid_code=grid_code)


@dataclass
class Enforcement:
    """The handlers, with the reference data and policy they need (wired in bootstrap)."""

    catalog: EnforcementCatalog
    teams: Teams
    policy: Policy = field(default_factory=Policy)
    clock: Callable[[], datetime] = _now

    # -- helpers ----------------------------------------------------------------------
    @staticmethod
    def _emit(uow: EnforcementUnitOfWork, payload: EventPayload, key: uuid.UUID,
              correlation_id: uuid.UUID | None, causation_id: uuid.UUID | None = None
              ) -> None:
        uow.emit(payload, topic=ENFORCEMENT.name, key=str(key),
                 correlation_id=correlation_id, causation_id=causation_id)

    async def _load(self, uow: EnforcementUnitOfWork, team: UnitInfo, case_id: uuid.UUID
                    ) -> EnforcementCase:
        row = await uow.cases.get(case_id, for_update=True)
        if row is None or row.case.team_unit_id != team.id:
            raise NotFound("no such enforcement case for this team")
        return row.case

    @staticmethod
    async def _persist(uow: EnforcementUnitOfWork, case: EnforcementCase) -> None:
        """Save the case and append its new steps to the chain (who, when, why)."""
        await uow.cases.save(case)
        for step in case.steps:
            await uow.records.append(case.case_id, "step", step.at, step.actor, {
                "from": step.from_state.value if step.from_state else None,
                "to": step.to_state.value, "reason": step.reason})
        case.steps.clear()

    @staticmethod
    async def _append_evidence(uow: EnforcementUnitOfWork, case: EnforcementCase,
                               items: list[c.Evidence]) -> list[tuple[int, c.Evidence]]:
        out = []
        for e in items:
            rec = await uow.records.append(case.case_id, "evidence", e.recorded_at,
                                           e.recorder_id, {
                "uri": e.uri, "sha256": e.sha256, "media_kind": e.media_kind.value,
                "recorded_at": e.recorded_at.isoformat(), "grid_code": e.grid_code,
                "note": e.note})
            out.append((rec.seq, e))
        return out

    def _emit_evidence(self, uow: EnforcementUnitOfWork, case: EnforcementCase,
                       appended: list[tuple[int, c.Evidence]], cid: uuid.UUID | None) -> None:
        for seq, e in appended:
            self._emit(uow, ev.EvidenceRecorded(
                enforcement_case_id=case.case_id, team_unit_id=case.team_unit_id, seq=seq,
                media_kind=e.media_kind.value, sha256=e.sha256, recorded_at=e.recorded_at),
                case.case_id, cid)

    def _violation(self, code: str | None) -> Violation:
        v = self.catalog.violation(code) if code else None
        if v is None:
            raise Rejected("violation_code: not in the enforcement catalog")
        return v

    def _lead_created(self, case: EnforcementCase, territory: TerritoryRef) -> ev.LeadCreated:
        return ev.LeadCreated(
            enforcement_case_id=case.case_id, source=case.source.value,
            team_unit_id=case.team_unit_id, territory=territory, matter_code=case.matter_code,
            violation_code=case.violation_code, dispatch_case_id=case.dispatch_case_id,
            inspection_id=case.inspection_id, created_at=case.created_at)

    def _outcome(self, uow: EnforcementUnitOfWork, case: EnforcementCase, outcome: str,
                 summary: str, decided_at: datetime, cid: uuid.UUID | None) -> None:
        """Back to dispatch, keyed by the dispatch case id (only for its hand-overs)."""
        if case.dispatch_case_id is None:
            return
        uow.emit(EnforcementOutcome(case_id=case.dispatch_case_id,
                                    enforcement_case_id=case.case_id, outcome=outcome,
                                    summary=summary, decided_at=decided_at),
                 topic=ENFORCEMENT.name, key=str(case.dispatch_case_id), correlation_id=cid,
                 subject=str(case.dispatch_case_id))

    def _stepped(self, uow: EnforcementUnitOfWork, case: EnforcementCase, before: CaseState,
                 officer: str, at: datetime, cid: uuid.UUID | None) -> None:
        self._emit(uow, ev.CaseStepped(
            enforcement_case_id=case.case_id, team_unit_id=case.team_unit_id,
            from_state=before.value, to_state=case.state.value, officer_id=officer, at=at),
            case.case_id, cid)

    # -- leads --------------------------------------------------------------------------
    async def on_case_handed_over(self, event: CaseHandedOver, meta: Envelope,
                                  uow: EnforcementUnitOfWork) -> None:
        """A lead linked to the dispatch case (consumer; the batch commits)."""
        if event.to != FROM_DISPATCH:
            return  # for mediation or the green channel
        now = self.clock()
        team = self.teams.team_for(event.unit_id, event.territory)
        suggested = self.catalog.for_matter(event.matter_code)
        case = EnforcementCase.open_lead(
            uuid.uuid4(), Source.DISPATCH, team.id if team else "none",
            team.territory_code if team else (event.territory.township_code or ""),
            now, SYSTEM, "handed over by dispatch", grid_code=event.territory.grid_code,
            matter_code=event.matter_code,
            violation_code=suggested.code if suggested else None,
            dispatch_case_id=event.case_id)
        if not await uow.cases.add(case, event.content):
            return  # this dispatch case already has its enforcement case
        if team is None:
            case.not_file("no_team", "no enforcement team serves this territory", SYSTEM, now)
        await self._persist(uow, case)
        self._emit(uow, self._lead_created(case, event.territory), case.case_id,
                   meta.correlation_id, meta.id)
        metrics.LEADS.labels(Source.DISPATCH.value).inc()
        if team is None:
            self._outcome(uow, case, "not_filed", "不予立案：本辖区无综合行政执法队", now,
                          meta.correlation_id)

    async def open_patrol_lead(self, cmd: c.PatrolLead, team: UnitInfo,
                               uow: EnforcementUnitOfWork, cid: uuid.UUID | None
                               ) -> EnforcementCase:
        if not self.teams.grid_exists(cmd.grid_code):
            raise Rejected("grid_code: not a grid of this city")
        if cmd.grid_code[6:15] != team.territory_code:
            raise Rejected("grid_code: outside this team's township")
        violation = self._violation(cmd.violation_code) if cmd.violation_code else None
        now = self.clock()
        case = EnforcementCase.open_lead(
            uuid.uuid4(), Source.PATROL, team.id, team.territory_code, now, cmd.officer_id,
            "patrol finding", grid_code=cmd.grid_code,
            violation_code=violation.code if violation else None)
        async with uow:
            await uow.cases.add(case, cmd.description)
            await self._persist(uow, case)
            appended = await self._append_evidence(uow, case, cmd.evidence)
            self._emit(uow, self._lead_created(case, _territory_of_grid(cmd.grid_code)),
                       case.case_id, cid)
            self._emit_evidence(uow, case, appended, cid)
            await uow.commit()
        metrics.LEADS.labels(Source.PATROL.value).inc()
        return case

    # -- filing -------------------------------------------------------------------------
    async def file(self, case_id: uuid.UUID, cmd: c.FileCase, team: UnitInfo,
                   uow: EnforcementUnitOfWork, cid: uuid.UUID | None) -> EnforcementCase:
        async with uow:
            case = await self._load(uow, team, case_id)
            violation = self._violation(cmd.violation_code or case.violation_code)
            if case.state is not CaseState.LEAD:  # before a case number is drawn
                raise Conflict(f"a case that is {case.state} cannot be filed")
            now = self.clock()
            number = await uow.cases.next_case_number(now)
            case.file(violation, number, cmd.officer_id, now, self.policy, cmd.reason)
            party = Party(cmd.party.party_type, cmd.party.name, cmd.party.id_number,
                          cmd.party.phone, cmd.party.address)
            await uow.cases.set_party(case.case_id, party)
            await self._persist(uow, case)
            await uow.records.append(case.case_id, "party", now, cmd.officer_id, {
                "party_type": party.party_type.value, "digest": party.digest()})
            assert case.decision_due is not None
            self._emit(uow, ev.CaseFiled(
                enforcement_case_id=case.case_id, case_number=number,
                team_unit_id=team.id, violation_code=violation.code,
                department_kind=violation.department_kind, officer_id=cmd.officer_id,
                filed_at=now, decision_due=case.decision_due), case.case_id, cid)
            await uow.commit()
        metrics.CASES_FILED.labels(violation.category).inc()
        return case

    async def not_file(self, case_id: uuid.UUID, cmd: c.NotFile, team: UnitInfo,
                       uow: EnforcementUnitOfWork, cid: uuid.UUID | None) -> EnforcementCase:
        async with uow:
            case = await self._load(uow, team, case_id)
            now = self.clock()
            case.not_file(cmd.reason_code.value, cmd.reason, cmd.officer_id, now)
            await self._persist(uow, case)
            self._emit(uow, ev.CaseNotFiled(
                enforcement_case_id=case.case_id, team_unit_id=team.id,
                reason_code=cmd.reason_code.value, officer_id=cmd.officer_id, at=now),
                case.case_id, cid)
            # The summary is built from the reason code only: free text stays here.
            self._outcome(uow, case, "not_filed", f"不予立案：{cmd.reason_code.value}", now,
                          cid)
            await uow.commit()
        metrics.CASES_NOT_FILED.labels(cmd.reason_code.value).inc()
        return case

    async def start_investigation(self, case_id: uuid.UUID, cmd: c.Step, team: UnitInfo,
                                  uow: EnforcementUnitOfWork, cid: uuid.UUID | None
                                  ) -> EnforcementCase:
        async with uow:
            case = await self._load(uow, team, case_id)
            before, now = case.state, self.clock()
            case.start_investigation(cmd.officer_id, now, cmd.reason)
            await self._persist(uow, case)
            self._stepped(uow, case, before, cmd.officer_id, now, cid)
            await uow.commit()
        return case

    async def add_evidence(self, case_id: uuid.UUID, cmd: c.Evidence, team: UnitInfo,
                           uow: EnforcementUnitOfWork, cid: uuid.UUID | None) -> int:
        async with uow:
            case = await self._load(uow, team, case_id)
            if case.is_final:
                raise Conflict(f"a case that is {case.state} takes no more evidence")
            appended = await self._append_evidence(uow, case, [cmd])
            self._emit_evidence(uow, case, appended, cid)
            await uow.commit()
        return appended[0][0]

    # -- review and decision --------------------------------------------------------------
    async def _decision(self, uow: EnforcementUnitOfWork, case: EnforcementCase,
                        f: c.DecisionFields) -> tuple[Decision, Violation]:
        party = await uow.cases.party(case.case_id)
        if party is None:
            raise Conflict("the case has no party; file it first")
        violation = self._violation(case.violation_code)
        decision = Decision(kind=f.kind, procedure=f.procedure, party_type=party.party_type,
                            severity=f.severity, fine_yuan=f.fine_yuan,
                            measures=tuple(dict.fromkeys(f.measures)),
                            first_offence=f.first_offence, corrected=f.corrected)
        return decision, violation

    async def request_review(self, case_id: uuid.UUID, cmd: c.ReviewRequest, team: UnitInfo,
                             uow: EnforcementUnitOfWork, cid: uuid.UUID | None
                             ) -> EnforcementCase:
        async with uow:
            case = await self._load(uow, team, case_id)
            decision, violation = await self._decision(uow, case, cmd.proposal)
            assessment = assess(violation, decision, self.policy)
            before, now = case.state, self.clock()
            case.request_review(decision, cmd.officer_id, now)
            await self._persist(uow, case)
            await uow.records.append(case.case_id, "review_request", now, cmd.officer_id, {
                "proposal": decision_to_json(decision), "major": assessment.major,
                "major_reasons": list(assessment.major_reasons)})
            self._stepped(uow, case, before, cmd.officer_id, now, cid)
            await uow.commit()
        return case

    async def complete_review(self, case_id: uuid.UUID, cmd: c.ReviewResult, team: UnitInfo,
                              uow: EnforcementUnitOfWork, cid: uuid.UUID | None
                              ) -> EnforcementCase:
        async with uow:
            case = await self._load(uow, team, case_id)
            now = self.clock()
            case.complete_review(cmd.reviewer_id, cmd.approved, cmd.opinion, now)
            await self._persist(uow, case)
            await uow.records.append(case.case_id, "review", now, cmd.reviewer_id, {
                "approved": cmd.approved, "opinion": cmd.opinion})
            self._emit(uow, ev.LegalReviewed(
                enforcement_case_id=case.case_id, team_unit_id=team.id,
                approved=cmd.approved, reviewer_id=cmd.reviewer_id, reviewed_at=now),
                case.case_id, cid)
            await uow.commit()
        return case

    async def decide(self, case_id: uuid.UUID, cmd: c.Decide, team: UnitInfo,
                     uow: EnforcementUnitOfWork, cid: uuid.UUID | None) -> EnforcementCase:
        if cmd.delivered_on_the_spot and cmd.procedure is not Procedure.SIMPLE:
            raise Rejected("delivered_on_the_spot: only for the simple procedure")
        async with uow:
            case = await self._load(uow, team, case_id)
            decision, violation = await self._decision(uow, case, cmd)
            assessment = assess(violation, decision, self.policy)
            now = self.clock()
            case.decide(decision, assessment, cmd.officer_id, now, self.policy)
            if cmd.delivered_on_the_spot:
                case.deliver(cmd.officer_id, now, "in_person, on the spot")
            await self._persist(uow, case)
            await uow.records.append(case.case_id, "decision", now, cmd.officer_id, {
                **decision_to_json(decision), "major": assessment.major,
                "major_reasons": list(assessment.major_reasons), "reason": cmd.reason})
            due = None
            if decision.kind is not DecisionKind.NO_VIOLATION:
                due = disclosure_due(now, self.policy.disclosure_working_days)
                await uow.disclosures.schedule(case.case_id, team.id, now, due)
            assert case.case_number is not None
            self._emit(uow, ev.DecisionMade(
                enforcement_case_id=case.case_id, case_number=case.case_number,
                team_unit_id=team.id, violation_code=violation.code, kind=decision.kind.value,
                procedure=decision.procedure.value, party_type=decision.party_type.value,
                severity=decision.severity.value if decision.severity else None,
                fine_yuan=decision.fine_yuan, measures=[m.value for m in decision.measures],
                major=assessment.major, officer_id=cmd.officer_id, decided_at=now,
                disclosure_due=due), case.case_id, cid)
            if cmd.delivered_on_the_spot:
                self._stepped(uow, case, CaseState.DECIDED, cmd.officer_id, now, cid)
            await uow.commit()
        metrics.DECISIONS.labels(decision.kind.value, decision.procedure.value).inc()
        if decision.fine_yuan:
            metrics.PENALTIES_YUAN.labels(decision.party_type.value).inc(decision.fine_yuan)
        if decision.kind is DecisionKind.EXEMPTED:
            metrics.EXEMPTIONS.inc()
        if assessment.major:
            metrics.MAJOR_DECISIONS.inc()
        return case

    async def deliver(self, case_id: uuid.UUID, cmd: c.Deliver, team: UnitInfo,
                      uow: EnforcementUnitOfWork, cid: uuid.UUID | None) -> EnforcementCase:
        async with uow:
            case = await self._load(uow, team, case_id)
            before, now = case.state, self.clock()
            case.deliver(cmd.officer_id, now, cmd.method.value)
            await self._persist(uow, case)
            self._stepped(uow, case, before, cmd.officer_id, now, cid)
            await uow.commit()
        return case

    async def execute(self, case_id: uuid.UUID, cmd: c.Step, team: UnitInfo,
                      uow: EnforcementUnitOfWork, cid: uuid.UUID | None) -> EnforcementCase:
        async with uow:
            case = await self._load(uow, team, case_id)
            before, now = case.state, self.clock()
            case.execute(cmd.officer_id, now, cmd.reason)
            await self._persist(uow, case)
            self._stepped(uow, case, before, cmd.officer_id, now, cid)
            await uow.commit()
        return case

    async def close(self, case_id: uuid.UUID, cmd: c.Step, team: UnitInfo,
                    uow: EnforcementUnitOfWork, cid: uuid.UUID | None) -> EnforcementCase:
        async with uow:
            case = await self._load(uow, team, case_id)
            now = self.clock()
            case.close(cmd.officer_id, now, cmd.reason)
            await self._persist(uow, case)
            assert case.decision is not None and case.decided_at is not None
            outcome = case.decision.outcome
            self._emit(uow, ev.CaseClosed(
                enforcement_case_id=case.case_id, team_unit_id=team.id, outcome=outcome,
                officer_id=cmd.officer_id, closed_at=now), case.case_id, cid)
            violation = self._violation(case.violation_code)
            summary = (f"{violation.name}（{violation.code}），{case.case_number}："
                       f"{penalty_text(case.decision)}")
            self._outcome(uow, case, outcome, summary, case.decided_at, cid)
            await uow.commit()
        metrics.CASES_CLOSED.labels(outcome).inc()
        return case

    # -- disclosure ----------------------------------------------------------------------
    async def disclose(self, case_id: uuid.UUID, cmd: c.Disclose, team: UnitInfo,
                       uow: EnforcementUnitOfWork, cid: uuid.UUID | None) -> dict[str, Any]:
        async with uow:
            case = await self._load(uow, team, case_id)
            pending = await uow.disclosures.get(case.case_id)
            if pending is None or case.decision is None or case.decided_at is None:
                raise Conflict("this case has no decision to disclose")
            if pending["disclosed_at"] is not None:
                raise Conflict("this decision is already disclosed")
            party = await uow.cases.party(case.case_id)
            assert case.case_number is not None
            now = self.clock()
            content = build_disclosure(
                disclosure_id=uuid.uuid4(), case_number=case.case_number,
                violation=self._violation(case.violation_code), decision=case.decision,
                decided_at=case.decided_at, party_name=party.name if party else None,
                team_unit_id=team.id, team_name=team.name, disclosed_at=now)
            on_time = now <= pending["due"]
            body = content.model_dump(mode="json")
            await uow.disclosures.publish(case.case_id, content.disclosure_id, body, now,
                                          on_time)
            await uow.records.append(case.case_id, "disclosure", now, cmd.officer_id, {
                "disclosure_id": str(content.disclosure_id), "on_time": on_time,
                "content_sha256": digest(body)})
            self._emit(uow, ev.Disclosed(
                enforcement_case_id=case.case_id, disclosure_id=content.disclosure_id,
                case_number=content.case_number, team_unit_id=team.id,
                violation_code=content.violation_code, decision=content.decision,
                penalty=content.penalty, fine_yuan=content.fine_yuan, party=content.party,
                decided_on=content.decided_on, due=pending["due"], on_time=on_time,
                disclosed_at=now), case.case_id, cid)
            await uow.commit()
        metrics.DISCLOSURES.labels("on_time" if on_time else "late").inc()
        return body

    # -- joint inspections ----------------------------------------------------------------
    async def plan_inspection(self, cmd: c.PlanInspection, team: UnitInfo,
                              uow: EnforcementUnitOfWork, cid: uuid.UUID | None
                              ) -> JointInspection:
        if not self.teams.grid_exists(cmd.grid_code):
            raise Rejected("grid_code: not a grid of this city")
        if cmd.grid_code[6:15] != team.territory_code:
            raise Rejected("grid_code: outside this team's township")
        checklists: dict[str, tuple[str, ...]] = {}
        for i, dept in enumerate(cmd.departments):
            own = {v.code for v in self.catalog.by_department(dept.department_kind)}
            if not own:
                raise Rejected(f"departments.{i}.department_kind: no checklist in the catalog")
            if dept.department_kind in checklists:
                raise Rejected(f"departments.{i}.department_kind: listed twice")
            items = dept.items or sorted(own)
            for j, code in enumerate(items):
                if code not in own:
                    raise Rejected(f"departments.{i}.items.{j}: not a violation of "
                                   f"{dept.department_kind}")
            checklists[dept.department_kind] = tuple(dict.fromkeys(items))
        now = self.clock()
        insp = JointInspection(uuid.uuid4(), team.id, team.territory_code, cmd.grid_code,
                               cmd.business_ref, cmd.planned_for, checklists, now)
        async with uow:
            await uow.inspections.add(insp)
            self._emit(uow, ev.InspectionPlanned(
                inspection_id=insp.inspection_id, team_unit_id=team.id,
                departments=list(insp.departments), planned_for=cmd.planned_for,
                created_at=now), insp.inspection_id, cid)
            await uow.commit()
        return insp

    async def confirm_inspection(self, inspection_id: uuid.UUID, cmd: c.ConfirmInspection,
                                 department: UnitInfo, uow: EnforcementUnitOfWork,
                                 cid: uuid.UUID | None) -> JointInspection:
        async with uow:
            insp = await uow.inspections.get(inspection_id, for_update=True)
            if (insp is None or department.kind not in insp.checklists
                    or department.territory_code != insp.township_code[:6]):
                raise NotFound("no such joint inspection for this department")
            now = self.clock()
            if insp.confirm(department.kind, department.id, cmd.officer_id, now):
                await uow.inspections.save(insp)
                self._emit(uow, ev.InspectionConfirmed(
                    inspection_id=insp.inspection_id, department_kind=department.kind,
                    unit_id=department.id, all_confirmed=insp.state == "confirmed",
                    confirmed_at=now), insp.inspection_id, cid)
                await uow.commit()
        return insp

    async def record_inspection_results(
        self, inspection_id: uuid.UUID, cmd: c.InspectionResults, team: UnitInfo,
        uow: EnforcementUnitOfWork, cid: uuid.UUID | None,
    ) -> tuple[JointInspection, list[uuid.UUID]]:
        async with uow:
            insp = await uow.inspections.get(inspection_id, for_update=True)
            if insp is None or insp.team_unit_id != team.id:
                raise NotFound("no such joint inspection for this team")
            insp.record_results([v.violation_code for v in cmd.violations], cmd.performed_at)
            now = self.clock()
            territory = _territory_of_grid(insp.grid_code)
            case_ids = []
            for found in cmd.violations:
                violation = self._violation(found.violation_code)
                case = EnforcementCase.open_lead(
                    uuid.uuid4(), Source.INSPECTION, team.id, team.territory_code, now,
                    cmd.officer_id, "found during a joint inspection",
                    grid_code=insp.grid_code, violation_code=violation.code,
                    inspection_id=insp.inspection_id)
                await uow.cases.add(case, found.note)
                await self._persist(uow, case)
                appended = await self._append_evidence(uow, case, found.evidence)
                self._emit(uow, self._lead_created(case, territory), case.case_id, cid)
                self._emit_evidence(uow, case, appended, cid)
                case_ids.append(case.case_id)
            await uow.inspections.save(insp, case_ids)
            self._emit(uow, ev.InspectionCompleted(
                inspection_id=insp.inspection_id, team_unit_id=team.id,
                departments=list(insp.departments),
                inspections_saved=insp.inspections_saved,
                violations_found=len(case_ids), case_ids=case_ids,
                performed_at=cmd.performed_at), insp.inspection_id, cid)
            await uow.commit()
        metrics.JOINT_INSPECTIONS.inc()
        metrics.INSPECTIONS_SAVED.inc(insp.inspections_saved)
        metrics.LEADS.labels(Source.INSPECTION.value).inc(len(case_ids))
        return insp, case_ids

