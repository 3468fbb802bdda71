"""Background work of the analytics process: the domain gauges and the live feed.

Both read the database on their own schedule (never per scrape or per client): the
gauges every ``metrics_refresh_s``, the dashboard snapshot every ``stream_interval_s``
(or less often when one costs more than a fifth of that: ``refresh_period``) while someone
is watching. A failure is logged and tried again on the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from civicgrid_shared.aio import wait_at_most
from civicgrid_shared.errors import safe_reason
from civicgrid_shared.logs import get_logger

from civicgrid_analytics import metrics
from civicgrid_analytics.adapters.reference import ReferenceNames
from civicgrid_analytics.domain.windows import Window
from civicgrid_analytics.service_layer import views
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork

log = get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class GaugeRefresher:
    def __init__(self, make_uow: Callable[[], AnalyticsUnitOfWork], cfg: views.ViewSettings,
                 interval_s: float, window: Window) -> None:
        self._make_uow = make_uow
        self._cfg = cfg
        self._interval = interval_s
        self._window = window
        self._county_labels: set[tuple[str, str]] = set()
        self._tier_labels: set[str] = set()

    async def refresh(self) -> None:
        async with self._make_uow() as uow:
            data = await views.gauges(uow, _now(), self._window, self._cfg)
        tiers: set[str] = set()
        for row in data["by_tier"]:
            tiers.add(row["tier"])
            metrics.OPEN_CASES.labels(row["tier"]).set(row["open"])
            metrics.OVERDUE_CASES.labels(row["tier"]).set(row["overdue"])
        for gone in self._tier_labels - tiers:
            metrics.OPEN_CASES.labels(gone).set(0)
            metrics.OVERDUE_CASES.labels(gone).set(0)
        self._tier_labels |= tiers
        labels: set[tuple[str, str]] = set()
        for row in data["counties"]:
            if row["key"] is None:
                continue
            for name in metrics.COUNTY_RATES:
                value = row.get(name)
                labels.add((row["key"], name))
                # NaN says "undefined" (no cohort) without inventing a 0 or a 1.
                metrics.COUNTY_RATE.labels(row["key"], name).set(
                    float("nan") if value is None else value)
        for county, indicator in self._county_labels - labels:
            with contextlib.suppress(KeyError):
                metrics.COUNTY_RATE.remove(county, indicator)
        self._county_labels = labels
        for stage in metrics.TODAY_STAGES:
            metrics.TODAY_CASES.labels(stage).set(data["today"].get(stage) or 0)
        metrics.HOTSPOTS_TODAY.set(data["hotspots_today"])
        metrics.REFRESHED.set(time.time())

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("gauge refresh failed", reason=safe_reason(exc))
            await asyncio.sleep(self._interval)


#: the share of one core the live feed may spend: a snapshot that takes longer than this
#: share of the interval stretches the interval (0.7 s at 10 M cases: every 3.5 s, not 2)
FEED_DUTY = 0.2


def refresh_period(interval_s: float, took_s: float) -> float:
    """Seconds from one snapshot to the next: the interval, or longer when a snapshot costs
    more than ``FEED_DUTY`` of it, so that watching the city never starves the ingest."""
    return max(interval_s, took_s / FEED_DUTY)


class LiveFeed:
    """The dashboard snapshot, computed once per period for all watchers."""

    def __init__(self, make_uow: Callable[[], AnalyticsUnitOfWork], cfg: views.ViewSettings,
                 interval_s: float, names: ReferenceNames | None = None) -> None:
        self._make_uow = make_uow
        self._names = names
        self._cfg = cfg
        self._interval = interval_s
        self._latest: dict[str, Any] | None = None
        self._latest_at = 0.0  # time.monotonic() when it was computed
        self._period = interval_s  # refresh_period() after the last computation
        self._version = 0
        self._changed = asyncio.Condition()
        self._computing = asyncio.Lock()
        self._watchers = 0

    async def snapshot(self) -> dict[str, Any]:
        names = await self._names.ready() if self._names is not None else None
        async with self._make_uow() as uow:
            if names is None:
                return await views.dashboard(uow, _now(), self._cfg)
            return await views.dashboard(uow, _now(), self._cfg, names.name)

    async def _refresh(self) -> dict[str, Any]:
        started = time.monotonic()
        data = await self.snapshot()
        async with self._changed:
            self._latest, self._latest_at = data, time.monotonic()
            self._period = refresh_period(self._interval, self._latest_at - started)
            self._version += 1
            self._changed.notify_all()
        return data

    async def latest(self) -> dict[str, Any]:
        """The newest snapshot if it is at most one period old, else a new one. Callers at
        the same moment share one computation: the snapshot is the city's heaviest read
        (0.7 s at 10 M cases), and every screen that polls it must not add one."""
        async with self._computing:
            if self._latest is not None and \
                    time.monotonic() - self._latest_at <= self._period:
                return self._latest
            return await self._refresh()

    async def run(self) -> None:
        while True:
            if self._watchers:
                try:
                    await self.latest()  # not again when a request just computed it
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("live snapshot failed", reason=safe_reason(exc))
            await asyncio.sleep(self._period)

    async def events(self) -> AsyncIterator[str]:
        """Server-sent events: a ``snapshot`` whenever a new one is computed."""
        self._watchers += 1
        seen = -1
        try:
            yield f"retry: {int(self._interval * 1000)}\n\n"
            if self._latest is None:
                await self.latest()
            first = True
            while True:
                data: dict[str, Any] | None = None
                async with self._changed:
                    if not first and self._version == seen:
                        await wait_at_most(self._changed, self._interval * 5 + 5)
                    if first or self._version != seen:
                        seen, data = self._version, self._latest
                first = False
                if data is None:
                    yield ": keep-alive\n\n"
                else:
                    yield f"event: snapshot\ndata: {json.dumps(data, default=str)}\n\n"
        finally:
            self._watchers -= 1
