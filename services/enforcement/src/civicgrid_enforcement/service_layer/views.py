"""Read models for the HTTP API (queries, no state change)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from civicgrid_enforcement.adapters.repository import CaseRow, decision_to_json
from civicgrid_enforcement.domain import chain
from civicgrid_enforcement.domain.case import decision_deadline_status
from civicgrid_enforcement.domain.disclosure import mask_name
from civicgrid_enforcement.domain.discretion import Policy
from civicgrid_enforcement.domain.errors import NotFound
from civicgrid_enforcement.domain.inspection import JointInspection
from civicgrid_enforcement.reference.catalog import EnforcementCatalog
from civicgrid_enforcement.service_layer.unit_of_work import EnforcementUnitOfWork


def _mask_digits(value: str | None, keep_head: int, keep_tail: int) -> str | None:
    if not value:
        return None
    if len(value) <= keep_head + keep_tail:
        return "*" * len(value)
    return value[:keep_head] + "*" * (len(value) - keep_head - keep_tail) + value[-keep_tail:]


def case_summary(row: CaseRow, catalog: EnforcementCatalog, policy: Policy, now: datetime
                 ) -> dict[str, Any]:
    case = row.case
    violation = catalog.violation(case.violation_code) if case.violation_code else None
    return {
        "case_id": case.case_id, "case_number": case.case_number, "state": case.state.value,
        "source": case.source.value, "team_unit_id": case.team_unit_id,
        "township_code": case.township_code, "grid_code": case.grid_code,
        "matter_code": case.matter_code, "violation_code": case.violation_code,
        "violation": violation.name if violation else None,
        "dispatch_case_id": case.dispatch_case_id, "inspection_id": case.inspection_id,
        "created_at": case.created_at, "filed_at": case.filed_at,
        "decision_due": case.decision_due,
        "decision_deadline": decision_deadline_status(case, now, policy),
        "decision": decision_to_json(case.decision) if case.decision else None,
        "outcome": case.decision.outcome if case.decision else (
            "not_filed" if case.not_filed_reason else None),
        "not_filed_reason": case.not_filed_reason,
        "decided_at": case.decided_at, "closed_at": case.closed_at,
    }


async def case_detail(uow: EnforcementUnitOfWork, team_unit_id: str, case_id: uuid.UUID,
                      catalog: EnforcementCatalog, policy: Policy, now: datetime
                      ) -> dict[str, Any]:
    async with uow:
        row = await uow.cases.get(case_id)
        if row is None or row.case.team_unit_id != team_unit_id:
            raise NotFound("no such enforcement case for this team")
        party = await uow.cases.party(case_id)
        records = await uow.records.all(case_id)
    out = case_summary(row, catalog, policy, now)
    out["description"] = row.description
    out["party"] = None if party is None else {
        "party_type": party.party_type.value, "name": mask_name(party.name),
        "id_number": _mask_digits(party.id_number, 4, 4),
        "phone": _mask_digits(party.phone, 3, 4),
        "has_address": party.address is not None,
    }
    out["review"] = None
    if row.case.review is not None:
        r = row.case.review
        out["review"] = {"proposal": decision_to_json(r.proposal),
                         "requested_by": r.requested_by, "reviewer": r.reviewer,
                         "approved": r.approved, "reviewed_at": r.reviewed_at}
    out["steps"] = [{"seq": rec.seq, "actor": rec.record["actor"], "at": rec.record["at"],
                     **rec.record["data"]} for rec in records if rec.record["kind"] == "step"]
    out["evidence"] = [{"seq": rec.seq, **rec.record["data"]} for rec in records
                       if rec.record["kind"] == "evidence"]
    out["records"] = len(records)
    return out


async def list_cases(uow: EnforcementUnitOfWork, team_unit_id: str, *, state: str | None,
                     overdue: bool, limit: int, offset: int, catalog: EnforcementCatalog,
                     policy: Policy, now: datetime) -> list[dict[str, Any]]:
    async with uow:
        rows = await uow.cases.list_for_team(team_unit_id, state=state, overdue=overdue,
                                             now=now, limit=limit, offset=offset)
    return [case_summary(r, catalog, policy, now) for r in rows]


async def chain_records(uow: EnforcementUnitOfWork, team_unit_id: str, case_id: uuid.UUID
                        ) -> list[chain.ChainRecord]:
    async with uow:
        row = await uow.cases.get(case_id)
        if row is None or row.case.team_unit_id != team_unit_id:
            raise NotFound("no such enforcement case for this team")
        return await uow.records.all(case_id)


async def verify_chain(uow: EnforcementUnitOfWork, team_unit_id: str, case_id: uuid.UUID
                       ) -> chain.Verification:
    return chain.verify(await chain_records(uow, team_unit_id, case_id))


async def disclosures(uow: EnforcementUnitOfWork, *, team_unit_id: str | None,
                      since: date | None, limit: int, offset: int) -> list[dict[str, Any]]:
    async with uow:
        return await uow.disclosures.published(team_unit_id=team_unit_id, since=since,
                                               limit=limit, offset=offset)


def inspection_view(insp: JointInspection, case_ids: list[uuid.UUID] | None = None
                    ) -> dict[str, Any]:
    return {
        "inspection_id": insp.inspection_id, "team_unit_id": insp.team_unit_id,
        "grid_code": insp.grid_code, "business_ref": insp.business_ref,
        "planned_for": insp.planned_for, "state": insp.state.value,
        "departments": list(insp.departments),
        "checklists": {k: list(v) for k, v in insp.checklists.items()},
        "confirmed": sorted(insp.confirmations), "performed_at": insp.performed_at,
        "violations_found": list(insp.violations_found),
        "case_ids": case_ids or [],
        "inspections_saved": insp.inspections_saved,
    }


async def inspections(uow: EnforcementUnitOfWork, team_unit_id: str, limit: int, offset: int
                      ) -> dict[str, Any]:
    async with uow:
        items = await uow.inspections.list_for_team(team_unit_id, limit, offset)
        summary = await uow.inspections.summary(team_unit_id)
        views = [inspection_view(i, await uow.inspections.case_ids(i.inspection_id))
                 for i in items]
    return {"summary": {"joint_visits": summary.joint_visits,
                        "departments_combined": summary.departments_combined,
                        "inspections_saved": summary.inspections_saved},
            "inspections": views}


async def inspection(uow: EnforcementUnitOfWork, inspection_id: uuid.UUID, *,
                     team_unit_id: str | None = None,
                     department: tuple[str, str] | None = None) -> dict[str, Any]:
    """For the owning team, or a department (kind, county code) taking part."""
    async with uow:
        insp = await uow.inspections.get(inspection_id)
        ids = await uow.inspections.case_ids(inspection_id) if insp else []
    visible = insp is not None and (
        (team_unit_id is not None and insp.team_unit_id == team_unit_id)
        or (department is not None and department[0] in insp.checklists
            and insp.township_code[:6] == department[1]))
    if not visible or insp is None:
        raise NotFound("no such joint inspection")
    return inspection_view(insp, ids)
