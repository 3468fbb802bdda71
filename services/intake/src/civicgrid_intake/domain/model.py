"""The appeal (诉求): what a citizen or grid worker reported, as intake accepts it."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from civicgrid_shared.contracts.events import (
    AppealReceived,
    Channel,
    HistoricalRecord,
    TerritoryRef,
)
from civicgrid_shared.errors import SafeError

from civicgrid_intake.domain import phones

_SPACES = re.compile(r"[ \t\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Crockford base32 without look-alikes: easy to read out over the phone.
_TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class UnknownLocation(SafeError):
    pass


# Appeal statuses intake keeps (the citizen sees them).
RECEIVED = "received"  # accepted and published to dispatch
TRIAGE = "triage"  # waiting for a person to choose the matter; not published yet


def clean_text(text: str) -> str:
    """Strip control characters, fold runs of spaces, trim each line, and mask the phone
    numbers people type into descriptions (they must not leave intake)."""
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return phones.mask_in_text("\n".join(line for line in lines if line))


def new_tracking_code() -> str:
    """A code the citizen can quote to follow the appeal: not guessable, not personal."""
    return "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(10))


@dataclass
class Appeal:
    appeal_id: uuid.UUID
    tracking_code: str
    channel: Channel
    external_id: str | None
    received_at: datetime
    occurred_at: datetime | None
    title: str | None
    content: str
    matter_code: str | None
    matter_confidence: float | None
    territory: TerritoryRef
    contact_phone_e164: str | None = field(repr=False)
    contact_phone_masked: str | None
    resolved_on_spot: bool = False
    grid_worker_id: str | None = None
    status: str = "received"
    resolution_note: str | None = None
    callback_consent: bool | None = None
    duplicate_of_case_id: uuid.UUID | None = None
    history: HistoricalRecord | None = None
    case_id: uuid.UUID | None = None
    # Exact point: stays in intake (duplicate search), never leaves it.
    latitude: float | None = field(default=None, repr=False)
    longitude: float | None = field(default=None, repr=False)
    media: tuple[str, ...] = ()

    def received_event(self) -> AppealReceived:
        """The event every other service sees: masked phone, territory codes, no point."""
        return AppealReceived(
            appeal_id=self.appeal_id,
            tracking_code=self.tracking_code,
            channel=self.channel,
            external_id=self.external_id,
            received_at=self.received_at,
            occurred_at=self.occurred_at,
            title=self.title,
            content=self.content,
            matter_code=self.matter_code,
            matter_confidence=self.matter_confidence,
            territory=self.territory,
            contact_phone_masked=self.contact_phone_masked,
            resolved_on_spot=self.resolved_on_spot,
            grid_worker_id=self.grid_worker_id,
            resolution_note=self.resolution_note,
            duplicate_of_case_id=self.duplicate_of_case_id,
            history=self.history,
        )
