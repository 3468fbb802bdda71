"""Analytics' runtime: the shared ``ServiceRuntime``, with the rollups filled before any
consumer starts when the store has facts they do not hold (the first start after
migration 0104, or after the zone of the buckets was changed)."""

from __future__ import annotations

import asyncpg
from civicgrid_shared.runtime import ServiceRuntime

from civicgrid_analytics.adapters.rollup_store import ensure_rollups


class AnalyticsRuntime(ServiceRuntime):
    async def prepare_store(self, pool: asyncpg.Pool) -> None:
        # Before consuming: the incremental writes only keep rollups that are complete.
        await ensure_rollups(pool)
