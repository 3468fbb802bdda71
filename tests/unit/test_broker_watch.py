"""The broker watch restarting subscribers after a reset (no broker: stand-in subscribers).

A consumer whose group was rejoining when the broker died can wait for ever in its stop
(aiokafka waits for the JoinGroup first): the fault test once saw a group never restart.
The watch bounds each stop, restarts every subscriber at once, and does the whole recovery
again at the next check when a part of it failed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from civicgrid_shared.messaging import watch as watch_module
from civicgrid_shared.messaging.watch import BrokerWatch
from civicgrid_shared.settings import ServiceSettings


class _Sub:
    def __init__(self, group: str, *, stop_hangs: bool = False, start_fails: int = 0) -> None:
        self.group_id = group
        self.stop_hangs = stop_hangs
        self.start_fails = start_fails
        self.stops = 0
        self.starts = 0
        self.stop_cancelled = False

    async def stop(self) -> None:
        self.stops += 1
        if self.stop_hangs:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.stop_cancelled = True
                raise

    async def start(self) -> None:
        if self.start_fails:
            self.start_fails -= 1
            raise ConnectionError("broker not ready")
        self.starts += 1


class _Broker:
    def __init__(self, *subs: _Sub) -> None:
        self.subscribers = list(subs)


def _watch(*subs: _Sub) -> BrokerWatch:
    w = BrokerWatch(ServiceSettings(), "test", [], _Broker(*subs), None)  # type: ignore[arg-type]
    w.subscribers_running = True
    return w


async def test_a_stop_that_hangs_is_cancelled_and_the_subscriber_starts_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch_module, "_STOP_TIMEOUT_S", 0.05)
    stuck, fine = _Sub("stuck", stop_hangs=True), _Sub("fine")
    await asyncio.wait_for(_watch(stuck, fine)._restart_subscribers(), 2)
    assert stuck.stop_cancelled and stuck.starts == 1
    assert fine.stops == 1 and fine.starts == 1


async def test_a_recovery_that_fails_is_done_again_at_the_next_check(
        monkeypatch: pytest.MonkeyPatch) -> None:
    w = _watch(flaky := _Sub("flaky", start_fails=1), other := _Sub("other"))

    async def nothing_missing(*_: Any) -> list[str]:
        return []

    async def no_partitions(*_: Any) -> dict[str, int]:
        return {}

    async def admin() -> Any:
        return object()

    monkeypatch.setattr(watch_module, "missing_topics", nothing_missing)
    monkeypatch.setattr(watch_module, "describe_partitions", no_partitions)
    monkeypatch.setattr(w, "_get_admin", admin)
    w._recovery_pending = True  # a reset was seen
    with pytest.raises(ConnectionError):
        await w.check()
    assert flaky.starts == 0 and other.starts == 1
    await w.check()  # nothing missing any more, but the recovery is still owed
    assert flaky.starts == 1 and other.starts == 2
    await w.check()  # done: no further restart
    assert flaky.starts == 1 and other.starts == 2
