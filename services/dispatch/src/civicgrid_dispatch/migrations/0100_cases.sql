-- Cases owned by dispatch.
-- depends: 0001_delivery

CREATE SEQUENCE case_number_seq;

CREATE TABLE cases (
    case_id        uuid PRIMARY KEY,
    appeal_id      uuid        NOT NULL UNIQUE,
    case_number    text        NOT NULL UNIQUE,
    state          text        NOT NULL,
    channel        text        NOT NULL,
    matter_code    text        NOT NULL,
    category_code  text        NOT NULL,
    priority       text        NOT NULL,
    county_code    text,
    township_code  text,
    community_code text,
    grid_code      text,
    unit_id        text,
    tier           text,
    received_at    timestamptz NOT NULL,
    registered_at  timestamptz,
    assigned_at    timestamptz,
    sign_for_due   timestamptz,
    resolve_due    timestamptz,
    version        integer     NOT NULL DEFAULT 1
);
CREATE INDEX cases_unit_state ON cases (unit_id, state);

-- Every transition, with when and why: the case's history.
CREATE TABLE case_transitions (
    case_id    uuid        NOT NULL REFERENCES cases (case_id),
    seq        integer     NOT NULL,
    from_state text        NOT NULL,
    to_state   text        NOT NULL,
    at         timestamptz NOT NULL,
    reason     text,
    PRIMARY KEY (case_id, seq)
);
