"""HTTP: indicators, rankings, hotspots, the overdue list, the live dashboard and its feed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from civicgrid_shared.web import inputs
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from pydantic import AwareDatetime

from civicgrid_analytics.adapters.enforcement_sql import EnforcementQuery
from civicgrid_analytics.adapters.indicator_sql import IndicatorQuery
from civicgrid_analytics.domain.enforcement import EnforcementGroup
from civicgrid_analytics.domain.indicators import Dimension
from civicgrid_analytics.domain.windows import Window, bounds
from civicgrid_analytics.service_layer import enforcement, views
from civicgrid_analytics.service_layer.live import LiveFeed
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork

STATIC = Path(__file__).parent / "static"

From = Annotated[AwareDatetime | None, Query(alias="from", description="window start (incl.)")]
To = Annotated[AwareDatetime | None, Query(alias="to", description="window end (excl.)")]
WindowQ = Annotated[Window | None, Query(description="shortcut: today, 7d, 30d, ytd (city time)")]


def _now() -> datetime:
    return datetime.now(UTC)


def _window(window: Window | None, start: datetime | None, end: datetime | None,
            now: datetime, tz: str) -> tuple[datetime | None, datetime | None]:
    if window is not None:
        if start is not None or end is not None:
            raise HTTPException(422, "give either 'window' or 'from'/'to', not both")
        return bounds(window, now, tz)
    if start is not None and end is not None and end <= start:
        raise HTTPException(422, "'to' must be after 'from'")
    return start, end


#: The dimension filters (?channel=hotline&county_code=...), read from the raw query by
#: _filters: documented here so that the OpenAPI document lists them.
FILTERS: dict[str, Any] = {"parameters": [
    {"name": dim.value, "in": "query", "required": False, "schema": {"type": "string"},
     "description": f"only this {dim.value}"} for dim in Dimension]}


def _filters(request: Request) -> dict[Dimension, str]:
    """The dimension filters of the query (read raw: checked here as the route's declared
    parameters are by ValidatedRoute)."""
    found = {dim: v for dim in Dimension if (v := request.query_params.get(dim.value)) is not None}
    inputs.check((v, ("query", dim.value)) for dim, v in found.items())
    return found


def build_router(make_uow: Callable[[], AnalyticsUnitOfWork], cfg: views.ViewSettings,
                 feed: LiveFeed, echarts: Path) -> APIRouter:
    router = APIRouter(route_class=inputs.ValidatedRoute)
    echarts_installed = echarts.is_file()  # checked once, at start

    @router.get("/v1/indicators", tags=["indicators"],
                summary="Indicators by event time, optionally grouped and filtered.",
                openapi_extra=FILTERS)
    async def indicators(request: Request, start: From = None, end: To = None,
                         window: WindowQ = None, group_by: Dimension | None = None
                         ) -> dict[str, Any]:
        now = _now()
        s, e = _window(window, start, end, now, cfg.tz)
        q = IndicatorQuery(s, e, now, group_by, _filters(request))
        async with make_uow() as uow:
            out = await views.indicators(uow, q, cfg)
        out["window"] = window.value if window else None
        return out

    @router.get("/v1/enforcement-indicators", tags=["indicators"],
                summary="Enforcement indicators (综合行政执法) by event time, optionally grouped.")
    async def enforcement_indicators(start: From = None, end: To = None,
                                     window: WindowQ = None,
                                     group_by: EnforcementGroup | None = None
                                     ) -> dict[str, Any]:
        s, e = _window(window, start, end, _now(), cfg.tz)
        async with make_uow() as uow:
            out = await enforcement.indicators(uow, EnforcementQuery(s, e, group_by))
        out["window"] = window.value if window else None
        return out

    async def _ranking(request: Request, dim: Dimension, start: datetime | None,
                       end: datetime | None, window: Window | None, min_cases: int | None,
                       limit: int) -> dict[str, Any]:
        now = _now()
        s, e = _window(window if window or start or end else Window.D30, start, end, now,
                       cfg.tz)
        filters = {d: v for d, v in _filters(request).items() if d is not dim}
        async with make_uow() as uow:
            return await views.ranking(uow, dim, s, e, now, cfg, min_cases, filters, limit)

    @router.get("/v1/rankings/units", tags=["rankings"],
                summary="Units ranked by assessment score (default window: 30d).",
                openapi_extra=FILTERS)
    async def rank_units(request: Request, start: From = None, end: To = None,
                         window: WindowQ = None,
                         min_cases: Annotated[int | None, Query(ge=0)] = None,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        return await _ranking(request, Dimension.UNIT, start, end, window, min_cases, limit)

    @router.get("/v1/rankings/grid-workers", tags=["rankings"],
                summary="Grid workers ranked by the score of the cases they reported.",
                openapi_extra=FILTERS)
    async def rank_grid_workers(request: Request, start: From = None, end: To = None,
                                window: WindowQ = None,
                                min_cases: Annotated[int | None, Query(ge=0)] = None,
                                limit: Annotated[int, Query(ge=1, le=1000)] = 100
                                ) -> dict[str, Any]:
        return await _ranking(request, Dimension.GRID_WORKER, start, end, window, min_cases,
                              limit)

    @router.get("/v1/hotspots", tags=["hotspots"],
                summary="Hotspots (未诉先办) detected within the window, newest first.")
    async def hotspots(start: From = None, end: To = None, window: WindowQ = None,
                       township_code: str | None = None, county_code: str | None = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        s, e = _window(window, start, end, _now(), cfg.tz)
        async with make_uow() as uow:
            rows = await views.hotspots(uow, s, e, township_code, county_code, limit)
        r = cfg.surge
        return {"rule": {"factor": r.factor, "min_cases": r.min_cases,
                         "window_hours": r.window_hours, "baseline_days": r.baseline_days},
                "rows": rows}

    @router.get("/v1/overdue", tags=["indicators"],
                summary="Open cases past their time limit now, most overdue first.",
                openapi_extra=FILTERS)
    async def overdue(request: Request,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
        now = _now()
        async with make_uow() as uow:
            rows = await uow.facts.overdue_list(now, limit, _filters(request))
        return {"now": now.isoformat(), "rows": rows}

    @router.get("/v1/dashboard/data", tags=["dashboard"],
                summary="Everything the city screen shows, in one document (at most one stream "
                        "interval old: the live feed's latest snapshot).")
    async def dashboard_data() -> dict[str, Any]:
        return await feed.latest()

    @router.get("/v1/stream", tags=["dashboard"],
                summary="Server-sent events: a 'snapshot' of the city screen as it changes.")
    async def stream() -> StreamingResponse:
        return StreamingResponse(feed.events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})

    @router.get("/dashboard", tags=["dashboard"], response_class=HTMLResponse,
                summary="One screen for the whole city (一屏观全城).")
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC / "dashboard.html", media_type="text/html")

    @router.get("/static/dashboard.js", include_in_schema=False)
    async def dashboard_js() -> FileResponse:
        return FileResponse(STATIC / "dashboard.js", media_type="text/javascript")

    @router.get("/static/echarts.min.js", include_in_schema=False)
    async def echarts_js() -> FileResponse:
        if not echarts_installed:
            raise HTTPException(404, "Apache ECharts is not installed: run "
                                     "'npm ci --prefix services/analytics'")
        return FileResponse(echarts, media_type="text/javascript")

    return router
