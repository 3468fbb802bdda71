-- Issue 3: channel details, triage, duplicates, case view, progress notes, call-backs.
-- depends: 0100_appeals

ALTER TABLE appeals
    ADD COLUMN resolution_note      text,
    ADD COLUMN callback_consent     boolean,
    ADD COLUMN duplicate_of_case_id uuid,
    ADD COLUMN case_id              uuid,
    ADD COLUMN history              jsonb,
    ADD COLUMN updated_at           timestamptz;

-- The manual triage queue: appeals the classifier was not sure about.
CREATE INDEX appeals_triage ON appeals (received_at) WHERE status = 'triage';
-- Open311 listing by service and time.
CREATE INDEX appeals_received_at ON appeals (received_at);
-- Duplicate search: same matter near the point, or in the same grid, or the same phone.
CREATE INDEX appeals_matter_lat ON appeals (matter_code, latitude);
CREATE INDEX appeals_matter_grid ON appeals (matter_code, grid_code, received_at);
CREATE INDEX appeal_contacts_phone ON appeal_contacts (phone_e164);

-- Media references from the grid app (URLs or ids only, never the files).
CREATE TABLE appeal_media (
    appeal_id uuid NOT NULL REFERENCES appeals (appeal_id),
    position  int  NOT NULL,
    ref       text NOT NULL,
    PRIMARY KEY (appeal_id, position)
);

-- Dispatch's cases as intake learns them from the cases topic.
CREATE TABLE cases (
    case_id     uuid PRIMARY KEY,
    appeal_id   uuid        NOT NULL,
    case_number text,
    matter_code text,
    is_open     boolean     NOT NULL DEFAULT true,
    opened_at   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX cases_open_matter ON cases (matter_code) WHERE is_open;
CREATE INDEX cases_appeal ON cases (appeal_id);

-- What the citizen sees: public progress notes, one per case event.
CREATE TABLE appeal_progress (
    seq       bigserial,
    event_id  uuid PRIMARY KEY,
    appeal_id uuid        NOT NULL,
    at        timestamptz NOT NULL,
    kind      text        NOT NULL,
    note      text        NOT NULL
);
CREATE INDEX appeal_progress_appeal ON appeal_progress (appeal_id, at);

-- Call-back answers taken by hotline agents.
CREATE TABLE callbacks (
    callback_id  uuid PRIMARY KEY,
    appeal_id    uuid        NOT NULL REFERENCES appeals (appeal_id),
    case_id      uuid,
    solved       boolean     NOT NULL,
    satisfaction text        NOT NULL,
    comment      text,
    answered_at  timestamptz NOT NULL
);
