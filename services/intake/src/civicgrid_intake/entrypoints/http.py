"""Intake's HTTP routes: thin, they parse, call a handler and shape the answer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from civicgrid_shared.contracts.events import Channel, TerritoryRef
from civicgrid_shared.logs import correlation_id
from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel

from civicgrid_intake.domain.commands import SubmitAppeal
from civicgrid_intake.domain.model import Appeal
from civicgrid_intake.service_layer import handlers
from civicgrid_intake.service_layer.ports import Locator, MatterCodes
from civicgrid_intake.service_layer.unit_of_work import IntakeUnitOfWork


class AppealAccepted(BaseModel):
    appeal_id: uuid.UUID
    tracking_code: str
    status: str
    channel: Channel
    received_at: datetime
    matter_code: str | None
    territory: TerritoryRef
    contact_phone_masked: str | None
    duplicate_submission: bool


class AppealStatus(BaseModel):
    """What a citizen may see about an appeal: no personal data."""

    tracking_code: str
    status: str
    channel: Channel
    received_at: datetime
    matter_code: str | None


def _accepted(appeal: Appeal, duplicate: bool) -> AppealAccepted:
    return AppealAccepted(
        appeal_id=appeal.appeal_id, tracking_code=appeal.tracking_code, status=appeal.status,
        channel=appeal.channel, received_at=appeal.received_at, matter_code=appeal.matter_code,
        territory=appeal.territory, contact_phone_masked=appeal.contact_phone_masked,
        duplicate_submission=duplicate,
    )


def build_router(make_uow: Callable[[], IntakeUnitOfWork], locator: Locator,
                 matters: MatterCodes) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["appeals"])

    @router.post(
        "/appeals",
        status_code=201,
        response_model=AppealAccepted,
        summary="Submit an appeal from any channel.",
        responses={200: {"description": "A retry of an earlier submission: the original."},
                   422: {"description": "Invalid: each field's path and the reason."}},
    )
    async def submit(cmd: SubmitAppeal, response: Response) -> AppealAccepted:
        cid = correlation_id.get()
        result = await handlers.submit_appeal(
            cmd, make_uow(), locator, matters,
            correlation_id=uuid.UUID(cid) if cid else None,
        )
        response.headers["Location"] = f"/v1/appeals/{result.appeal.tracking_code}"
        if not result.created:
            response.status_code = 200
        return _accepted(result.appeal, duplicate=not result.created)

    @router.get("/appeals/{tracking_code}", response_model=AppealStatus,
                summary="Follow an appeal by its tracking code.")
    async def status(
        tracking_code: Annotated[str, Path(pattern=r"^[0-9A-Z]{10}$")],
    ) -> AppealStatus:
        uow = make_uow()
        async with uow:
            appeal = await uow.appeals.by_tracking_code(tracking_code)
        if appeal is None:
            raise HTTPException(404, "no appeal with this tracking code")
        return AppealStatus(tracking_code=appeal.tracking_code, status=appeal.status,
                            channel=appeal.channel, received_at=appeal.received_at,
                            matter_code=appeal.matter_code)

    return router
