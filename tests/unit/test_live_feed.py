"""The dashboard's live feed: one snapshot computation for everyone asking at once, and
no new one while the newest is at most one interval old."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from civicgrid_analytics.service_layer.live import LiveFeed
from civicgrid_analytics.service_layer.views import ViewSettings


class _Counted(LiveFeed):
    def __init__(self) -> None:
        super().__init__(lambda: cast(Any, None), cast(ViewSettings, None), interval_s=2.0)
        self.computed = 0

    async def snapshot(self) -> dict[str, Any]:
        self.computed += 1
        await asyncio.sleep(0.05)  # others ask meanwhile
        return {"n": self.computed}


async def test_callers_at_once_share_one_snapshot_and_a_fresh_one_is_reused() -> None:
    feed = _Counted()
    first = await asyncio.gather(*(feed.latest() for _ in range(5)))
    assert feed.computed == 1 and first == [{"n": 1}] * 5
    assert await feed.latest() == {"n": 1} and feed.computed == 1  # within the interval


async def test_a_snapshot_older_than_the_interval_is_computed_again() -> None:
    feed = _Counted()
    await feed.latest()
    feed._latest_at -= 2.5  # as if 2.5 s had passed (the interval is 2 s)
    assert await feed.latest() == {"n": 2} and feed.computed == 2
