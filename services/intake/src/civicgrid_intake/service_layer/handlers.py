"""Intake's handlers: take a command and a unit of work, change state, emit events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from civicgrid_shared.contracts.topics import APPEALS
from civicgrid_shared.errors import SafeError

from civicgrid_intake.domain import phones
from civicgrid_intake.domain.commands import SubmitAppeal
from civicgrid_intake.domain.model import Appeal, UnknownLocation, clean_text, new_tracking_code
from civicgrid_intake.service_layer.ports import Locator, MatterCodes
from civicgrid_intake.service_layer.unit_of_work import IntakeUnitOfWork


class UnknownMatter(SafeError):
    pass


@dataclass(frozen=True)
class Submitted:
    appeal: Appeal
    created: bool


def build_appeal(cmd: SubmitAppeal, locator: Locator, matters: MatterCodes,
                 now: datetime) -> Appeal:
    """Validate and normalise a submission into an appeal (pure: no I/O)."""
    if cmd.grid_code is not None:
        territory = locator.by_grid_code(cmd.grid_code)
        if territory is None:
            raise UnknownLocation("grid_code is not a grid of this city")
    else:
        assert cmd.latitude is not None and cmd.longitude is not None
        territory = locator.by_point(cmd.latitude, cmd.longitude)
        if territory is None:
            raise UnknownLocation("latitude/longitude is outside this city's grids")
    if cmd.matter_code is not None and cmd.matter_code not in matters:
        raise UnknownMatter("matter_code is not in the matter catalog")
    e164 = phones.normalise(cmd.contact_phone) if cmd.contact_phone else None
    content = clean_text(cmd.content)
    if not content:
        raise SafeError("content is empty after cleaning")
    return Appeal(
        appeal_id=uuid.uuid4(),
        tracking_code=new_tracking_code(),
        channel=cmd.channel,
        external_id=cmd.external_id,
        received_at=now,
        occurred_at=cmd.occurred_at,
        title=clean_text(cmd.title) if cmd.title else None,
        content=content,
        matter_code=cmd.matter_code,
        matter_confidence=1.0 if cmd.matter_code else None,
        territory=territory,
        contact_phone_e164=e164,
        contact_phone_masked=phones.mask(e164) if e164 else None,
        resolved_on_spot=cmd.resolved_on_spot,
        grid_worker_id=cmd.grid_worker_id,
    )


async def submit_appeal(cmd: SubmitAppeal, uow: IntakeUnitOfWork, locator: Locator,
                        matters: MatterCodes, correlation_id: uuid.UUID | None = None
                        ) -> Submitted:
    """Store the appeal and its 'received' event in one transaction.

    A retried submission (same channel and external id) returns the original appeal
    and writes nothing.
    """
    appeal = build_appeal(cmd, locator, matters, datetime.now(UTC))
    async with uow:
        if cmd.external_id is not None:
            existing = await uow.appeals.by_external_id(cmd.channel, cmd.external_id)
            if existing is not None:
                return Submitted(existing, created=False)
        created = await uow.appeals.add(appeal, cmd.latitude, cmd.longitude)
        if not created:
            # Lost a race with a concurrent identical submission: return the winner.
            assert cmd.external_id is not None
            winner = await uow.appeals.by_external_id(cmd.channel, cmd.external_id)
            assert winner is not None
            return Submitted(winner, created=False)
        uow.emit(appeal.received_event(), topic=APPEALS.name, key=str(appeal.appeal_id),
                 correlation_id=correlation_id)
        await uow.commit()
    return Submitted(appeal, created=True)
