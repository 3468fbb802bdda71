"""Read models: what the HTTP API, the dashboard, the gauges and rebuild show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from civicgrid_analytics.adapters.indicator_sql import IndicatorQuery
from civicgrid_analytics.adapters.repository import Path
from civicgrid_analytics.domain.hotspots import SurgeRule
from civicgrid_analytics.domain.indicators import (
    COUNT_FIELDS,
    DERIVED_COUNTS,
    RATES,
    Dimension,
    IndicatorSettings,
    finish,
)
from civicgrid_analytics.domain.ranking import ScoreWeights, rank
from civicgrid_analytics.domain.windows import CITY_TZ, Window, bounds
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork


@dataclass(frozen=True)
class ViewSettings:
    indicators: IndicatorSettings = field(default_factory=IndicatorSettings)
    weights: ScoreWeights = field(default_factory=ScoreWeights)
    min_cases: int = 5
    tz: str = CITY_TZ
    surge: SurgeRule = field(default_factory=SurgeRule)


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _counts_something(row: dict[str, Any]) -> bool:
    return any(row[n] for n in COUNT_FIELDS)


async def indicators(uow: AnalyticsUnitOfWork, q: IndicatorQuery, cfg: ViewSettings,
                     path: Path | None = None, median: bool = True,
                     counts: frozenset[str] | None = None) -> dict[str, Any]:
    """The indicators of a window; ``source`` says what answered: ``rollups``, ``facts``
    or ``facts+rollups`` (README, "Which path serves what"). A key is listed when it has something
    to count (in the window, or open now). ``median`` False: a caller that does not show
    ``median_handling_hours`` may leave it out of a rollup answer (null)."""
    raw, source = await uow.facts.indicators(q, path, median, counts)
    total = next((r for r in raw if r["is_total"]), None) or {}
    rows = [row for r in raw if not r["is_total"]
            if _counts_something(row := {"key": r["key"], **finish(r, cfg.indicators)})]
    return {
        "from": _iso(q.start), "to": _iso(q.end), "now": _iso(q.now),
        "group_by": q.group_by.value if q.group_by else None,
        "filters": {d.value: v for d, v in q.filters.items()},
        "total": finish(total, cfg.indicators),
        "rows": rows if q.group_by else [],
        "source": source,
    }


async def ranking(uow: AnalyticsUnitOfWork, dim: Dimension, start: datetime | None,
                  end: datetime | None, now: datetime, cfg: ViewSettings,
                  min_cases: int | None = None, filters: dict[Dimension, str] | None = None,
                  limit: int = 100) -> dict[str, Any]:
    q = IndicatorQuery(start, end, now, dim, filters or {})
    # The score and the fields shown use no median (at 10 M cases the medians of a
    # grouping by unit cost seconds: BENCHMARKS.md, session 7), and a fifth of the counts.
    data = await indicators(uow, q, cfg, median=False, counts=RANKING_COUNTS)
    threshold = cfg.min_cases if min_cases is None else min_cases
    ranked, unranked = rank(data["rows"], cfg.weights, threshold)
    w = cfg.weights
    return {
        "from": data["from"], "to": data["to"], "by": dim.value,
        "weights": {"response_rate": w.response, "resolution_rate": w.resolution,
                    "satisfaction_rate": w.satisfaction, "on_time_disposal_rate": w.on_time},
        "min_cases": threshold, "cases_field": "assigned",
        "rows": [{"rank": r.rank, "key": r.key, "score": r.score, "cases": r.cases,
                  **{k: r.indicators.get(k) for k in RANKING_FIELDS}}
                 for r in ranked[:limit]],
        "unranked": unranked,
    }


RANKING_FIELDS = ("response_rate", "resolution_rate", "satisfaction_rate",
                   "on_time_disposal_rate", "disposal_rate", "assigned", "disposed",
                   "called_back", "overdue_open")
#: the counts the fields (and so the score) are made of: a rate's numerator and
#: denominator, and what ``finish`` derives its own counts from
RANKING_COUNTS: frozenset[str] = frozenset(
    c for f in RANKING_FIELDS for n in RATES.get(f, (f,))
    for c in DERIVED_COUNTS.get(n, (n,)))


async def hotspots(uow: AnalyticsUnitOfWork, start: datetime | None, end: datetime | None,
                   township_code: str | None = None, county_code: str | None = None,
                   limit: int = 100) -> list[dict[str, Any]]:
    rows = await uow.surges.list(start, end, township_code, county_code, limit)
    return [{**r, "day": r["day"].isoformat(),  # type: ignore[attr-defined]
             "detected_at": r["detected_at"].isoformat()}  # type: ignore[attr-defined]
            for r in rows]


def _top(rows: list[dict[str, Any]], by: str, n: int) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-(r.get(by) or 0), str(r["key"])))[:n]


def _no_names(_: str | None) -> str | None:
    return None


async def dashboard(uow: AnalyticsUnitOfWork, now: datetime, cfg: ViewSettings,
                    name: Callable[[str | None], str | None] = _no_names) -> dict[str, Any]:
    """Everything on the one screen (一屏观全城), in one read transaction."""
    today = bounds(Window.TODAY, now, cfg.tz)
    month = bounds(Window.D30, now, cfg.tz)
    # The screen shows no median handling time, and the medians were most of these
    # queries' time (at 10 M cases 250 of 270 ms): left out (null; /v1/indicators has them).
    head = await indicators(uow, IndicatorQuery(*today, now), cfg, median=False)
    by_county = await indicators(uow, IndicatorQuery(*month, now, Dimension.COUNTY), cfg,
                                 median=False)
    by_township = await indicators(uow, IndicatorQuery(*month, now, Dimension.TOWNSHIP), cfg,
                                   median=False)
    by_matter = await indicators(uow, IndicatorQuery(*month, now, Dimension.MATTER), cfg,
                                 median=False)
    trend = await uow.facts.daily_trend(*month, cfg.tz, {})
    overdue = await uow.facts.overdue_list(now, 20, {})
    units = await ranking(uow, Dimension.UNIT, *month, now, cfg, limit=10)
    spots = await hotspots(uow, now - timedelta(days=7), None, limit=20)
    series: dict[str, dict[str, int]] = {}
    for r in trend:
        series.setdefault(r["day"].isoformat(), {})[r["what"]] = int(r["n"])
    def named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "name": name(r["key"])} for r in rows]

    return {
        "now": now.isoformat(),
        "today": head["total"],
        "month": by_county["total"],
        "trend": [{"day": d, **v} for d, v in sorted(series.items())],
        "counties": named([r for r in by_county["rows"] if r["key"] is not None]),
        "townships": named(_top([r for r in by_township["rows"] if r["key"] is not None],
                                "received", 15)),
        "matters": named(_top([r for r in by_matter["rows"] if r["key"] is not None],
                              "received", 10)),
        "overdue": [{**o, "case_id": str(o["case_id"]) if o["case_id"] else None,
                     "deadline_at": o["deadline_at"].isoformat(),
                     "matter_name": name(o["matter_code"]), "unit_name": name(o["unit_id"])}
                    for o in overdue],
        "hotspots": [{**h, "township_name": name(h["township_code"]),
                      "matter_name": name(h["matter_code"])} for h in spots],
        "units": named(units["rows"]),
    }


async def gauges(uow: AnalyticsUnitOfWork, now: datetime, window: Window, cfg: ViewSettings
                 ) -> dict[str, Any]:
    """What the Prometheus gauges show."""
    by_tier = await uow.facts.open_by_tier(now)
    counties = await indicators(
        uow, IndicatorQuery(*bounds(window, now, cfg.tz), now, Dimension.COUNTY), cfg)
    today = await indicators(uow, IndicatorQuery(*bounds(Window.TODAY, now, cfg.tz), now), cfg)
    start, end = bounds(Window.TODAY, now, cfg.tz)
    spots = await uow.surges.list(start, end, None, None, 10_000)
    return {"by_tier": by_tier, "counties": counties["rows"], "today": today["total"],
            "hotspots_today": len(spots)}
