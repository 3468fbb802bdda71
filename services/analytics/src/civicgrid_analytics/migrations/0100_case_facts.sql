-- One row per appeal with the moments of its life: indicators are counts over them.
-- Rebuildable from the event history (every column comes from an event).
-- depends: 0001_delivery

CREATE TABLE case_facts (
    appeal_id      uuid PRIMARY KEY,
    case_id        uuid,
    channel        text,
    matter_code    text,
    category_code  text,
    county_code    text,
    township_code  text,
    community_code text,
    grid_code      text,
    unit_id        text,
    tier           text,
    received_at    timestamptz,
    registered_at  timestamptz,
    rejected_at    timestamptz,
    assigned_at    timestamptz,
    sign_for_due   timestamptz,
    resolve_due    timestamptz
);
CREATE INDEX case_facts_received_at ON case_facts (received_at);
CREATE INDEX case_facts_registered_at ON case_facts (registered_at);
