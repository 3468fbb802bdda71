"""Intake's HTTP routes: thin, they parse, check the key, call a handler, shape the answer."""


import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Self, TypeVar

from civicgrid_shared.contracts.events import CallbackAnswered, Channel, Satisfaction, TerritoryRef
from civicgrid_shared.logs import correlation_id
from civicgrid_shared.web.inputs import ValidatedRoute
from civicgrid_shared.web.responses import error_responses
from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from civicgrid_intake.domain.access import ApiKey, Scope
from civicgrid_intake.domain.channels import GridAppReport, HotlineCall, WebBoardMessage
from civicgrid_intake.domain.commands import SubmitAppeal
from civicgrid_intake.domain.model import Appeal
from civicgrid_intake.entrypoints.security import API_KEY_HEADER, Access, AccessDenied
from civicgrid_intake.service_layer import handlers
from civicgrid_intake.service_layer.handlers import Pipeline, Submit
from civicgrid_intake.service_layer.unit_of_work import IntakeUnitOfWork

T = TypeVar("T")
TRACKING_CODE = r"^[0-9A-Z]{10}$"
ApiKeyHeader = Annotated[str | None, Header(alias=API_KEY_HEADER,
                                            description="The channel's API key.")]


class IntakeRoute(ValidatedRoute):
    """Inputs checked before the handler; the appeal's free text may hold NUL characters:
    intake strips control characters from it (domain.model.clean_text)."""

    nul_cleaned = frozenset({"content", "title", "resolution_note", "comment", "transcript",
                             "summary", "description", "body"})


class AppealAccepted(BaseModel):
    appeal_id: uuid.UUID
    tracking_code: str
    status: str = Field(description="received, or triage (waiting for a person to "
                                    "choose the matter before it goes to dispatch)")
    channel: Channel
    received_at: datetime
    matter_code: str | None
    matter_confidence: float | None
    territory: TerritoryRef
    contact_phone_masked: str | None
    duplicate_of_case_id: uuid.UUID | None
    duplicate_submission: bool


class ProgressNote(BaseModel):
    at: datetime
    kind: str
    note: str


class AppealStatus(BaseModel):
    """What a citizen may see about an appeal: no personal data."""

    tracking_code: str
    status: str
    channel: Channel
    received_at: datetime
    matter_code: str | None
    progress: list[ProgressNote]


class TriageItem(BaseModel):
    appeal_id: uuid.UUID
    tracking_code: str
    channel: Channel
    received_at: datetime
    title: str | None
    content: str
    territory: TerritoryRef
    classifier_confidence: float | None


class Classify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matter_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-\d{3}$")]


class CallbackBody(BaseModel):
    """A hotline agent's record of the call-back (回访)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tracking_code: Annotated[str, StringConstraints(pattern=TRACKING_CODE)] | None = None
    appeal_id: uuid.UUID | None = None
    solved: bool
    satisfaction: Satisfaction
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _one_reference(self) -> Self:
        if (self.tracking_code is None) == (self.appeal_id is None):
            raise ValueError("give exactly one of tracking_code and appeal_id")
        return self


class CallbackRecorded(BaseModel):
    appeal_id: uuid.UUID
    case_id: uuid.UUID | None
    solved: bool
    satisfaction: Satisfaction
    answered_at: datetime


def accepted(appeal: Appeal, duplicate: bool) -> AppealAccepted:
    return AppealAccepted(
        appeal_id=appeal.appeal_id, tracking_code=appeal.tracking_code, status=appeal.status,
        channel=appeal.channel, received_at=appeal.received_at, matter_code=appeal.matter_code,
        matter_confidence=appeal.matter_confidence, territory=appeal.territory,
        contact_phone_masked=appeal.contact_phone_masked,
        duplicate_of_case_id=appeal.duplicate_of_case_id, duplicate_submission=duplicate,
    )


def _cid() -> uuid.UUID | None:
    cid = correlation_id.get()
    return uuid.UUID(cid) if cid else None


_SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A retry of an earlier submission (same external id): the original."},
    **error_responses(401, 403, 413, 422, 429, e403="The key may not submit for this channel."),
}
_TRIAGE_RESPONSES = error_responses(401, 403, 429, e403="The key has no triage permission.")


def build_router(make_uow: Callable[[], IntakeUnitOfWork], pipeline: Pipeline,
                 access: Access, submit_appeal: Submit) -> APIRouter:
    router = APIRouter(prefix="/v1", route_class=IntakeRoute)

    async def _submit(cmd: SubmitAppeal, response: Response) -> AppealAccepted:
        result = await submit_appeal(cmd, _cid())
        response.headers["Location"] = f"/v1/appeals/{result.appeal.tracking_code}"
        if not result.created:
            response.status_code = 200
        return accepted(result.appeal, duplicate=not result.created)

    def _guard(check: Callable[[], T]) -> T:
        try:
            return check()
        except AccessDenied as denied:
            raise denied.as_http() from None

    # Keys are checked in dependencies, which FastAPI runs before it validates the body:
    # an unauthenticated caller gets 401/403/429, never a description of the body.
    # They are async (they never block) so FastAPI does not hand each to a thread.
    def channel_key(channel: Channel) -> Callable[[str | None], Awaitable[ApiKey]]:
        async def dependency(x_api_key: ApiKeyHeader = None) -> ApiKey:
            return _guard(lambda: access.submitter(x_api_key, channel))
        return dependency

    def scoped_key(scope: Scope, channel: Channel | None = None
                   ) -> Callable[[str | None], Awaitable[ApiKey]]:
        async def dependency(x_api_key: ApiKeyHeader = None) -> ApiKey:
            return _guard(lambda: access.scoped(x_api_key, scope, channel))
        return dependency

    async def generic_key(x_api_key: ApiKeyHeader = None) -> ApiKey | None:
        return _guard(lambda: access.generic_key(x_api_key))

    @router.post("/appeals", status_code=201, response_model=AppealAccepted, tags=["appeals"],
                 summary="Submit an appeal from any channel (generic).",
                 responses=_SUBMIT_RESPONSES)
    async def submit(cmd: SubmitAppeal, response: Response,
                     key: Annotated[ApiKey | None, Depends(generic_key)]) -> AppealAccepted:
        if key is not None and not key.may_submit(cmd.channel):
            raise HTTPException(403, f"this key may not submit for channel {cmd.channel.value}")
        return await _submit(cmd, response)

    @router.post("/channels/hotline/calls", status_code=201, response_model=AppealAccepted,
                 tags=["channels"], summary="A 12345 hotline call (ticket number = external id).",
                 responses=_SUBMIT_RESPONSES)
    async def hotline(body: HotlineCall, response: Response,
                 _: Annotated[ApiKey, Depends(channel_key(Channel.HOTLINE))]) -> AppealAccepted:
        return await _submit(handlers.command_from(body), response)

    @router.post("/channels/grid-app/reports", status_code=201, response_model=AppealAccepted,
                 tags=["channels"], summary="A grid worker's report (may be resolved on the spot).",
                 responses=_SUBMIT_RESPONSES)
    async def grid_app(body: GridAppReport, response: Response,
                  _: Annotated[ApiKey, Depends(channel_key(Channel.GRID_APP))]) -> AppealAccepted:
        return await _submit(handlers.command_from(body), response)

    @router.post("/channels/web-boards/messages", status_code=201,
                 response_model=AppealAccepted, tags=["channels"],
                 summary="A web message board post (board id + message id = external id).",
                 responses=_SUBMIT_RESPONSES)
    async def web_board(body: WebBoardMessage, response: Response,
                   _: Annotated[ApiKey, Depends(channel_key(Channel.WEB_BOARD))]) -> AppealAccepted:
        return await _submit(handlers.command_from(body), response)

    @router.get("/appeals/{tracking_code}", response_model=AppealStatus, tags=["appeals"],
                summary="Follow an appeal by its tracking code (public, no personal data).",
                responses=error_responses(404, e404="No appeal with this tracking code."))
    async def status(
        tracking_code: Annotated[str, Path(pattern=TRACKING_CODE)],
    ) -> AppealStatus:
        uow = make_uow()
        async with uow:
            appeal = await uow.appeals.by_tracking_code(tracking_code)
            notes = await uow.appeals.progress(appeal.appeal_id) if appeal else []
        if appeal is None:
            raise HTTPException(404, "no appeal with this tracking code")
        return AppealStatus(tracking_code=appeal.tracking_code, status=appeal.status,
                            channel=appeal.channel, received_at=appeal.received_at,
                            matter_code=appeal.matter_code,
                            progress=[ProgressNote(at=n.at, kind=n.kind, note=n.note)
                                      for n in notes])

    @router.get("/triage", response_model=list[TriageItem], tags=["triage"],
                summary="Appeals waiting for a person to choose the matter.",
                responses=_TRIAGE_RESPONSES)
    async def triage_queue(_: Annotated[ApiKey, Depends(scoped_key(Scope.TRIAGE))],
                           limit: Annotated[int, Query(ge=1, le=500)] = 100
                           ) -> list[TriageItem]:
        uow = make_uow()
        async with uow:
            items = await uow.appeals.triage_queue(limit)
        return [TriageItem(appeal_id=a.appeal_id, tracking_code=a.tracking_code,
                           channel=a.channel, received_at=a.received_at, title=a.title,
                           content=a.content, territory=a.territory,
                           classifier_confidence=a.matter_confidence) for a in items]

    @router.post("/triage/{appeal_id}/classify", response_model=AppealAccepted,
                 tags=["triage"], summary="Choose the matter; the appeal goes to dispatch.",
                 responses={**_TRIAGE_RESPONSES,
                            **error_responses(404, 409, e404="No such appeal.",
                                              e409="The appeal is not in triage.")})
    async def classify(appeal_id: uuid.UUID, body: Classify,
                       _: Annotated[ApiKey, Depends(scoped_key(Scope.TRIAGE))]
                       ) -> AppealAccepted:
        try:
            appeal = await handlers.classify_manually(appeal_id, body.matter_code, make_uow(),
                                                      pipeline, correlation_id=_cid())
        except handlers.NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except handlers.Conflict as exc:
            raise HTTPException(409, str(exc)) from None
        return accepted(appeal, duplicate=False)

    @router.post("/callbacks", status_code=201, response_model=CallbackRecorded,
                 tags=["callbacks"], summary="A hotline agent records the citizen's call-back.",
                 responses=error_responses(
                     401, 403, 404, 409, 429, e403="The key has no call-back permission.",
                     e404="No such appeal.", e409="The appeal is still in triage."))
    async def callback(body: Annotated[CallbackBody, Body()],
                       _: Annotated[ApiKey, Depends(scoped_key(Scope.CALLBACK, Channel.HOTLINE))]
                       ) -> CallbackRecorded:
        cmd = handlers.AnswerCallback(body.tracking_code, body.appeal_id, body.solved,
                                      body.satisfaction, body.comment)
        try:
            event: CallbackAnswered = await handlers.answer_callback(cmd, make_uow(),
                                                                     correlation_id=_cid())
        except handlers.NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except handlers.Conflict as exc:
            raise HTTPException(409, str(exc)) from None
        return CallbackRecorded(appeal_id=event.appeal_id, case_id=event.case_id,
                                solved=event.solved, satisfaction=event.satisfaction,
                                answered_at=event.answered_at)

    return router
