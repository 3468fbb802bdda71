"""The reference department client against the real broker (tansu), no platform needed:
the test plays dispatch by publishing tasks to the unit's topic."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from civicgrid_department_client.client import DepartmentClient
from civicgrid_department_client.policy import Policy
from civicgrid_department_client.state import DepartmentState
from civicgrid_shared.contracts.envelope import OutgoingEvent, decode, new_event
from civicgrid_shared.contracts.events import CaseAssigned, UnitAction, UnitResponse
from civicgrid_shared.contracts.topics import RESPONSES, task_topic
from civicgrid_stack.broker import TansuBroker
from civicgrid_stack.ports import Ports

UNIT = "county-140502-urban-management"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    b = TansuBroker(Ports.free().broker, log_path=tmp_path_factory.mktemp("b") / "broker.log")
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
async def topics(broker: TansuBroker) -> AsyncIterator[None]:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    existing = set(await admin.list_topics())
    wanted = [NewTopic(t.name, t.partitions, 1) for t in (task_topic(UNIT), RESPONSES)
              if t.name not in existing]
    if wanted:
        await admin.create_topics(wanted)
    await admin.close()
    yield


def _task(matter: str = "CA-001") -> OutgoingEvent:
    now = datetime.now(UTC)
    payload = CaseAssigned(case_id=uuid.uuid4(), appeal_id=uuid.uuid4(), case_number="1",
                           unit_id=UNIT, tier="county", sign_for_due=now + timedelta(hours=2),
                           resolve_due=now + timedelta(days=7), assigned_at=now,
                           matter_code=matter, contact_phone_masked="138****1234")
    return new_event(payload, topic=task_topic(UNIT).name, key=str(payload.case_id),
                     source="/civicgrid/dispatch")


async def _publish(bootstrap: str, *events: OutgoingEvent) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    for e in events:
        await producer.send_and_wait(e.topic, value=e.value, key=e.key.encode(), headers=e.headers)
    await producer.stop()


async def _responses(bootstrap: str, case_ids: set[str], want: int) -> list[UnitResponse]:
    consumer = AIOKafkaConsumer(RESPONSES.name, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    found: list[UnitResponse] = []
    try:
        for _ in range(60):
            for records in (await consumer.getmany(timeout_ms=250)).values():
                for r in records:
                    env = decode(r.headers, r.key, r.value)
                    resp = env.payload(UnitResponse)
                    if str(resp.case_id) in case_ids:
                        found.append(resp)
            if len(found) >= want:
                await asyncio.sleep(1.0)  # and nothing more arrives after that
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for r in records:
                        resp = decode(r.headers, r.key, r.value).payload(UnitResponse)
                        if str(resp.case_id) in case_ids:
                            found.append(resp)
                return found
    finally:
        await consumer.stop()
    return found


@contextlib.asynccontextmanager
async def _running(client: DepartmentClient) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(client.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_signs_for_and_resolves_once_despite_redelivery_and_restart(
    broker: TansuBroker, topics: None, tmp_path: Path
) -> None:
    state_file = tmp_path / "dept.sqlite"
    first, returned = _task(), _task(matter="XX-999")
    policy = Policy(not_ours=frozenset({"XX-999"}))

    state = DepartmentState(state_file)
    client = DepartmentClient(UNIT, broker.bootstrap, state, policy, group_id="dept-test")
    async with _running(client):
        await _publish(broker.bootstrap, first, returned)
        got = await _responses(broker.bootstrap, {first.key, returned.key}, want=3)
    state.close()

    actions = sorted((str(r.case_id), r.action) for r in got)
    assert actions == sorted([(first.key, UnitAction.SIGN_FOR), (first.key, UnitAction.RESOLVE),
                              (returned.key, UnitAction.RETURN)])
    assert all(r.unit_id == UNIT for r in got)
    assert next(r for r in got if r.action is UnitAction.RETURN).reason

    # Restart with the same state and group, and the platform redelivers the first task.
    state = DepartmentState(state_file)
    client = DepartmentClient(UNIT, broker.bootstrap, state, policy, group_id="dept-test")
    async with _running(client):
        await _publish(broker.bootstrap, first)
        for _ in range(300):  # the group rebalances first (LeaveGroup is ignored by tansu)
            if client.skipped_redeliveries:
                break
            await asyncio.sleep(0.1)
        again = await _responses(broker.bootstrap, {first.key, returned.key}, want=3)
    tasks = {str(t.case_id): t.state for t in state.tasks()}
    state.close()
    assert len(again) == 3, "a redelivered task must not be answered twice"
    assert client.skipped_redeliveries == 1
    assert tasks == {first.key: "resolved", returned.key: "returned"}
