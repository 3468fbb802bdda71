"""Hotspots, once per batch: counts in, the aggregator's verdict out, events emitted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from civicgrid_analytics.contracts import HOTSPOTS, HotspotDetected
from civicgrid_analytics.domain.hotspots import (
    HOUR,
    Surge,
    SurgeAggregator,
    SurgeKey,
    SurgeRule,
    SurgeState,
    first_per_day,
    hour_of,
)
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork


@dataclass(frozen=True)
class HotspotDetector:
    rule: SurgeRule

    async def __call__(self, uow: AnalyticsUnitOfWork) -> None:
        pending = uow.surges.take_pending()
        if not pending:
            return
        by_key: dict[SurgeKey, list[datetime]] = {}
        counties: dict[SurgeKey, str | None] = {}
        for p in pending:
            by_key.setdefault(p.key, []).append(p.event_time)
            counties[p.key] = counties.get(p.key) or p.county_code
        hours = [hour_of(p.event_time) for p in pending]
        stored = await uow.surges.load(list(by_key), min(hours) - self.rule.lookback,
                                       max(hours) + HOUR)
        found: list[Surge] = []
        for key, times in sorted(by_key.items()):
            aggregator = SurgeAggregator(key, self.rule)
            state = SurgeState(counts=stored.get(key, {})) if key in stored \
                else aggregator.initialize()
            for t in sorted(times):
                state = aggregator.agg(state, t)
            found += aggregator.result(state)
        await uow.surges.increment(pending)
        new = await uow.surges.record_hotspots(first_per_day(found), counties)
        for s in new:
            record_key = f"{s.township_code}:{s.matter_code}"
            uow.emit(HotspotDetected(
                township_code=s.township_code, county_code=counties.get(
                    (s.township_code, s.matter_code)),
                matter_code=s.matter_code, day=s.day, detected_at=s.detected_at,
                cases=s.cases, window_hours=self.rule.window_hours,
                baseline_daily=s.baseline_daily, baseline_days=self.rule.baseline_days,
                ratio=s.ratio, factor=self.rule.factor,
            ), topic=HOTSPOTS.name, key=record_key, subject=record_key)
