-- The whole case life cycle: handling, call-back, closing; merged appeals; durable
-- timers; summoned departments; unit responses already applied.
-- depends: 0100_cases

ALTER TABLE cases
    ADD COLUMN cooperating_unit_ids text[]      NOT NULL DEFAULT '{}',
    ADD COLUMN signed_at            timestamptz,
    ADD COLUMN started_at           timestamptz,
    ADD COLUMN requested_due        timestamptz,
    ADD COLUMN resolved_at          timestamptz,
    ADD COLUMN result               text,
    ADD COLUMN on_the_spot          boolean     NOT NULL DEFAULT false,
    ADD COLUMN callback_due         timestamptz,
    ADD COLUMN called_back_at       timestamptz,
    ADD COLUMN solved               boolean,
    ADD COLUMN satisfaction         text,
    ADD COLUMN closed_at            timestamptz,
    ADD COLUMN return_count         integer     NOT NULL DEFAULT 0,
    ADD COLUMN returned_by          text[]      NOT NULL DEFAULT '{}',
    ADD COLUMN reopen_count         integer     NOT NULL DEFAULT 0,
    ADD COLUMN supervision_level    integer     NOT NULL DEFAULT 0,
    ADD COLUMN historical           boolean     NOT NULL DEFAULT false,
    ADD COLUMN title                text,
    ADD COLUMN content              text,
    ADD COLUMN contact_phone_masked text,
    ADD COLUMN correlation_id       uuid,
    ADD COLUMN updated_at           timestamptz NOT NULL DEFAULT now();

-- A unit's task list: its open cases, newest assignment first.
CREATE INDEX cases_unit_open ON cases (unit_id, assigned_at DESC)
    WHERE state NOT IN ('closed', 'rejected', 'merged');
-- Cases some unit co-operates on.
CREATE INDEX cases_cooperating ON cases USING gin (cooperating_unit_ids);

ALTER TABLE case_transitions ADD COLUMN actor text;

-- Every appeal that belongs to a case: the one it was registered from and the
-- duplicates merged into it (合并).
CREATE TABLE case_appeals (
    appeal_id   uuid PRIMARY KEY,
    case_id     uuid        NOT NULL REFERENCES cases (case_id),
    channel     text        NOT NULL,
    received_at timestamptz NOT NULL,
    merged_at   timestamptz            -- null for the appeal the case was registered from
);
CREATE INDEX case_appeals_case ON case_appeals (case_id);

-- Durable timers. The scheduler reads only rows with a next_at, through a partial
-- index: archived deadlines cost nothing, however many there are.
CREATE TABLE deadlines (
    deadline_id bigserial PRIMARY KEY,
    case_id     uuid        NOT NULL REFERENCES cases (case_id),
    kind        text        NOT NULL,  -- sign_for | resolve | respond | callback
    unit_id     text,
    due_at      timestamptz NOT NULL,
    warn_at     timestamptz,
    stage       text        NOT NULL DEFAULT 'pending',
    next_at     timestamptz,           -- null once done or cancelled
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deadlines_due ON deadlines (next_at) WHERE next_at IS NOT NULL;
CREATE INDEX deadlines_case ON deadlines (case_id) WHERE next_at IS NOT NULL;

-- County departments summoned by a township (吹哨报到) and when they responded.
CREATE TABLE case_summons (
    case_id      uuid        NOT NULL REFERENCES cases (case_id),
    unit_id      text        NOT NULL,
    summoned_at  timestamptz NOT NULL,
    respond_due  timestamptz NOT NULL,
    responded_at timestamptz,
    PRIMARY KEY (case_id, unit_id)
);

-- Unit responses applied, by the department's own response id: a response re-sent
-- under a new event id is applied once.
CREATE TABLE unit_responses (
    response_id uuid PRIMARY KEY,
    case_id     uuid        NOT NULL,
    unit_id     text        NOT NULL,
    action      text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
