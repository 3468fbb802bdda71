"""Duplicate detection (重复件): is a new appeal a repeat of an open case?

Two rules, from the domain notes (FixMyStreet: same category within 250 m):

* near: same matter, within the matter's ``duplicate_radius_m`` of the open case's
  appeal and within ``duplicate_window_hours`` of it. Without an exact point on either
  side, "near" means the same grid. A radius of 0 turns this rule off for the matter.
* same citizen: same normalised phone, same matter, the case still open (any age).

Pure: the candidates come from the repository, the rules from the matter catalog.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing the circle: a cheap SQL pre-filter."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = math.degrees(radius_m / (EARTH_RADIUS_M * max(0.01, math.cos(math.radians(lat)))))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


@dataclass(frozen=True)
class DuplicateRule:
    radius_m: float = 250.0
    window_hours: float = 72.0


@dataclass(frozen=True)
class Probe:
    """The new appeal, as far as duplicates are concerned."""

    matter_code: str
    received_at: datetime
    latitude: float | None
    longitude: float | None
    grid_code: str | None
    phone_e164: str | None


@dataclass(frozen=True)
class OpenCase:
    """An open case and the appeal that opened it (point and phone from intake's rows)."""

    case_id: uuid.UUID
    matter_code: str
    received_at: datetime
    latitude: float | None
    longitude: float | None
    grid_code: str | None
    phone_e164: str | None


def _near(probe: Probe, case: OpenCase, rule: DuplicateRule) -> bool:
    if rule.radius_m <= 0:  # the catalog says: never merge by place (e.g. wage arrears)
        return False
    if abs(probe.received_at - case.received_at) > timedelta(hours=rule.window_hours):
        return False
    if (probe.latitude is not None and probe.longitude is not None
            and case.latitude is not None and case.longitude is not None):
        distance = haversine_m(probe.latitude, probe.longitude, case.latitude, case.longitude)
        return distance <= rule.radius_m
    return probe.grid_code is not None and probe.grid_code == case.grid_code


def find_duplicate(probe: Probe, candidates: Iterable[OpenCase],
                   rule: DuplicateRule) -> uuid.UUID | None:
    """The open case this appeal repeats, or None. Same citizen first, then the nearest."""
    best: tuple[float, uuid.UUID] | None = None
    for case in candidates:
        if case.matter_code != probe.matter_code:
            continue
        if probe.phone_e164 is not None and probe.phone_e164 == case.phone_e164:
            return case.case_id
        if not _near(probe, case, rule):
            continue
        if (probe.latitude is not None and probe.longitude is not None
                and case.latitude is not None and case.longitude is not None):
            distance = haversine_m(probe.latitude, probe.longitude,
                                   case.latitude, case.longitude)
        else:
            distance = rule.radius_m
        if best is None or distance < best[0]:
            best = (distance, case.case_id)
    return best[1] if best else None
