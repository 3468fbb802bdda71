"""What analytics publishes: its own event and topic (the shared contracts stay fixed).

This is analytics' public contract: ``tools/contracts.py`` documents ``FLOWS``
(``make contracts``).
"""

from __future__ import annotations

from datetime import date

from civicgrid_shared.contracts.envelope import EventPayload
from civicgrid_shared.contracts.flows import Flow
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


#: Who writes and reads analytics' topic (no platform service reads it yet).
FLOWS: tuple[Flow, ...] = (
    Flow(HOTSPOTS, HotspotDetected, "analytics", (),
         description="A signal for acting before the complaints come (未诉先办). `ratio` is "
                     "`cases` over the baseline (none when the baseline is zero); "
                     "`detected_at` is the end of the hour that tipped it, in event time "
                     "(`received_at` of the cases), not the moment of detection.",
         key="`<township_code>:<matter_code>`", key_format=None,
         example={"matter_code": "RD-006", "detected_at": "2026-11-23T08:00:00+08:00",
                  "cases": 14, "window_hours": 24, "baseline_daily": 2.4,
                  "baseline_days": 7, "ratio": 5.83, "factor": 3.0}),
)
