"""Helpers for analytics' integration tests: events on the bus, a headless browser, random
case histories."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer, ConsumerRecord
from civicgrid_shared.contracts.envelope import EventPayload, OutgoingEvent, new_event
from civicgrid_shared.contracts.events import (
    AppealReceived,
    CallbackAnswered,
    CaseAssigned,
    CaseCalledBack,
    CaseClosed,
    CaseDeadlineWarning,
    CaseEscalated,
    CaseExtensionDecided,
    CaseMerged,
    CaseRegistered,
    CaseRejected,
    CaseReopened,
    CaseResolved,
    CaseReturned,
    CaseSignedFor,
    Channel,
    DeadlineKind,
    EscalationKind,
    Satisfaction,
    TerritoryRef,
)
from civicgrid_shared.contracts.topics import APPEALS, CASES
from civicgrid_stack.stack import Stack


def event(payload: EventPayload, topic: str, key: str) -> OutgoingEvent:
    return new_event(payload, topic=topic, key=key, source="/test/analytics")


async def publish(stack: Stack, events: Sequence[OutgoingEvent]) -> None:
    """Publish events as they are (same ids when given twice: a redelivery)."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap, acks="all")
    await producer.start()
    try:
        for e in events:
            await producer.send(e.topic, value=e.value, key=e.key.encode(), headers=e.headers)
        await producer.flush()
    finally:
        await producer.stop()


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """Headless Chromium driven over the DevTools protocol (websockets)."""

    def __init__(self, binary: str) -> None:
        self._binary = binary
        self._profile = tempfile.mkdtemp(prefix="civicgrid-chromium-")
        self._proc: subprocess.Popen[bytes] | None = None
        self._ws: Any = None
        self._next_id = 0

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [self._binary, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--no-first-run",
             "--disable-component-update", "--disable-sync",
             f"--user-data-dir={self._profile}", "--remote-debugging-port=0",
             "--window-size=1600,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    async def __aenter__(self) -> Browser:
        self._proc = self._spawn()
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self._proc.poll() is not None:
                raise AssertionError("chromium did not start its DevTools endpoint")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        async with httpx.AsyncClient() as client:
            targets = (await client.get(f"http://127.0.0.1:{port}/json/list")).json()
        page = next(t for t in targets if t["type"] == "page")
        import websockets

        self._ws = await websockets.connect(page["webSocketDebuggerUrl"], max_size=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        shutil.rmtree(self._profile, ignore_errors=True)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        my_id = self._next_id
        await self._ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            message = json.loads(await self._ws.recv())
            if message.get("id") == my_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})  # type: ignore[no-any-return]

    async def goto(self, url: str) -> None:
        await self.call("Page.enable")
        await self.call("Page.navigate", url=url)

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression,
                                 returnByValue=True)
        return result.get("result", {}).get("value")

    async def screenshot(self, path: Path) -> None:
        data = await self.call("Page.captureScreenshot", format="png")
        _write(path, base64.b64decode(data["data"]))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def run_module(stack: Stack, module: str, *args: str, timeout: float = 300
               ) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module`` with the stack's service environment."""
    import os
    import sys

    env = {**os.environ, **stack.service_env("analytics")}
    with contextlib.suppress(KeyError):
        del env["CIVICGRID_HTTP_PORT"]
    return subprocess.run([sys.executable, "-m", module, *args], env=env, text=True,
                          capture_output=True, timeout=timeout, check=False)


# -- random case histories (rollups against facts) -------------------------------------------

#: the "now" of the random histories: 12:00 on 20 March 2025 in the city
SCENARIO_NOW = datetime(2025, 3, 20, 4, 0, tzinfo=UTC)


def records(events: Sequence[OutgoingEvent]) -> list[ConsumerRecord]:
    """Events as the consumer receives them from the broker."""
    return [ConsumerRecord(e.topic, 0, n, 0, 0, e.key.encode(), e.value, None, 0, 0,
                           tuple(e.headers)) for n, e in enumerate(events)]


def history(rnd: random.Random, cases: int) -> tuple[list[OutgoingEvent], dict[str, list[str]]]:
    """Events of ``cases`` appeals with random lives around SCENARIO_NOW, shuffled, some
    sent twice (same event id). Small pools of territory, matters and units, so that keys
    repeat; deadlines cluster around now (due today, overdue, later today, tomorrow)."""
    counties = ["140502", "140521", "140581"]
    townships = {c: [f"{c}{i:03d}" for i in (1, 2)] for c in counties}
    communities = {t: [f"{t}{i:03d}" for i in (1, 2)] for ts in townships.values() for t in ts}
    matters = [("CA-001", "CA"), ("CA-002", "CA"), ("RD-001", "RD"), ("EV-003", "EV")]
    units = [("unit-a", "township"), ("unit-b", "township"), ("unit-c", "county"),
             ("unit-d", "community")]
    now = SCENARIO_NOW
    events: list[OutgoingEvent] = []

    def at(base: datetime, hours: float) -> datetime:
        return base + timedelta(hours=hours)

    def some_time() -> datetime:
        return now - timedelta(hours=rnd.uniform(-30, 24 * 110))

    def near_now() -> datetime:  # deadlines: some passed today, some later today
        return now + timedelta(hours=rnd.choice([-30, -3, -0.5, 0.5, 3, 10, 40, 200]))

    for _ in range(cases):
        a, c = uuid.uuid4(), uuid.uuid4()
        county = rnd.choice(counties)
        township = rnd.choice(townships[county])
        community = rnd.choice(communities[township])
        terr = TerritoryRef(county_code=county, township_code=township,
                            community_code=community, grid_code=f"{community}0{rnd.randint(1, 2)}")
        channel = rnd.choice([Channel.HOTLINE, Channel.GRID_APP, Channel.WEB_BOARD])
        worker = f"gw-{terr.grid_code}" if channel is Channel.GRID_APP else None
        t0 = some_time()
        mine: list[tuple[Any, str]] = [(AppealReceived(
            appeal_id=a, tracking_code="R", channel=channel, received_at=t0, content="x",
            territory=terr, grid_worker_id=worker,
            resolved_on_spot=rnd.random() < 0.05), APPEALS.name)]
        fate = rnd.random()
        if fate < 0.05:
            mine.append((CaseRejected(appeal_id=a, channel=channel, reason_code="invalid",
                                      reason="r", received_at=t0, rejected_at=at(t0, 0.2)),
                         CASES.name))
        elif fate < 0.1:
            mine.append((CaseMerged(case_id=uuid.uuid4(), appeal_id=a, channel=channel,
                                    received_at=t0, merged_at=at(t0, 0.1)), CASES.name))
        else:
            matter, category = rnd.choice(matters)
            if rnd.random() < 0.1:  # registered elsewhere than reported: the row moves
                other = rnd.choice(counties)
                terr = TerritoryRef(county_code=other, township_code=townships[other][0],
                                    community_code=communities[townships[other][0]][0])
            mine.append((CaseRegistered(
                case_id=c, appeal_id=a, case_number="R", channel=channel, matter_code=matter,
                category_code=category, priority="normal", territory=terr, received_at=t0,
                registered_at=at(t0, rnd.choice([0.1, 2, 30]))), CASES.name))
            assigned = at(t0, 0.5)
            due = near_now() if rnd.random() < 0.5 else at(assigned, rnd.choice([24, 168]))
            unit, tier = rnd.choice(units)
            mine.append((CaseAssigned(case_id=c, appeal_id=a, unit_id=unit, tier=tier,
                                      sign_for_due=at(assigned, 2), resolve_due=due,
                                      assigned_at=assigned), CASES.name))
            if rnd.random() < 0.2:  # reassigned: another unit, another deadline
                unit, tier = rnd.choice(units)
                again = at(assigned, rnd.uniform(1, 48))
                mine.append((CaseAssigned(case_id=c, appeal_id=a, unit_id=unit, tier=tier,
                                          sign_for_due=at(again, 2), resolve_due=near_now(),
                                          assigned_at=again), CASES.name))
            if rnd.random() < 0.15:
                mine.append((CaseExtensionDecided(
                    case_id=c, appeal_id=a, unit_id=unit, granted=True,
                    resolve_due=near_now(), decided_at=at(assigned, rnd.uniform(0, 60))),
                    CASES.name))
            if rnd.random() < 0.8:
                signed = at(assigned, rnd.uniform(0, 5))
                mine.append((CaseSignedFor(case_id=c, appeal_id=a, unit_id=unit,
                                           signed_at=signed, on_time=rnd.random() < 0.7),
                             CASES.name))
            if rnd.random() < 0.1:
                mine.append((CaseReturned(case_id=c, appeal_id=a, unit_id=unit, reason="r",
                                          return_count=1, returned_at=at(assigned, 1)),
                             CASES.name))
            if rnd.random() < 0.1:
                mine.append((CaseEscalated(
                    case_id=c, appeal_id=a, from_unit_id=unit, to_unit_ids=["unit-c"],
                    to_tier="county", kind=EscalationKind.WHISTLE, reason="r",
                    escalated_at=at(assigned, 3)), CASES.name))
            if rnd.random() < 0.3:
                mine.append((CaseDeadlineWarning(case_id=c, appeal_id=a, unit_id=unit,
                                                 deadline=DeadlineKind.RESOLVE, due=due,
                                                 warned_at=at(due, -1)), CASES.name))
            if rnd.random() < 0.75:
                resolved = at(t0, rnd.choice([-1, 0.2, 3, 20, 50, 300, 2500]))
                mine.append((CaseResolved(case_id=c, appeal_id=a, unit_id=unit, result="ok",
                                          on_time=rnd.random() < 0.8, resolved_at=resolved),
                             CASES.name))
                if rnd.random() < 0.7:
                    back = at(resolved, 5)
                    answer = (rnd.random() < 0.8, rnd.choice(list(Satisfaction)))
                    if rnd.random() < 0.5:
                        mine.append((CaseCalledBack(
                            case_id=c, appeal_id=a, unit_id=unit, solved=answer[0],
                            satisfaction=answer[1], called_back_at=back), CASES.name))
                    else:
                        mine.append((CallbackAnswered(
                            appeal_id=a, case_id=c, solved=answer[0], satisfaction=answer[1],
                            answered_at=back), APPEALS.name))
                    if not answer[0] and rnd.random() < 0.7:
                        reopened = at(back, 1)
                        mine.append((CaseReopened(case_id=c, appeal_id=a, unit_id=unit,
                                                  reopen_count=1, reason="r",
                                                  reopened_at=reopened), CASES.name))
                        if rnd.random() < 0.6:
                            mine.append((CaseResolved(
                                case_id=c, appeal_id=a, unit_id=unit, result="ok",
                                on_time=False, resolved_at=at(reopened, 30)), CASES.name))
                if rnd.random() < 0.6:
                    mine.append((CaseClosed(case_id=c, appeal_id=a, unit_id=unit,
                                            on_time=rnd.random() < 0.7,
                                            closed_at=at(resolved, 8)), CASES.name))
        for payload, topic in mine:
            key = str(a) if topic == APPEALS.name else str(c)
            events.append(event(payload, topic, key))
    rnd.shuffle(events)
    events += rnd.sample(events, len(events) // 10)  # redeliveries (same ids)
    rnd.shuffle(events)
    ref = {"counties": counties, "townships": [t for ts in townships.values() for t in ts],
           "communities": [c for cs in communities.values() for c in cs],
           "matters": [m for m, _ in matters], "units": [u for u, _ in units]}
    return events, ref
