"""Raw channel topics: CloudEvents records published straight to Kafka by channel systems."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from civicgrid_intake.raw_channels import (
    GRID_APP_RAW,
    HOTLINE_RAW,
    RawGridAppReport,
    RawHotlineCall,
)
from civicgrid_shared.contracts.envelope import new_event
from civicgrid_shared.contracts.topics import DEAD_LETTER
from civicgrid_stack.stack import Stack

from tests.integration.helpers import produce, read_topic, wait_for
from tests.integration.intake_helpers import grid_with_point, intake_db, publish

pytestmark = pytest.mark.integration
__all__ = ["intake_db"]


async def test_raw_hotline_record_is_taken_once(stack: Stack,
                                                intake_db: asyncpg.Connection) -> None:
    _, lat, lon = grid_with_point()
    ticket = f"RAW-{uuid.uuid4().hex[:12]}"
    payload = RawHotlineCall(
        ticket_number=ticket, caller_phone=f"139{random.randrange(10**8):08d}",
        call_time=datetime.now(UTC),
        transcript="小区门口的路灯坏了好几天了，晚上特别黑。", latitude=lat, longitude=lon)
    await publish(stack, HOTLINE_RAW.name, payload, key=ticket)
    await publish(stack, HOTLINE_RAW.name, payload, key=ticket)  # a resend: new event id

    async def stored() -> int | None:
        n = await intake_db.fetchval(
            "SELECT count(*) FROM appeals WHERE channel = 'hotline' AND external_id = $1",
            ticket)
        return int(n) if n else None

    assert await wait_for(stored, what="the raw record to become an appeal") == 1
    row = await intake_db.fetchrow(
        "SELECT status, matter_code FROM appeals WHERE external_id = $1", ticket)
    assert row is not None
    # (a different phone and a random point: not a duplicate of another test's case)
    assert row["status"] in ("received", "registered", "assigned")
    assert row["matter_code"] == "RD-003"
    published = await intake_db.fetchval(
        "SELECT count(*) FROM outbox o JOIN appeals a ON o.key = a.appeal_id::text "
        "WHERE a.external_id = $1", ticket)
    assert published == 1


async def test_invalid_raw_records_go_to_dead_letters(stack: Stack) -> None:
    report_id = f"BAD-{uuid.uuid4().hex[:12]}"
    grid, _, _ = grid_with_point()
    good = RawGridAppReport(report_id=report_id, grid_code=grid, grid_worker_id="gw-1",
                            description="井盖丢失")
    event = new_event(good, topic=GRID_APP_RAW.name, key=report_id, source="/test")
    # Not decodable: the payload misses required fields.
    broken = json.dumps({"report_id": report_id, "description": "缺少网格"}).encode()
    await produce(stack, GRID_APP_RAW.name, report_id.encode(), broken, event.headers)
    dead = await read_topic(stack, DEAD_LETTER.name, lambda r: r.key == report_id.encode())
    reason = dict(dead.headers)["dlq_reason"].decode()
    assert reason.startswith("payload of civicgrid.channel.grid-app.report")
    assert "grid_code" in reason

    # Decodable but not acceptable: a grid that is not in this city.
    ticket = f"BAD-{uuid.uuid4().hex[:12]}"
    outside = RawHotlineCall(ticket_number=ticket, call_time=datetime.now(UTC),
                             summary="路灯不亮", grid_code="9" * 20)
    await publish(stack, HOTLINE_RAW.name, outside, key=ticket)
    dead = await read_topic(stack, DEAD_LETTER.name, lambda r: r.key == ticket.encode())
    reason = dict(dead.headers)["dlq_reason"].decode()
    assert reason.startswith("handler: UnknownLocation")
