"""Commands intake accepts. The HTTP body of POST /v1/appeals is SubmitAppeal."""

from __future__ import annotations

from typing import Annotated, Self

from civicgrid_shared.contracts.events import Channel
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

GridCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{20}$")]
# A media reference: an https URL or an opaque id of the media store, never the file.
MediaRef = Annotated[str, StringConstraints(
    max_length=500, pattern=r"^(https?://[^\s]+|[A-Za-z0-9][A-Za-z0-9._:/-]*)$")]


class SubmitAppeal(BaseModel):
    """An appeal from any channel."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{
                "channel": "hotline",
                "external_id": "12345-20261122-0001",
                "content": "小区门口的路灯坏了一个星期了，晚上很黑，请尽快修理。",
                "grid_code": "14050210010100100101",
                "contact_phone": "13812341234",
            }]
        },
    )

    channel: Channel
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None,
        description="The channel's own id of this appeal: a retried submission with the "
                    "same (channel, external_id) returns the original appeal.",
    )
    title: Annotated[str, StringConstraints(max_length=200)] | None = None
    content: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    grid_code: GridCode | None = Field(default=None, description="20-digit grid code (CJ/T 349).")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    contact_phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    matter_code: Annotated[str, StringConstraints(max_length=32)] | None = None
    occurred_at: AwareDatetime | None = None
    resolved_on_spot: bool = False
    resolution_note: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None, description="What was done on the spot (when resolved_on_spot).")
    grid_worker_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    callback_consent: bool | None = Field(
        default=None, description="The citizen agrees to be called back.")
    media: list[MediaRef] = Field(default_factory=list, max_length=20,
                                  description="References (URLs or ids) of photos/videos.")

    @model_validator(mode="after")
    def _location_given(self) -> Self:
        if self.grid_code is None and (self.latitude is None or self.longitude is None):
            raise ValueError("give grid_code, or both latitude and longitude")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        if self.resolution_note and not self.resolved_on_spot:
            raise ValueError("resolution_note goes with resolved_on_spot=true")
        return self
