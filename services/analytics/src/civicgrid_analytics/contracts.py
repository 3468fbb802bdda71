"""What analytics publishes: its own event and topic (the shared contracts stay fixed)."""

from __future__ import annotations

from datetime import date

from civicgrid_shared.contracts.envelope import EventPayload
from civicgrid_shared.contracts.topics import ALL_TOPICS, TopicSpec
from pydantic import AwareDatetime

HOTSPOTS = TopicSpec(
    "civicgrid.hotspots.v1", 3, "township code:matter code",
    "Hotspots found by analytics (未诉先办): a surge of one matter in one township.",
)

#: The topics analytics' runtime creates and watches.
TOPICS: tuple[TopicSpec, ...] = (*ALL_TOPICS, HOTSPOTS)


class HotspotDetected(EventPayload):
    """A matter surged in a township: at least ``factor`` times its trailing daily
    baseline and at least ``min_cases`` cases within ``window_hours``. Published once per
    (township, matter, city-local day)."""

    event_type = "civicgrid.analytics.hotspot_detected"

    township_code: str
    county_code: str | None = None
    matter_code: str
    day: date
    detected_at: AwareDatetime  # event time: the end of the hour that tipped it
    cases: int
    window_hours: int
    baseline_daily: float
    baseline_days: int
    ratio: float | None = None
    factor: float
