"""Raw channel records (consumed from intake's raw topics) through the same pipeline,
in the consumer batch's unit of work; idempotent by (channel, external id)."""

from __future__ import annotations

from typing import Any

from civicgrid_shared.contracts.envelope import Envelope, EventPayload
from civicgrid_shared.messaging.consumer import Handler

from civicgrid_intake.raw_channels import RAW_PAYLOADS
from civicgrid_intake.service_layer.handlers import Pipeline, command_from, prepare, store_appeal
from civicgrid_intake.service_layer.unit_of_work import IntakeUnitOfWork


def raw_channel_routes(pipeline: Pipeline) -> dict[type[EventPayload], Handler[Any]]:
    async def handle(payload: EventPayload, env: Envelope, uow: IntakeUnitOfWork) -> None:
        # An invalid record raises a SafeError: after the bounded retries the consumer
        # sends it to the dead-letter topic with this reason (fields, never values).
        appeal = prepare(command_from(payload), pipeline)
        await store_appeal(appeal, uow, pipeline, correlation_id=env.correlation_id)

    return dict.fromkeys(RAW_PAYLOADS, handle)
