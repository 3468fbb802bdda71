-- Enforcement indicators (综合行政执法) from enforcement's own events: one row per
-- enforcement case and one per joint inspection, keyed by their ids, so a redelivered
-- event counts once. Every column comes from an event (see domain/enforcement.py).
-- depends: 0102_hotspots

CREATE TABLE enforcement_case_facts (
    enforcement_case_id uuid PRIMARY KEY,
    team_unit_id        text,
    county_code         text,
    township_code       text,
    source              text,
    lead_at             timestamptz,
    filed_at            timestamptz,
    decided_at          timestamptz,
    decision_kind       text,
    fine_yuan           integer,
    disclosed_at        timestamptz,
    disclosed_on_time   boolean,
    closed_at           timestamptz,
    outcome             text
);
CREATE INDEX enforcement_case_facts_team ON enforcement_case_facts (team_unit_id);

CREATE TABLE enforcement_inspection_facts (
    inspection_id     uuid PRIMARY KEY,
    team_unit_id      text,
    performed_at      timestamptz,
    departments       integer,
    inspections_saved integer,
    violations_found  integer
);
CREATE INDEX enforcement_inspection_facts_performed_at
    ON enforcement_inspection_facts (performed_at);
