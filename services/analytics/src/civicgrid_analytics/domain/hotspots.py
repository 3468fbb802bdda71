"""Hotspot detection (未诉先办): a surge of one matter in one township (pure).

An aggregator in the style of Quix Streams' custom aggregations (``initialize`` /
``agg`` / ``result``) over event-time windows:

- events (registered cases) are counted in hourly tumbling windows per key
  ``(township, matter)``, by the time the appeal was received (event time);
- ``result`` looks, for every hour that received new events, at the sliding window of
  the last ``window_hours`` hours ending with that hour, and compares it with the
  trailing baseline: the daily average over the ``baseline_days`` days before it.

A surge is ``cases >= min_cases`` and ``cases >= factor * baseline``. The state is a
map hour -> count, so the caller can keep it in PostgreSQL and load only the hours
the windows need: it survives restarts and is rebuilt by replaying the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from civicgrid_analytics.domain.windows import CITY_TZ

HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SurgeRule:
    factor: float = 3.0
    min_cases: int = 5
    window_hours: int = 24
    baseline_days: int = 7
    tz: str = CITY_TZ

    @property
    def lookback(self) -> timedelta:
        """How far before an evaluated hour the state must reach."""
        return timedelta(hours=self.window_hours - 1, days=self.baseline_days)


SurgeKey = tuple[str, str]  # (township_code, matter_code)


@dataclass(frozen=True)
class SurgeState:
    counts: dict[datetime, int] = field(default_factory=dict)  # hour start (UTC) -> cases
    touched: frozenset[datetime] = frozenset()  # hours that got events since loaded


@dataclass(frozen=True)
class Surge:
    township_code: str
    matter_code: str
    day: date  # the city-local day of the hour that tipped it
    detected_at: datetime  # the end of that hour (event time)
    cases: int  # within the window ending then
    baseline_daily: float
    ratio: float | None  # cases / baseline, None when the baseline is 0


def hour_of(t: datetime) -> datetime:
    """The start of the UTC hour containing ``t`` (the city's offset is whole hours)."""
    seconds = int((t.astimezone(UTC) - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=seconds - seconds % 3600)


class SurgeAggregator:
    def __init__(self, key: SurgeKey, rule: SurgeRule) -> None:
        self.key = key
        self.rule = rule

    def initialize(self) -> SurgeState:
        return SurgeState()

    def agg(self, state: SurgeState, event_time: datetime) -> SurgeState:
        hour = hour_of(event_time)
        counts = dict(state.counts)
        counts[hour] = counts.get(hour, 0) + 1
        return SurgeState(counts, state.touched | {hour})

    def result(self, state: SurgeState) -> list[Surge]:
        """A surge for every touched hour whose window passes the rule, oldest first."""
        rule = self.rule
        found = []
        for hour in sorted(state.touched):
            window_start = hour - (rule.window_hours - 1) * HOUR
            cases = _sum(state.counts, window_start, hour + HOUR)
            baseline_total = _sum(state.counts,
                                  window_start - timedelta(days=rule.baseline_days),
                                  window_start)
            baseline = baseline_total / rule.baseline_days
            if cases >= rule.min_cases and cases >= rule.factor * baseline:
                found.append(Surge(
                    township_code=self.key[0], matter_code=self.key[1],
                    day=hour.astimezone(ZoneInfo(rule.tz)).date(),
                    detected_at=hour + HOUR, cases=cases, baseline_daily=baseline,
                    ratio=cases / baseline if baseline > 0 else None,
                ))
        return found


def _sum(counts: dict[datetime, int], start: datetime, end: datetime) -> int:
    return sum(n for h, n in counts.items() if start <= h < end)


def first_per_day(surges: list[Surge]) -> list[Surge]:
    """One hotspot per (township, matter, day): the earliest surge of that day."""
    seen: dict[tuple[str, str, date], Surge] = {}
    for s in sorted(surges, key=lambda s: s.detected_at):
        seen.setdefault((s.township_code, s.matter_code, s.day), s)
    return list(seen.values())
