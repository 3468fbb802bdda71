"""Personal data never leaks: an end-to-end flow with a known phone number, name,
address and exact location, then every log line, metric, Kafka key and header and
dead-letter record is searched for them.

The appeal's own text (which may name a person or a place) travels in the payload of
appeal events, because the unit handling it needs it; it never travels in keys,
headers, logs, metrics or error text. The full phone number and the exact point never
leave intake at all: the bus carries a masked phone and territory codes.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from civicgrid_shared.contracts.topics import APPEALS
from civicgrid_stack.stack import Stack

from tests.integration.helpers import indicators, produce, url, wait_for

pytestmark = pytest.mark.integration

PHONE = "13987654321"
PHONE_FORMS = ("13987654321", "139-8765-4321", "139 8765 4321", "8613987654321", "87654321")
NAME = "欧阳娜娜"
ADDRESS = "幸福小区8号楼"
LAT, LON = "35.512345", "112.876543"
NEVER_ANYWHERE = (*PHONE_FORMS, LAT, LON)
NEVER_OUTSIDE_PAYLOAD = (NAME, ADDRESS)


def _leaks(blob: str, needles: tuple[str, ...]) -> list[str]:
    return [n for n in needles if n in blob]


async def _all_records(stack: Stack) -> list[tuple[str, bytes | None, list[tuple[str, bytes]],
                                                   bytes | None]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.broker.bootstrap)
    await admin.start()
    topics = [t for t in await admin.list_topics() if t.startswith("civicgrid.")]
    await admin.close()
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=stack.broker.bootstrap,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    out = []
    try:
        # Until two empty fetches in a row: the session's stack holds what earlier tests
        # wrote, so a fixed number of fetches could stop before this test's records.
        empty = 0
        for _ in range(400):
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                out += [(r.topic, r.key, list(r.headers), r.value) for r in records]
            empty = 0 if batches else empty + 1
            if empty == 2:
                break
    finally:
        await consumer.stop()
    return out


async def test_no_personal_data_in_logs_metrics_keys_headers_or_dead_letters(
    stack: Stack,
) -> None:
    marker = uuid.uuid4().hex
    async with httpx.AsyncClient(timeout=10) as client:
        for phone in ("13987654321", "+86 139 8765 4321"):
            r = await client.post(url(stack, "intake", "/v1/appeals"), json={
                "channel": "hotline", "external_id": f"privacy-{uuid.uuid4()}",
                "title": f"{NAME}反映{ADDRESS}门口路灯不亮",
                "content": f"我是{NAME}，住在{ADDRESS}，门口路灯坏了。电话{PHONE}。{marker}",
                "latitude": float(LAT), "longitude": float(LON), "contact_phone": phone,
            })
            assert r.status_code == 201, r.text
            assert PHONE not in r.text and r.json()["contact_phone_masked"] == "139****4321"
        # Invalid input carrying personal data: the error must not echo it.
        bad = await client.post(url(stack, "intake", "/v1/appeals"), json={
            "channel": "hotline", "content": NAME, "latitude": float(LAT),
            "longitude": float(LON), "contact_phone": PHONE + "99"})
        assert bad.status_code == 422 and not _leaks(bad.text, (*NEVER_ANYWHERE, NAME))
        # A poison record that carries personal data in its value.
        poison_key = uuid.uuid4().hex.encode()
        await produce(stack, APPEALS.name, poison_key,
                      f"{NAME} {PHONE} {ADDRESS} {marker}".encode(),
                      [("ce_id", b"not-a-uuid"), ("ce_type", b"civicgrid.appeal.received")])

        async def flowed() -> bool | None:
            total = (await indicators(client, stack))["total"]
            return True if total["assigned"] >= 2 else None

        await wait_for(flowed, what="the appeals to flow through")
        await asyncio.sleep(3)  # let the dead letter and every consumer finish
        metrics = {s: (await client.get(url(stack, s, "/metrics"))).text
                   for s in ("intake", "dispatch", "enforcement", "analytics")}

    for service, text in metrics.items():
        assert not _leaks(text, NEVER_ANYWHERE + NEVER_OUTSIDE_PAYLOAD), service

    for log in stack.layout.log_dir.glob("*.log"):
        found = _leaks(log.read_text(errors="replace"), NEVER_ANYWHERE + NEVER_OUTSIDE_PAYLOAD)
        assert not found, f"{log.name} contains {found}"

    records = await _all_records(stack)
    assert any(marker.encode() in (v or b"") for *_, v in records), "the flow was not seen"
    saw_dead_letter = False
    for topic, key, headers, value in records:
        visible = (key or b"").decode(errors="replace") + " ".join(
            f"{k}={v.decode(errors='replace')}" for k, v in headers)
        assert not _leaks(visible, NEVER_ANYWHERE + NEVER_OUTSIDE_PAYLOAD), (topic, visible)
        if topic.endswith("deadletter.v1"):
            saw_dead_letter = saw_dead_letter or marker.encode() in (value or b"")
            continue  # a dead letter keeps the original value for replay; headers checked
        if key == poison_key:
            continue  # the test's own bad input, as a misbehaving producer sent it
        text = (value or b"").decode(errors="replace")
        assert not _leaks(text, NEVER_ANYWHERE), (topic, "full phone or exact point on the bus")
    assert saw_dead_letter, "the poison record should be in the dead-letter topic"
