"""Enforcement's HTTP routes: thin, they authenticate, parse, call a handler and shape
the answer. Teams act on their own cases only (another team's case is a 404).

No ``from __future__ import annotations`` here: the dependency aliases (Team, AnyUnit)
are built at run time inside build_router, and FastAPI must see them evaluated.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from civicgrid_shared.logs import correlation_id
from civicgrid_shared.web.inputs import ValidatedRoute
from civicgrid_shared.web.responses import error_responses
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from civicgrid_enforcement.adapters.reference import UnitInfo
from civicgrid_enforcement.domain import commands as c
from civicgrid_enforcement.domain.case import CaseState, EnforcementCase
from civicgrid_enforcement.domain.errors import Conflict, NotFound
from civicgrid_enforcement.entrypoints.auth import UnitKeys, requires_unit
from civicgrid_enforcement.reference.catalog import EnforcementCatalog
from civicgrid_enforcement.service_layer import views
from civicgrid_enforcement.service_layer.handlers import Enforcement
from civicgrid_enforcement.service_layer.unit_of_work import EnforcementUnitOfWork


def install_error_handlers(app: FastAPI) -> None:
    """409 for illegal transitions, 404 for unknown cases. A broken rule (``Rejected``, a
    ``SafeError``) is the shell's 422 with the field path its message names."""

    @app.exception_handler(Conflict)
    async def on_conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse(status_code=409, content={
            "error": "conflict", "errors": [{"field": "", "reason": str(exc)}]})

    @app.exception_handler(NotFound)
    async def on_not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"error": str(exc)})



def _cid() -> uuid.UUID | None:
    raw = correlation_id.get()
    return uuid.UUID(raw) if raw else None


def _brief(case: EnforcementCase) -> dict[str, Any]:
    return {"case_id": case.case_id, "state": case.state.value,
            "case_number": case.case_number, "violation_code": case.violation_code,
            "decision_due": case.decision_due,
            "outcome": case.decision.outcome if case.decision else None}


def build_router(handlers: Enforcement, make_uow: Callable[[], EnforcementUnitOfWork],
                 keys: UnitKeys, catalog: EnforcementCatalog) -> APIRouter:
    router = APIRouter(prefix="/v1/enforcement", route_class=ValidatedRoute)
    Team = Annotated[UnitInfo, Depends(requires_unit(keys))]
    AnyUnit = Annotated[UnitInfo, Depends(requires_unit(keys, kind=None))]
    Limit = Annotated[int, Query(ge=1, le=500)]
    Offset = Annotated[int, Query(ge=0)]
    h = handlers
    # What a keyed route may answer besides 2xx and 422 (another team's case is a 404).
    KEYED = error_responses(401, 403)
    READ = error_responses(401, 403, 404)
    ACT = error_responses(401, 403, 404, 409)

    def now() -> datetime:
        return datetime.now(UTC)

    # -- public ---------------------------------------------------------------------------
    @router.get("/catalog", tags=["catalog"],
                summary="The enforcement catalog with its discretion benchmarks (public).")
    async def get_catalog() -> dict[str, Any]:
        return catalog.model_dump(mode="json")

    @router.get("/disclosures", tags=["disclosure"],
                summary="Published decisions (行政执法公示), redacted (public).")
    async def list_disclosures(team_unit_id: str | None = None, since: date | None = None,
                               limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
        items = await views.disclosures(make_uow(), team_unit_id=team_unit_id, since=since,
                                        limit=limit, offset=offset)
        return {"disclosures": items}

    # -- leads and cases -------------------------------------------------------------------
    @router.post("/leads", status_code=201, tags=["cases"], responses=KEYED,
                 summary="A patrol finding of the team: opens a lead.")
    async def patrol_lead(cmd: c.PatrolLead, team: Team) -> dict[str, Any]:
        return _brief(await h.open_patrol_lead(cmd, team, make_uow(), _cid()))

    @router.get("/cases", tags=["cases"], responses=KEYED, summary="The team's cases.")
    async def list_cases(team: Team, state: CaseState | None = None, overdue: bool = False,
                         limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
        items = await views.list_cases(
            make_uow(), team.id, state=state.value if state else None, overdue=overdue,
            limit=limit, offset=offset, catalog=catalog, policy=h.policy, now=now())
        return {"cases": items}

    @router.get("/cases/{case_id}", tags=["cases"], responses=READ,
                summary="One case, with its steps.")
    async def get_case(case_id: uuid.UUID, team: Team) -> dict[str, Any]:
        return await views.case_detail(make_uow(), team.id, case_id, catalog, h.policy, now())

    @router.post("/cases/{case_id}/file", tags=["cases"], responses=ACT,
                 summary="File the case (立案).")
    async def file_case(case_id: uuid.UUID, cmd: c.FileCase, team: Team) -> dict[str, Any]:
        return _brief(await h.file(case_id, cmd, team, make_uow(), _cid()))

    @router.post("/cases/{case_id}/not-file", tags=["cases"], responses=ACT,
                 summary="Do not file the lead (不予立案), with a reason.")
    async def not_file(case_id: uuid.UUID, cmd: c.NotFile, team: Team) -> dict[str, Any]:
        return _brief(await h.not_file(case_id, cmd, team, make_uow(), _cid()))

    @router.post("/cases/{case_id}/investigation", tags=["cases"], responses=ACT,
                 summary="Start the investigation (调查取证).")
    async def investigate(case_id: uuid.UUID, cmd: c.Step, team: Team) -> dict[str, Any]:
        return _brief(await h.start_investigation(case_id, cmd, team, make_uow(), _cid()))

    @router.post("/cases/{case_id}/evidence", status_code=201, tags=["records"], responses=ACT,
                 summary="Record a piece of evidence (a media reference and its SHA-256).")
    async def evidence(case_id: uuid.UUID, cmd: c.Evidence, team: Team) -> dict[str, Any]:
        seq = await h.add_evidence(case_id, cmd, team, make_uow(), _cid())
        return {"case_id": case_id, "seq": seq}

    @router.post("/cases/{case_id}/review-request", tags=["cases"], responses=ACT,
                 summary="Ask for legal review (法制审核) of a proposed decision.")
    async def review_request(case_id: uuid.UUID, cmd: c.ReviewRequest, team: Team
                             ) -> dict[str, Any]:
        return _brief(await h.request_review(case_id, cmd, team, make_uow(), _cid()))

    @router.post("/cases/{case_id}/review", tags=["cases"], responses=ACT,
                 summary="The legal reviewer's conclusion.")
    async def review(case_id: uuid.UUID, cmd: c.ReviewResult, team: Team) -> dict[str, Any]:
        return _brief(await h.complete_review(case_id, cmd, team, make_uow(), _cid()))

    @router.post("/cases/{case_id}/decision", tags=["cases"], responses=ACT,
                 summary="Decide: within the discretion benchmark of the severity tier.")
    async def decide(case_id: uuid.UUID, cmd: c.Decide, team: Team) -> dict[str, Any]:
        return _brief(await h.decide(case_id, cmd, team, make_uow(), _cid()))

    @router.post("/cases/{case_id}/delivery", tags=["cases"], responses=ACT,
                 summary="The decision was delivered (送达).")
    async def deliver(case_id: uuid.UUID, cmd: c.Deliver, team: Team) -> dict[str, Any]:
        return _brief(await h.deliver(case_id, cmd, team, make_uow(), _cid()))

    @router.post("/cases/{case_id}/execution", tags=["cases"], responses=ACT,
                 summary="The decision was executed (fine paid, measure carried out).")
    async def execute(case_id: uuid.UUID, cmd: c.Step, team: Team) -> dict[str, Any]:
        return _brief(await h.execute(case_id, cmd, team, make_uow(), _cid()))

    @router.post("/cases/{case_id}/close", tags=["cases"], responses=ACT,
                 summary="Close the case (结案).")
    async def close(case_id: uuid.UUID, cmd: c.Step, team: Team) -> dict[str, Any]:
        return _brief(await h.close(case_id, cmd, team, make_uow(), _cid()))

    @router.post("/cases/{case_id}/disclosure", status_code=201, tags=["disclosure"], responses=ACT,
                 summary="Publish the decision (公示), built from whitelisted fields.")
    async def disclose(case_id: uuid.UUID, cmd: c.Disclose, team: Team) -> dict[str, Any]:
        return await h.disclose(case_id, cmd, team, make_uow(), _cid())

    @router.get("/cases/{case_id}/chain", tags=["records"], responses=READ,
                summary="The case's full-process records, hash-chained.")
    async def get_chain(case_id: uuid.UUID, team: Team) -> dict[str, Any]:
        records = await views.chain_records(make_uow(), team.id, case_id)
        return {"case_id": case_id, "records": [
            {"seq": r.seq, "prev_hash": r.prev_hash, "hash": r.hash, "record": r.record}
            for r in records]}

    @router.get("/cases/{case_id}/chain/verify", tags=["records"], responses=READ,
                summary="Recompute the chain: ok, or the first broken link.")
    async def verify(case_id: uuid.UUID, team: Team) -> dict[str, Any]:
        v = await views.verify_chain(make_uow(), team.id, case_id)
        return {"case_id": case_id, "ok": v.ok, "records": v.records, "head": v.head,
                "broken_at_seq": v.broken_at_seq, "reason": v.reason}

    # -- joint inspections ---------------------------------------------------------------
    @router.post("/inspections", status_code=201, tags=["inspections"], responses=KEYED,
                 summary="Plan a joint inspection (综合查一次) combining departments' checklists.")
    async def plan(cmd: c.PlanInspection, team: Team) -> dict[str, Any]:
        return views.inspection_view(await h.plan_inspection(cmd, team, make_uow(), _cid()))

    @router.get("/inspections", tags=["inspections"], responses=KEYED,
                summary="The team's joint inspections and the visits they saved.")
    async def list_inspections(team: Team, limit: Limit = 100, offset: Offset = 0
                               ) -> dict[str, Any]:
        return await views.inspections(make_uow(), team.id, limit, offset)

    @router.get("/inspections/{inspection_id}", tags=["inspections"], responses=READ,
                summary="One joint inspection (its team, or a department taking part).")
    async def get_inspection(inspection_id: uuid.UUID, unit: AnyUnit) -> dict[str, Any]:
        if unit.kind == "enforcement_team":
            return await views.inspection(make_uow(), inspection_id, team_unit_id=unit.id)
        return await views.inspection(make_uow(), inspection_id,
                                      department=(unit.kind, unit.territory_code))

    @router.post("/inspections/{inspection_id}/confirmations", tags=["inspections"], responses=ACT,
                 summary="A department confirms it takes part (its own API key).")
    async def confirm(inspection_id: uuid.UUID, cmd: c.ConfirmInspection, unit: AnyUnit
                      ) -> dict[str, Any]:
        insp = await h.confirm_inspection(inspection_id, cmd, unit, make_uow(), _cid())
        return views.inspection_view(insp)

    @router.post("/inspections/{inspection_id}/results", tags=["inspections"], responses=ACT,
                 summary="Record the results once; each violation found opens its own case.")
    async def results(inspection_id: uuid.UUID, cmd: c.InspectionResults, team: Team
                      ) -> dict[str, Any]:
        insp, case_ids = await h.record_inspection_results(inspection_id, cmd, team,
                                                           make_uow(), _cid())
        return views.inspection_view(insp, case_ids)

    return router
