"""The reference department client: the loop every department system needs.

1. Consume the unit's own task topic with the department's own consumer group,
   offsets committed only after a task is handled (at-least-once delivery).
2. Skip what was handled before: events are redelivered after failures, restarts and
   rebalances. The CloudEvents ``ce_id`` header is the idempotency key.
3. Answer on the responses topic (key: case id) or through the workbench HTTP API.
   Response ids are derived from the task's event id, so a response re-sent after a
   crash carries the same id and the platform's inbox drops the repeat.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Literal

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from civicgrid_shared.contracts.envelope import EnvelopeError, decode, new_event
from civicgrid_shared.contracts.events import (
    CaseAssigned,
    CaseClosed,
    CaseReopened,
    UnitAction,
    UnitResponse,
)
from civicgrid_shared.contracts.topics import RESPONSES, task_topic

from civicgrid_department_client.policy import Decision, Policy
from civicgrid_department_client.state import DepartmentState, Task

log = logging.getLogger("department-client")

_HTTP_PATHS = {
    UnitAction.SIGN_FOR: "sign-for",
    UnitAction.RETURN: "return",
    UnitAction.RESOLVE: "resolve",
    UnitAction.ESCALATE: "escalate",
    UnitAction.REQUEST_EXTENSION: "extension",
}


class DepartmentClient:
    def __init__(
        self,
        unit_id: str,
        bootstrap: str,
        state: DepartmentState,
        policy: Policy,
        *,
        via: Literal["kafka", "http"] = "kafka",
        workbench_url: str | None = None,
        api_key: str | None = None,
        group_id: str | None = None,
    ) -> None:
        if via == "http" and not (workbench_url and api_key):
            raise ValueError("--via http needs the workbench URL and the unit's API key")
        self.unit_id = unit_id
        self.topic = task_topic(unit_id).name
        self._bootstrap = bootstrap
        self._state = state
        self._policy = policy
        self._via = via
        self._workbench_url = (workbench_url or "").rstrip("/")
        self._api_key = api_key or ""
        self._group_id = group_id or f"department-{unit_id}"
        self._producer: AIOKafkaProducer | None = None
        self._http: httpx.AsyncClient | None = None
        self.handled = 0
        self.skipped_redeliveries = 0

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            self.topic, bootstrap_servers=self._bootstrap, group_id=self._group_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            session_timeout_ms=6000, heartbeat_interval_ms=1000, fetch_max_wait_ms=50,
            metadata_max_age_ms=5000,
        )
        self._producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap, acks="all")
        self._http = httpx.AsyncClient(timeout=10)
        await self._producer.start()
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=200, max_records=100)
                for records in batches.values():
                    for record in records:
                        await self._handle(record)
                if batches:
                    # Only now: everything fetched so far is handled and recorded.
                    await consumer.commit()
        finally:
            await consumer.stop()
            await self._producer.stop()
            await self._http.aclose()

    async def _handle(self, record: ConsumerRecord) -> None:
        try:
            envelope = decode(record.headers or (), record.key, record.value, record.topic)
        except EnvelopeError as exc:
            # Not a platform event: a department cannot fix it; note it and move on.
            log.warning("skipping a record that is not a civicgrid event: %s", exc)
            return
        if not self._state.first_time(envelope.id):
            self.skipped_redeliveries += 1
            self._state.commit()
            return
        try:
            await self._apply(envelope.type, envelope.data, envelope.id)
            self._state.commit()
            self.handled += 1
        except Exception:
            self._state.rollback()  # the event will be handled again after redelivery
            raise

    async def _apply(self, event_type: str, data: bytes, event_id: uuid.UUID) -> None:
        if event_type == CaseAssigned.event_type:
            task = CaseAssigned.model_validate_json(data)
            self._state.upsert(Task(task.case_id, task.case_number, task.matter_code,
                                    "received", task.resolve_due.isoformat()))
            for decision in self._policy.on_assigned(task):
                await self._respond(task.case_id, decision, event_id)
                self._state.set_state(task.case_id, _STATE_AFTER[decision.action])
        elif event_type == CaseReopened.event_type:
            reopened = CaseReopened.model_validate_json(data)
            # Handled again (重办): the citizen said it was not solved.
            self._state.set_state(reopened.case_id, "received")
            result = "已重新处置：" + self._policy.result_text
            decision = Decision(UnitAction.RESOLVE, result=result)
            await self._respond(reopened.case_id, decision, event_id)
            self._state.set_state(reopened.case_id, "resolved")
        elif event_type == CaseClosed.event_type:
            self._state.set_state(CaseClosed.model_validate_json(data).case_id, "closed")
        # Other task-topic events (supervision, warnings, extension decisions) are shown
        # to people in a real system; the reference client only records that it saw them.

    async def _respond(self, case_id: uuid.UUID, decision: Decision,
                       cause: uuid.UUID) -> None:
        response_id = uuid.uuid5(cause, decision.action.value)
        if self._via == "http":
            await self._respond_http(case_id, decision)
            return
        assert self._producer is not None
        response = UnitResponse(
            response_id=response_id, case_id=case_id, unit_id=self.unit_id,
            action=decision.action, reason=decision.reason, result=decision.result,
            acted_at=datetime.now(UTC),
        )
        out = new_event(response, topic=RESPONSES.name, key=str(case_id),
                        source=f"/departments/{self.unit_id}", event_id=response_id,
                        causation_id=cause)
        await self._producer.send_and_wait(out.topic, value=out.value, key=out.key.encode(),
                                           headers=out.headers)

    async def _respond_http(self, case_id: uuid.UUID, decision: Decision) -> None:
        assert self._http is not None
        body = {k: v for k, v in (("reason", decision.reason), ("result", decision.result))
                if v is not None}
        r = await self._http.post(
            f"{self._workbench_url}/v1/workbench/tasks/{case_id}/{_HTTP_PATHS[decision.action]}",
            json=body, headers={"X-Api-Key": self._api_key},
        )
        # 409: the case already moved on (our earlier attempt went through before a crash).
        if r.status_code not in (200, 201, 202, 204, 409):
            r.raise_for_status()


_STATE_AFTER = {
    UnitAction.SIGN_FOR: "signed_for",
    UnitAction.RESOLVE: "resolved",
    UnitAction.RETURN: "returned",
    UnitAction.ESCALATE: "escalated",
    UnitAction.REQUEST_EXTENSION: "signed_for",
    UnitAction.START: "in_progress",
    UnitAction.RESPOND: "signed_for",
}
