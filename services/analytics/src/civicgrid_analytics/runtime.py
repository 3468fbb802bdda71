"""Analytics' runtime: the shared ``ServiceRuntime``, with the rollups filled before any
consumer starts when the store has facts they do not hold (the first start after
migration 0104, or after the zone of the buckets was changed), and the projection that
folds the fact journal running for as long as the consumers do."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from civicgrid_shared.runtime import ServiceRuntime

from civicgrid_analytics.adapters.rollup_store import ensure_rollups
from civicgrid_analytics.service_layer.projection import FactProjection


class AnalyticsRuntime(ServiceRuntime):
    projection: FactProjection | None = None
    _folding: asyncio.Task[None] | None = None

    def project_with(self, projection: FactProjection) -> None:
        """Run ``projection`` from start to stop."""
        self.projection = projection

    async def prepare_store(self, pool: asyncpg.Pool) -> None:
        # Before consuming: the incremental writes only keep rollups that are complete.
        await ensure_rollups(pool)

    async def start(self) -> None:
        await super().start()
        if self.projection is not None:
            self._folding = asyncio.create_task(self.projection.run(),
                                                name=f"{self.name}-projection")

    async def stop(self) -> None:
        if self._folding is not None:
            self._folding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._folding
            self._folding = None
        await super().stop()

    async def readiness(self) -> dict[str, bool]:
        checks = await super().readiness()
        if self.projection is not None:
            checks["projection"] = self._folding is not None and not self._folding.done()
        return checks
