"""Dispatch's HTTP API: the units' workbench and the city platform's desk.

Every call carries ``X-Api-Key``; the key names a unit (see adapters/api_keys.py). A unit
sees the cases it leads, co-operates on or was summoned to, and acts only on the cases it
leads (a summoned department only responds). The platform endpoints take a key of the
city platform unit.

401 missing or unknown key · 403 not your case / not the platform · 404 unknown case ·
409 not possible in the case's current state · 422 invalid input (field paths).
"""

# No ``from __future__ import annotations``: FastAPI resolves the dependency aliases
# defined inside build_router from the live annotations.
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from civicgrid_shared.contracts.events import (
    Channel,
    EscalationKind,
    TerritoryRef,
    UnitAction,
)
from civicgrid_shared.web.app import domain_error
from civicgrid_shared.web.inputs import ValidatedRoute
from civicgrid_shared.web.responses import error_responses
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from civicgrid_dispatch.adapters.api_keys import ApiKeys
from civicgrid_dispatch.adapters.repository import TransitionRow
from civicgrid_dispatch.domain.case import Case, CaseRuleError, CaseState, IllegalTransition
from civicgrid_dispatch.domain.timers import Deadline
from civicgrid_dispatch.service_layer.lifecycle import Lifecycle, UnitCommand
from civicgrid_dispatch.service_layer.ops import NotYourCase, UnknownCase, UnknownUnit
from civicgrid_dispatch.service_layer.unit_of_work import DispatchUnitOfWork

Role = Literal["lead", "cooperating", "summoned", "platform", "former"]


class TaskView(BaseModel):
    """A case as a unit sees it: the appeal's text and a masked phone, no personal data."""

    case_id: uuid.UUID
    appeal_id: uuid.UUID
    case_number: str
    state: CaseState
    role: Role
    unit_id: str | None
    tier: str | None
    cooperating_unit_ids: list[str]
    matter_code: str
    category_code: str
    priority: str
    channel: Channel
    territory: TerritoryRef
    title: str | None
    content: str | None
    contact_phone_masked: str | None
    received_at: datetime
    registered_at: datetime | None
    assigned_at: datetime | None
    sign_for_due: datetime | None
    resolve_due: datetime | None
    signed_at: datetime | None
    requested_due: datetime | None
    resolved_at: datetime | None
    result: str | None
    callback_due: datetime | None
    closed_at: datetime | None
    return_count: int
    reopen_count: int
    supervision_level: int


class TransitionView(BaseModel):
    seq: int
    from_state: str
    to_state: str
    at: datetime
    reason: str | None
    actor: str | None


class DeadlineView(BaseModel):
    kind: str
    unit_id: str | None
    due_at: datetime
    warn_at: datetime | None
    stage: str


class TaskDetail(TaskView):
    history: list[TransitionView]
    deadlines: list[DeadlineView]
    merged_appeals: int


class TaskPage(BaseModel):
    items: list[TaskView]
    total: int
    limit: int
    offset: int


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReturnBody(_Body):
    reason: str = Field(min_length=1, max_length=2000)


class ExtensionBody(_Body):
    requested_due: AwareDatetime
    reason: str = Field(min_length=1, max_length=2000)


class EscalateBody(_Body):
    reason: str = Field(min_length=1, max_length=2000)
    kind: Literal["escalate", "whistle"] = "escalate"


class ResolveBody(_Body):
    result: str = Field(min_length=1, max_length=5000)


class AssignBody(_Body):
    unit_id: str = Field(min_length=1, max_length=200, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")


class ExtensionDecisionBody(_Body):
    granted: bool
    reason: str | None = Field(default=None, max_length=2000)


def task_view(case: Case, role: Role) -> TaskView:
    return TaskView(
        case_id=case.case_id, appeal_id=case.appeal_id, case_number=case.case_number,
        state=case.state, role=role,
        unit_id=case.unit_id, tier=case.tier, cooperating_unit_ids=case.cooperating_unit_ids,
        matter_code=case.matter_code, category_code=case.category_code,
        priority=case.priority, channel=case.channel, territory=case.territory,
        title=case.title, content=case.content, contact_phone_masked=case.contact_phone_masked,
        received_at=case.received_at, registered_at=case.registered_at,
        assigned_at=case.assigned_at, sign_for_due=case.sign_for_due,
        resolve_due=case.resolve_due, signed_at=case.signed_at,
        requested_due=case.requested_due, resolved_at=case.resolved_at, result=case.result,
        callback_due=case.callback_due, closed_at=case.closed_at,
        return_count=case.return_count, reopen_count=case.reopen_count,
        supervision_level=case.supervision_level,
    )


def _detail(case: Case, role: Role, history: list[TransitionRow], deadlines: list[Deadline],
            merged: int) -> TaskDetail:
    return TaskDetail(
        **task_view(case, role).model_dump(),
        history=[TransitionView(seq=t.seq, from_state=t.from_state, to_state=t.to_state,
                                at=t.at, reason=t.reason, actor=t.actor) for t in history],
        deadlines=[DeadlineView(kind=d.kind.value, unit_id=d.unit_id, due_at=d.due_at,
                                warn_at=d.warn_at, stage=d.stage.value) for d in deadlines],
        merged_appeals=merged,
    )


def _role(case: Case, unit_id: str) -> Role:
    if case.unit_id == unit_id:
        return "lead"
    return "cooperating" if unit_id in case.cooperating_unit_ids else "summoned"


def _error(status: int, error: str, reason: str, field: str = "") -> JSONResponse:
    return JSONResponse(status_code=status,
                        content={"error": error, "errors": [{"field": field, "reason": reason}]})


def install_error_handlers(app: FastAPI) -> None:
    """Domain errors to status codes (more specific than the shell's SafeError → 422)."""

    async def illegal(_: Request, exc: Exception) -> JSONResponse:
        return _error(409, "illegal_transition", str(exc))

    async def not_yours(_: Request, exc: Exception) -> JSONResponse:
        return _error(403, "forbidden", str(exc), "case_id")

    async def unknown_case(_: Request, exc: Exception) -> JSONResponse:
        return _error(404, "not_found", str(exc), "case_id")

    async def unknown_unit(_: Request, exc: Exception) -> JSONResponse:
        return _error(422, "invalid_request", "no such unit", "body.unit_id")

    async def case_rule(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CaseRuleError)
        error = domain_error(request, exc)
        if error["field"].endswith(".unit_id"):
            # over HTTP the acting unit is the API key's, never a field of the request
            error["field"] = ""
        return JSONResponse(status_code=422, content={"error": "rejected", "errors": [error]})

    app.add_exception_handler(IllegalTransition, illegal)
    app.add_exception_handler(CaseRuleError, case_rule)
    app.add_exception_handler(NotYourCase, not_yours)
    app.add_exception_handler(UnknownCase, unknown_case)
    app.add_exception_handler(UnknownUnit, unknown_unit)


def build_router(make_uow: Callable[[], DispatchUnitOfWork], lifecycle: Lifecycle,
                 keys: ApiKeys) -> APIRouter:
    router = APIRouter(prefix="/v1", route_class=ValidatedRoute)
    platform_id = lifecycle.units.city_platform
    unauthorized = error_responses(401)
    platform_only = error_responses(401, 403, e403="The key is not the city platform's.")
    one_case = error_responses(401, 403, 404, e403="Not your case (or not the platform).",
                               e404="No such case.")
    act_on_case = error_responses(401, 403, 404, 409, e403="Not your case.",
                                  e404="No such case.",
                                  e409="Not possible in the case's state.")

    def caller(x_api_key: Annotated[str | None, Header(alias="X-Api-Key")] = None) -> str:
        unit = keys.unit_for(x_api_key)
        if unit is None:
            raise HTTPException(401, "missing or unknown API key",
                                headers={"WWW-Authenticate": "ApiKey header=X-Api-Key"})
        return unit

    def platform(unit: Annotated[str, Depends(caller)]) -> str:
        if unit != platform_id:
            raise HTTPException(403, "this endpoint is for the city platform")
        return unit

    Unit = Annotated[str, Depends(caller)]
    Platform = Annotated[str, Depends(platform)]
    CaseId = Annotated[uuid.UUID, "case id"]

    async def run(cmd: UnitCommand) -> TaskView:
        uow = make_uow()
        async with uow:
            case = await lifecycle.act(uow, cmd)
            await uow.commit()
        role = _role(case, cmd.unit_id)
        if role == "summoned" and cmd.action is not UnitAction.RESPOND:
            role = "former"  # e.g. it returned or escalated the case
        return task_view(case, role)

    # -- workbench ------------------------------------------------------------------------

    @router.get("/workbench/tasks", response_model=TaskPage, tags=["workbench"],
                summary="My tasks: open cases I lead or co-operate on (or in these states).",
                responses=unauthorized)
    async def my_tasks(
        unit: Unit,
        state: Annotated[list[CaseState] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> TaskPage:
        uow = make_uow()
        async with uow:
            page = await uow.cases.for_unit(unit, state, open_only=not state, limit=limit,
                                            offset=offset)
        return TaskPage(items=[task_view(c, _role(c, unit)) for c in page.cases],
                        total=page.total, limit=limit, offset=offset)

    @router.get("/workbench/tasks/{case_id}", response_model=TaskDetail, tags=["workbench"],
                summary="One of my tasks, with its history and running deadlines.",
                responses=one_case)
    async def my_task(case_id: CaseId, unit: Unit) -> TaskDetail:
        uow = make_uow()
        async with uow:
            case = await uow.cases.get(case_id)
            if case is None:
                raise UnknownCase()
            if not await lifecycle.can_see(uow, case, unit):
                raise NotYourCase()
            history = await uow.cases.transitions(case_id)
            deadlines = await uow.deadlines.active(case_id)
            merged = await uow.cases.merged_appeals(case_id)
        return _detail(case, _role(case, unit), history, deadlines, len(merged))

    def action(path: str, summary: str) -> Callable[[Any], Any]:
        return router.post(f"/workbench/tasks/{{case_id}}/{path}", response_model=TaskView,
                           tags=["workbench"], summary=summary, responses=act_on_case)

    @action("sign-for", "Sign for the case (签收).")
    async def sign_for(case_id: CaseId, unit: Unit) -> TaskView:
        return await run(UnitCommand(case_id, unit, UnitAction.SIGN_FOR))

    @action("start", "Start handling (处置中).")
    async def start(case_id: CaseId, unit: Unit) -> TaskView:
        return await run(UnitCommand(case_id, unit, UnitAction.START))

    @action("return", "Return a misrouted case to the platform, with the reason (退单).")
    async def return_(case_id: CaseId, body: ReturnBody, unit: Unit) -> TaskView:
        return await run(UnitCommand(case_id, unit, UnitAction.RETURN, reason=body.reason))

    @action("extension", "Ask for more time (延期申请).")
    async def extension(case_id: CaseId, body: ExtensionBody, unit: Unit) -> TaskView:
        return await run(UnitCommand(case_id, unit, UnitAction.REQUEST_EXTENSION,
                                     reason=body.reason, requested_due=body.requested_due))

    @action("escalate", "Hand up a tier (上报), or as a township summon the county "
                        "department (吹哨, kind=whistle).")
    async def escalate(case_id: CaseId, body: EscalateBody, unit: Unit) -> TaskView:
        return await run(UnitCommand(case_id, unit, UnitAction.ESCALATE, reason=body.reason,
                                     escalation_kind=EscalationKind(body.kind)))

    @action("resolve", "Finish handling and feed back the result (办结).")
    async def resolve(case_id: CaseId, body: ResolveBody, unit: Unit) -> TaskView:
        return await run(UnitCommand(case_id, unit, UnitAction.RESOLVE, result=body.result))

    @action("respond", "A summoned department reports (报到).")
    async def respond(case_id: CaseId, unit: Unit) -> TaskView:
        return await run(UnitCommand(case_id, unit, UnitAction.RESPOND))

    # -- the city platform ----------------------------------------------------------------

    @router.get("/platform/queue", response_model=TaskPage, tags=["platform"],
                summary="Cases waiting for manual dispatch, and pending extension requests.",
                responses=platform_only)
    async def queue(
        _: Platform,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> TaskPage:
        uow = make_uow()
        async with uow:
            page = await uow.cases.platform_queue(platform_id, limit, offset)
        return TaskPage(items=[task_view(c, "platform") for c in page.cases],
                        total=page.total, limit=limit, offset=offset)

    @router.get("/platform/cases/{case_id}", response_model=TaskDetail, tags=["platform"],
                summary="Any case, with its history and running deadlines.",
                responses=one_case)
    async def any_case(case_id: CaseId, _: Platform) -> TaskDetail:
        uow = make_uow()
        async with uow:
            case = await uow.cases.get(case_id)
            if case is None:
                raise UnknownCase()
            history = await uow.cases.transitions(case_id)
            deadlines = await uow.deadlines.active(case_id)
            merged = await uow.cases.merged_appeals(case_id)
        return _detail(case, "platform", history, deadlines, len(merged))

    @router.post("/platform/cases/{case_id}/assign", response_model=TaskView,
                 tags=["platform"], summary="Dispatch a case from the queue by hand (派遣).",
                 responses=act_on_case)
    async def assign(case_id: CaseId, body: AssignBody, operator: Platform) -> TaskView:
        uow = make_uow()
        async with uow:
            case = await lifecycle.manual_assign(uow, case_id, body.unit_id, operator)
            await uow.commit()
        return task_view(case, "platform")

    @router.post("/platform/cases/{case_id}/extension-decision", response_model=TaskView,
                 tags=["platform"], summary="Grant or refuse a requested extension.",
                 responses=act_on_case)
    async def decide(case_id: CaseId, body: ExtensionDecisionBody,
                     operator: Platform) -> TaskView:
        uow = make_uow()
        async with uow:
            case = await lifecycle.decide_extension(uow, case_id, body.granted, body.reason,
                                                    operator)
            await uow.commit()
        return task_view(case, "platform")

    return router
