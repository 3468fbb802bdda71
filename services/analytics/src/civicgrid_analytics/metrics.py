"""Analytics' domain gauges (prefix ``civicgrid_analytics_``), refreshed from the database
every ``metrics_refresh_s`` seconds, never per scrape. Labels are bounded: tier, county
code (10 counties), indicator name, stage; never case ids or phones.
"""

from __future__ import annotations

from prometheus_client import Gauge

OPEN_CASES = Gauge("civicgrid_analytics_open_cases",
                   "Registered cases not closed yet, by the tier handling them.", ["tier"])
OVERDUE_CASES = Gauge("civicgrid_analytics_overdue_cases",
                      "Open cases still in handling past their time limit, by tier.", ["tier"])
COUNTY_RATE = Gauge("civicgrid_analytics_county_rate_ratio",
                    "Indicator rates per county over the metrics window (0..1).",
                    ["county_code", "indicator"])
TODAY_CASES = Gauge("civicgrid_analytics_today_cases",
                    "Cases reaching a stage today (city-local day), by stage.", ["stage"])
HOTSPOTS_TODAY = Gauge("civicgrid_analytics_hotspots_today",
                       "Hotspots detected for the city-local day.")
REFRESHED = Gauge("civicgrid_analytics_gauges_refreshed_timestamp_seconds",
                  "When the domain gauges were last refreshed (Unix time).")

#: rates exported per county (bounded list)
COUNTY_RATES = ("disposal_rate", "response_rate", "resolution_rate", "satisfaction_rate",
                "on_time_closing_rate", "rework_rate")
TODAY_STAGES = ("received", "accepted", "disposed", "closed")
