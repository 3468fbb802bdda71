"""Helpers for analytics' integration tests: events on the bus, a headless browser."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from civicgrid_shared.contracts.envelope import EventPayload, OutgoingEvent, new_event
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
