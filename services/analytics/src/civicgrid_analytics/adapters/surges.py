"""Hotspot state in PostgreSQL: hourly counts per (township, matter), hotspots found."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from civicgrid_shared.db.pool import Conn

from civicgrid_analytics.domain.hotspots import Surge, SurgeKey, hour_of


@dataclass(frozen=True)
class PendingCase:
    key: SurgeKey
    county_code: str | None
    event_time: datetime


class SurgeRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self.pending: list[PendingCase] = []

    def add(self, township_code: str, matter_code: str, county_code: str | None,
            event_time: datetime) -> None:
        self.pending.append(PendingCase((township_code, matter_code), county_code, event_time))

    def take_pending(self) -> list[PendingCase]:
        out, self.pending = self.pending, []
        return out

    async def load(self, keys: list[SurgeKey], start: datetime, end: datetime
                   ) -> dict[SurgeKey, dict[datetime, int]]:
        """Stored hourly counts of these keys for hours in ``[start, end)``."""
        rows = await self._conn.fetch(
            """
            SELECT c.township_code, c.matter_code, c.hour, c.cases
            FROM unnest($1::text[], $2::text[]) AS k(township_code, matter_code)
            JOIN surge_counts c USING (township_code, matter_code)
            WHERE c.hour >= $3 AND c.hour < $4
            """, [k[0] for k in keys], [k[1] for k in keys], start, end)
        out: dict[SurgeKey, dict[datetime, int]] = defaultdict(dict)
        for r in rows:
            out[(r["township_code"], r["matter_code"])][r["hour"]] = r["cases"]
        return dict(out)

    async def increment(self, cases: list[PendingCase]) -> None:
        """Add the batch's cases to the hourly counts (one statement)."""
        n: dict[tuple[str, str, datetime], int] = defaultdict(int)
        for c in cases:
            n[(c.key[0], c.key[1], hour_of(c.event_time))] += 1
        keys = sorted(n)
        await self._conn.execute(
            """
            INSERT INTO surge_counts (township_code, matter_code, hour, cases)
            SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[])
            ON CONFLICT (township_code, matter_code, hour)
            DO UPDATE SET cases = surge_counts.cases + EXCLUDED.cases
            """, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
            [n[k] for k in keys])

    async def record_hotspots(self, surges: list[Surge], counties: dict[SurgeKey, str | None]
                              ) -> list[Surge]:
        """Store hotspots; return those that are new (one per township, matter and day)."""
        if not surges:
            return []
        rows = await self._conn.fetch(
            """
            INSERT INTO hotspots (township_code, matter_code, day, county_code, detected_at,
                                  cases_24h, baseline_daily, ratio)
            SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[],
                                 $5::timestamptz[], $6::int[], $7::float8[], $8::float8[])
            ON CONFLICT (township_code, matter_code, day) DO NOTHING
            RETURNING township_code, matter_code, day
            """,
            [s.township_code for s in surges], [s.matter_code for s in surges],
            [s.day for s in surges],
            [counties.get((s.township_code, s.matter_code)) for s in surges],
            [s.detected_at for s in surges], [s.cases for s in surges],
            [s.baseline_daily for s in surges], [s.ratio for s in surges])
        new = {(r["township_code"], r["matter_code"], r["day"]) for r in rows}
        return [s for s in surges if (s.township_code, s.matter_code, s.day) in new]

    async def list(self, start: datetime | None, end: datetime | None,
                   township_code: str | None, county_code: str | None, limit: int
                   ) -> list[dict[str, object]]:
        rows = await self._conn.fetch(
            """
            SELECT township_code, county_code, matter_code, day, detected_at, cases_24h,
                   baseline_daily, ratio
            FROM hotspots
            WHERE ($1::timestamptz IS NULL OR detected_at >= $1)
              AND ($2::timestamptz IS NULL OR detected_at < $2)
              AND ($3::text IS NULL OR township_code = $3)
              AND ($4::text IS NULL OR county_code = $4)
            ORDER BY detected_at DESC, township_code, matter_code
            LIMIT $5
            """, start, end, township_code, county_code, limit)
        return [dict(r) for r in rows]
