"""Analytics' domain gauges (prefix ``civicgrid_analytics_``), refreshed from the database
every ``metrics_refresh_s`` seconds, never per scrape. Labels are bounded: tier, county
code (10 counties), indicator name, stage; never case ids or phones.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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

# The fact journal and its projection (service_layer/projection.py): set after every fold.
JOURNAL_EVENTS = Gauge("civicgrid_analytics_journal_events",
                       "Events accepted by the consumer and not yet folded into the facts "
                       "and indicators.")
JOURNAL_AGE = Gauge("civicgrid_analytics_journal_age_seconds",
                    "Age of the oldest journal row not yet folded (0 when none).")
FOLDED_EVENTS = Counter("civicgrid_analytics_folded_events_total",
                        "Events folded from the journal into the facts and indicators.")
FOLD_SECONDS = Histogram("civicgrid_analytics_fold_seconds",
                         "Duration of one fold of the journal (one transaction).",
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
FOLD_DELAY = Histogram("civicgrid_analytics_fold_delay_seconds",
                       "From the start of the consumer transaction that journalled a batch to "
                       "the fold that made it count "
                       "(the oldest batch of each fold).",
                       buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
FOLD_FAILURES = Counter("civicgrid_analytics_fold_failures_total",
                        "Folds that failed and were tried again.")
FOLD_SET_ASIDE = Counter("civicgrid_analytics_fold_set_aside_total",
                         "Appeals whose journalled updates could not be folded and were set "
                         "aside (table fact_journal_set_aside).")
