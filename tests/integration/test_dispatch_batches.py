"""Dispatch's registration batch on the real PostgreSQL: new cases are written together
at the end of the batch even when the batch also merges repeat reports into older cases.

Drives the Registrar with dispatch's own unit of work on the stack's database (the
dispatch schema its service migrated), so the batch is exactly one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from civicgrid_dispatch.adapters.reference import ReferenceMatters, ReferenceUnits
from civicgrid_dispatch.bootstrap import DispatchSettings
from civicgrid_dispatch.service_layer.handlers import Registrar
from civicgrid_dispatch.service_layer.unit_of_work import DispatchUnitOfWork
from civicgrid_shared.contracts.envelope import Envelope
from civicgrid_shared.contracts.events import AppealReceived, Channel
from civicgrid_shared.contracts.topics import CASES
from civicgrid_stack.stack import Stack

from tests.integration.dispatch_helpers import COMMUNITY_MATTER, random_territory
from tests.integration.helpers import schema_pool

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with schema_pool(stack, "dispatch", size=2) as pool:
        yield pool


def _appeal(**fields: object) -> AppealReceived:
    return AppealReceived(
        appeal_id=uuid.uuid4(), tracking_code=uuid.uuid4().hex[:10].upper(),
        channel=Channel.HOTLINE, received_at=datetime.now(UTC),
        content="小区道路好几天没人打扫，垃圾很多。", matter_code=COMMUNITY_MATTER,
        territory=random_territory(), contact_phone_masked="138****1234", **fields)


def _meta(event: AppealReceived) -> Envelope:
    return Envelope(id=uuid.uuid4(), type=event.event_type, source="/tests", subject="appeal",
                    time=datetime.now(UTC), correlation_id=uuid.uuid4(), causation_id=None,
                    schema_version=1, data=b"{}", key=str(event.appeal_id))


async def _register(pool: asyncpg.Pool, registrar: Registrar,
                    appeals: list[AppealReceived]) -> int:
    """One batch in one unit of work; returns how often the buffered writes were flushed."""
    uow = DispatchUnitOfWork(pool, "dispatch", source="/tests")
    flushes = 0
    async with uow:
        original = uow.pending.flush

        async def counting_flush() -> None:
            nonlocal flushes
            if uow.pending.cases:
                flushes += 1
            await original()

        uow.pending.flush = counting_flush  # type: ignore[method-assign]
        await registrar.prepare(appeals, uow)
        for appeal in appeals:
            await registrar.on_appeal_received(appeal, _meta(appeal), uow)
        await uow.commit()
    return flushes


async def test_merging_into_an_older_case_leaves_the_batch_buffered(
        pool: asyncpg.Pool) -> None:
    registrar = Registrar(matters=ReferenceMatters(), units=ReferenceUnits(),
                          policy=DispatchSettings().policy())
    first = _appeal()
    await _register(pool, registrar, [first])
    older = await pool.fetchval("SELECT case_id FROM cases WHERE appeal_id = $1",
                                first.appeal_id)
    assert older is not None

    new_a, repeat, new_b = _appeal(), _appeal(duplicate_of_case_id=older), _appeal()
    flushes = await _register(pool, registrar, [new_a, repeat, new_b])

    # One write of the new cases, at commit: the merge in between did not cut it short.
    assert flushes == 1
    rows = await pool.fetch(
        "SELECT c.case_id, c.appeal_id, c.state, "
        "(SELECT count(*) FROM case_transitions t WHERE t.case_id = c.case_id) AS moves, "
        "(SELECT count(*) FROM deadlines d WHERE d.case_id = c.case_id) AS timers "
        "FROM cases c WHERE c.appeal_id = ANY($1::uuid[])",
        [new_a.appeal_id, new_b.appeal_id, repeat.appeal_id])
    assert {r["appeal_id"] for r in rows} == {new_a.appeal_id, new_b.appeal_id}
    for r in rows:
        assert r["state"] == "assigned" and r["moves"] >= 2 and r["timers"] >= 1
    emitted = await pool.fetch(
        "SELECT key, event_type FROM outbox WHERE topic = $1 AND key = ANY($2::text[])",
        CASES.name, [str(older), *(str(r["case_id"]) for r in rows)])
    assert [e["event_type"] for e in emitted if e["key"] == str(older)].count(
        "civicgrid.case.merged") == 1
    assert sum(e["event_type"] == "civicgrid.case.registered" for e in emitted) == 3
    assert await pool.fetchval(
        "SELECT case_id FROM case_appeals WHERE appeal_id = $1 AND merged_at IS NOT NULL",
        repeat.appeal_id) == older
