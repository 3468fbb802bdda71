-- Hotspot detection (未诉先办): registered cases per (township, matter, hour) by event
-- time, and the hotspots found (one per township, matter and city-local day).
-- depends: 0101_case_lifecycle

CREATE TABLE surge_counts (
    township_code text        NOT NULL,
    matter_code   text        NOT NULL,
    hour          timestamptz NOT NULL,
    cases         integer     NOT NULL,
    PRIMARY KEY (township_code, matter_code, hour)
);

CREATE TABLE hotspots (
    township_code  text        NOT NULL,
    matter_code    text        NOT NULL,
    day            date        NOT NULL,
    county_code    text,
    detected_at    timestamptz NOT NULL,  -- event time: the end of the hour that tipped it
    cases_24h      integer     NOT NULL,
    baseline_daily double precision NOT NULL,
    ratio          double precision,
    PRIMARY KEY (township_code, matter_code, day)
);
CREATE INDEX hotspots_detected_at ON hotspots (detected_at);
