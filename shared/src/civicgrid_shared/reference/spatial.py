"""A uniform bucket index over rectangles, for point-in-grid look-ups.

Point resolution is on the intake hot path (thousands per second), so a query must
be a couple of arithmetic operations plus a handful of rectangle tests, not a walk
over 4,600 grids.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .models import BBox


class RectIndex:
    """Maps a point to the index of the (half-open) rectangle containing it."""

    __slots__ = ("_buckets", "_cols", "_dx", "_dy", "_lat0", "_lon0", "_rects", "_rows")

    def __init__(self, bounds: BBox, rects: Sequence[BBox], cells: int = 256) -> None:
        min_lon, min_lat, max_lon, max_lat = bounds
        self._lon0 = min_lon
        self._lat0 = min_lat
        self._cols = cells
        self._rows = cells
        self._dx = (max_lon - min_lon) / cells
        self._dy = (max_lat - min_lat) / cells
        self._rects = tuple(rects)
        buckets: list[list[int]] = [[] for _ in range(cells * cells)]
        for i, (r_min_lon, r_min_lat, r_max_lon, r_max_lat) in enumerate(self._rects):
            # Same floor arithmetic as the query, applied to both edges: floor is
            # monotone, so every point of the rectangle lands in one of these buckets.
            c0, r0 = self._cell(r_min_lon, r_min_lat)
            c1, r1 = self._cell(r_max_lon, r_max_lat)
            for row in range(r0, r1 + 1):
                base = row * cells
                for col in range(c0, c1 + 1):
                    buckets[base + col].append(i)
        self._buckets: tuple[tuple[int, ...], ...] = tuple(tuple(b) for b in buckets)

    def _cell(self, lon: float, lat: float) -> tuple[int, int]:
        col = min(max(math.floor((lon - self._lon0) / self._dx), 0), self._cols - 1)
        row = min(max(math.floor((lat - self._lat0) / self._dy), 0), self._rows - 1)
        return col, row

    def find(self, lat: float, lon: float) -> int | None:
        """Index of the rectangle with min <= point < max, or None."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return None  # NaN/inf would make floor() raise
        col = math.floor((lon - self._lon0) / self._dx)
        row = math.floor((lat - self._lat0) / self._dy)
        if not (0 <= col < self._cols and 0 <= row < self._rows):
            return None
        rects = self._rects
        for i in self._buckets[row * self._cols + col]:
            min_lon, min_lat, max_lon, max_lat = rects[i]
            if min_lon <= lon < max_lon and min_lat <= lat < max_lat:
                return i
        return None
