"""GET /v1/indicators: the city's figures by event time, grouped and filtered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import AwareDatetime

from civicgrid_analytics.domain.indicators import Dimension, finish
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork

_COUNTS = ("received", "registered", "rejected", "assigned")


def build_router(make_uow: Callable[[], AnalyticsUnitOfWork]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["indicators"])

    @router.get("/indicators", summary="Indicators by event time, optionally grouped.")
    async def indicators(
        request: Request,
        start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
        end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
        group_by: Dimension | None = None,
    ) -> dict[str, Any]:
        if start is not None and end is not None and end <= start:
            raise HTTPException(422, "'to' must be after 'from'")
        filters: dict[Dimension, str] = {}
        for dim in Dimension:
            value = request.query_params.get(dim.value)
            if value is not None:
                filters[dim] = value
        async with make_uow() as uow:
            rows = await uow.facts.counts(start, end, group_by, filters)
        total = {name: sum(int(r[name]) for r in rows) for name in _COUNTS}
        return {
            "from": _iso(start),
            "to": _iso(end),
            "group_by": group_by.value if group_by else None,
            "filters": {d.value: v for d, v in filters.items()},
            "total": finish(total),
            "rows": [{"key": r["key"], **finish({n: int(r[n]) for n in _COUNTS})}
                     for r in rows] if group_by else [],
        }

    return router


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None
