-- Enforcement cases, their append-only hash-chained records, disclosures and joint
-- inspections. Party data (names, ID numbers, phones, addresses) stays in case_parties.
-- depends: 0100_enforcement

CREATE SEQUENCE case_number_seq;

CREATE TABLE cases (
    case_id             uuid PRIMARY KEY,
    source              text        NOT NULL,
    team_unit_id        text        NOT NULL,
    township_code       text        NOT NULL,
    grid_code           text,
    matter_code         text,
    violation_code      text,
    dispatch_case_id    uuid,
    inspection_id       uuid,
    description         text,
    state               text        NOT NULL,
    case_number         text UNIQUE,
    created_at          timestamptz NOT NULL,
    filed_at            timestamptz,
    decision_due        timestamptz,
    not_filed_reason    text,
    review              jsonb,
    decision            jsonb,
    decided_at          timestamptz,
    closed_at           timestamptz,
    -- The 90-day limit: set once by the periodic check, so each is reported once.
    decision_warned_at  timestamptz,
    decision_overdue_at timestamptz
);
-- One enforcement case per dispatch case: a re-delivered hand-over finds it.
CREATE UNIQUE INDEX cases_dispatch_case ON cases (dispatch_case_id)
    WHERE dispatch_case_id IS NOT NULL;
CREATE INDEX cases_team_state ON cases (team_unit_id, state, created_at);
CREATE INDEX cases_awaiting_decision ON cases (decision_due)
    WHERE state IN ('filed', 'investigation', 'legal_review');

CREATE TABLE case_parties (
    case_id    uuid PRIMARY KEY REFERENCES cases (case_id),
    party_type text NOT NULL,
    name       text NOT NULL,
    id_number  text,
    phone      text,
    address    text
);

-- Full-process records (执法全过程记录): each record's hash covers the previous hash.
CREATE TABLE case_records (
    case_id     uuid        NOT NULL REFERENCES cases (case_id),
    seq         integer     NOT NULL,
    kind        text        NOT NULL,
    recorded_at timestamptz NOT NULL,
    prev_hash   text        NOT NULL,
    hash        text        NOT NULL,
    record      jsonb       NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- Append-only: no UPDATE, DELETE or TRUNCATE, whoever asks.
CREATE FUNCTION case_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_records is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER case_records_append_only BEFORE UPDATE OR DELETE ON case_records
    FOR EACH ROW EXECUTE FUNCTION case_records_append_only();
CREATE TRIGGER case_records_no_truncate BEFORE TRUNCATE ON case_records
    FOR EACH STATEMENT EXECUTE FUNCTION case_records_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON case_records FROM PUBLIC;

-- Public disclosure (公示): due within N working days of the decision.
CREATE TABLE disclosures (
    case_id            uuid PRIMARY KEY REFERENCES cases (case_id),
    team_unit_id       text        NOT NULL,
    decided_at         timestamptz NOT NULL,
    due                timestamptz NOT NULL,
    disclosure_id      uuid UNIQUE,
    content            jsonb,
    disclosed_at       timestamptz,
    on_time            boolean,
    overdue_flagged_at timestamptz
);
CREATE INDEX disclosures_pending ON disclosures (due)
    WHERE disclosed_at IS NULL AND overdue_flagged_at IS NULL;
CREATE INDEX disclosures_published ON disclosures (disclosed_at DESC)
    WHERE disclosed_at IS NOT NULL;

-- Joint inspections (综合查一次).
CREATE TABLE inspections (
    inspection_id    uuid PRIMARY KEY,
    team_unit_id     text        NOT NULL,
    township_code    text        NOT NULL,
    grid_code        text        NOT NULL,
    business_ref     text        NOT NULL,
    planned_for      date        NOT NULL,
    checklists       jsonb       NOT NULL,
    state            text        NOT NULL,
    confirmations    jsonb       NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL,
    performed_at     timestamptz,
    violations_found jsonb       NOT NULL DEFAULT '[]',
    case_ids         jsonb       NOT NULL DEFAULT '[]'
);
CREATE INDEX inspections_team ON inspections (team_unit_id, created_at);
