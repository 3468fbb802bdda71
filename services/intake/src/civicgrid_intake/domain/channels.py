"""What each channel sends, and how it maps onto the one appeal command (SubmitAppeal).

The field sets are plain models so that the HTTP bodies (extra fields forbidden) and
the raw Kafka payloads (extra fields ignored, see ``raw_events``) share them.
"""

from __future__ import annotations

from typing import Annotated, Self

from civicgrid_shared.contracts.events import Channel
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from civicgrid_intake.domain.commands import GridCode, MediaRef, SubmitAppeal

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                              pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
MatterCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z]{2}-\d{3}$")]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class _Located(BaseModel):
    grid_code: GridCode | None = Field(default=None,
                                       description="20-digit grid code (CJ/T 349).")
    latitude: Latitude | None = None
    longitude: Longitude | None = None

    @model_validator(mode="after")
    def _location_given(self) -> Self:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        if self.grid_code is None and self.latitude is None:
            raise ValueError("give grid_code, or both latitude and longitude")
        return self


class HotlineCallFields(_Located):
    """A 12345 hotline call as the call-taking system records it."""

    ticket_number: ExternalId = Field(description="The hotline's ticket number (工单号).")
    caller_phone: Phone | None = None
    call_time: AwareDatetime
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    transcript: Text | None = None
    agent_matter_code: MatterCode | None = Field(
        default=None, description="The agent's choice of matter; wins over the classifier.")
    callback_consent: bool = False

    @model_validator(mode="after")
    def _something_said(self) -> Self:
        if not self.transcript and not self.summary:
            raise ValueError("give transcript or summary")
        return self

    def to_command(self) -> SubmitAppeal:
        content = self.transcript or self.summary or ""
        title = self.summary[:200] if self.summary and self.transcript else None
        return SubmitAppeal(
            channel=Channel.HOTLINE, external_id=self.ticket_number, title=title,
            content=content, grid_code=self.grid_code, latitude=self.latitude,
            longitude=self.longitude, contact_phone=self.caller_phone,
            matter_code=self.agent_matter_code, occurred_at=self.call_time,
            callback_consent=self.callback_consent,
        )


class GridAppReportFields(_Located):
    """A grid worker's report from the patrol app (网格员APP)."""

    report_id: ExternalId
    grid_code: GridCode = Field(description="The grid the worker reports from.")
    grid_worker_id: Annotated[str, StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    title: Title | None = None
    description: Text
    found_at: AwareDatetime | None = None
    media: list[MediaRef] = Field(default_factory=list, max_length=20,
                                  description="Photo/video references: URLs or ids only.")
    resolved_on_spot: bool = False
    resolution_note: Annotated[str, StringConstraints(
        strip_whitespace=True, max_length=2000)] | None = Field(
        default=None, description="What was done, required when resolved_on_spot (即报即办).")
    matter_code: MatterCode | None = None
    contact_phone: Phone | None = None

    @model_validator(mode="after")
    def _resolution_explained(self) -> Self:
        if self.resolved_on_spot and not self.resolution_note:
            raise ValueError("resolution_note is required when resolved_on_spot is true")
        if self.resolution_note and not self.resolved_on_spot:
            raise ValueError("resolution_note goes with resolved_on_spot=true")
        return self

    def to_command(self) -> SubmitAppeal:
        return SubmitAppeal(
            channel=Channel.GRID_APP, external_id=self.report_id, title=self.title,
            content=self.description, grid_code=self.grid_code, latitude=self.latitude,
            longitude=self.longitude, contact_phone=self.contact_phone,
            matter_code=self.matter_code, occurred_at=self.found_at,
            resolved_on_spot=self.resolved_on_spot, resolution_note=self.resolution_note,
            grid_worker_id=self.grid_worker_id, media=list(self.media),
        )


class WebBoardMessageFields(_Located):
    """A message left on a web message board (留言板) or the mayor's mailbox."""

    board_id: Annotated[str, StringConstraints(strip_whitespace=True,
                                               pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    message_id: ExternalId
    title: Title | None = None
    body: Text
    contact: Phone | None = Field(default=None, description="The author's phone number.")
    posted_at: AwareDatetime | None = None
    matter_code: MatterCode | None = None

    def to_command(self) -> SubmitAppeal:
        return SubmitAppeal(
            channel=Channel.WEB_BOARD, external_id=f"{self.board_id}/{self.message_id}",
            title=self.title, content=self.body, grid_code=self.grid_code,
            latitude=self.latitude, longitude=self.longitude, contact_phone=self.contact,
            matter_code=self.matter_code, occurred_at=self.posted_at,
        )


_BODY = ConfigDict(extra="forbid", str_strip_whitespace=True)


class HotlineCall(HotlineCallFields):
    model_config = _BODY


class GridAppReport(GridAppReportFields):
    model_config = _BODY


class WebBoardMessage(WebBoardMessageFields):
    model_config = _BODY
