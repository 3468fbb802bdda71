"""The dashboard's live feed: one snapshot computation for everyone asking at once, none
while the newest is fresh, and a slow snapshot computed less often."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from civicgrid_analytics.service_layer import live
from civicgrid_analytics.service_layer.live import LiveFeed, refresh_period
from civicgrid_analytics.service_layer.views import ViewSettings


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class _Counted(LiveFeed):
    """A feed whose snapshot counts its computations and takes ``took`` clock seconds."""

    def __init__(self, clock: _Clock) -> None:
        super().__init__(lambda: cast(Any, None), cast(ViewSettings, None), interval_s=2.0)
        self.clock = clock
        self.computed = 0
        self.took = 0.1

    async def snapshot(self) -> dict[str, Any]:
        self.computed += 1
        await asyncio.sleep(0.05)  # others ask meanwhile
        self.clock.now += self.took
        return {"n": self.computed}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    c = _Clock()
    monkeypatch.setattr(live, "time", c)
    return c


async def test_callers_at_once_share_one_snapshot_and_a_fresh_one_is_reused(
        clock: _Clock) -> None:
    feed = _Counted(clock)
    first = await asyncio.gather(*(feed.latest() for _ in range(5)))
    assert feed.computed == 1 and first == [{"n": 1}] * 5
    clock.now += 1.9
    assert await feed.latest() == {"n": 1} and feed.computed == 1  # within the interval
    clock.now += 0.2
    assert await feed.latest() == {"n": 2} and feed.computed == 2  # older than 2 s


def test_a_slow_snapshot_stretches_the_period_to_a_fifth_of_a_core() -> None:
    assert refresh_period(2.0, 0.1) == 2.0
    assert refresh_period(2.0, 0.4) == 2.0
    assert refresh_period(2.0, 0.7) == pytest.approx(3.5)  # the dashboard at 10 M cases


async def test_a_slow_snapshot_stays_fresh_for_its_longer_period(clock: _Clock) -> None:
    feed = _Counted(clock)
    feed.took = 1.0  # the period becomes 5 s
    await feed.latest()
    clock.now += 4.9
    assert await feed.latest() == {"n": 1} and feed.computed == 1
    clock.now += 0.2
    assert await feed.latest() == {"n": 2} and feed.computed == 2
