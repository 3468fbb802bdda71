-- The whole case life cycle on the one row per appeal (issue 6).
-- Every column comes from an event (see domain/facts.py for how each one merges).
-- depends: 0100_case_facts

ALTER TABLE case_facts
    ADD COLUMN case_number            text,
    ADD COLUMN priority               text,
    ADD COLUMN grid_worker_id         text,
    ADD COLUMN history_source         text,
    ADD COLUMN history_agency         text,
    ADD COLUMN merged_at              timestamptz,
    ADD COLUMN merged_into            uuid,
    ADD COLUMN last_assigned_at       timestamptz,
    ADD COLUMN signed_at              timestamptz,
    ADD COLUMN signed_on_time         boolean,
    ADD COLUMN returned_at            timestamptz,
    ADD COLUMN return_count           integer,
    ADD COLUMN extension_requested_at timestamptz,
    ADD COLUMN extension_decided_at   timestamptz,
    ADD COLUMN extension_granted      boolean,
    ADD COLUMN extended_due           timestamptz,
    ADD COLUMN escalated_at           timestamptz,
    ADD COLUMN escalated_to_tier      text,
    ADD COLUMN escalation_count       integer,
    ADD COLUMN whistle_blown          boolean,
    ADD COLUMN warned_at              timestamptz,
    ADD COLUMN overdue_at             timestamptz,
    ADD COLUMN overdue_sign_for       boolean,
    ADD COLUMN overdue_resolve        boolean,
    ADD COLUMN supervised_at          timestamptz,
    ADD COLUMN supervision_level      integer,
    ADD COLUMN resolved_at            timestamptz,
    ADD COLUMN resolved_on_time       boolean,
    ADD COLUMN resolved_on_spot       boolean,
    ADD COLUMN callback_requested_at  timestamptz,
    ADD COLUMN called_back_at         timestamptz,
    ADD COLUMN callback_solved        boolean,
    ADD COLUMN callback_satisfaction  text,
    ADD COLUMN reopened_at            timestamptz,
    ADD COLUMN reopen_count           integer,
    ADD COLUMN closed_at              timestamptz,
    ADD COLUMN closed_on_time         boolean,
    ADD COLUMN handed_over_at         timestamptz,
    ADD COLUMN handed_over_to         text;

-- Before this migration assigned_at was "the latest assignment": it was also the first.
UPDATE case_facts SET last_assigned_at = assigned_at WHERE last_assigned_at IS NULL;

-- The time limit in force: the latest assignment's, unless an extension was decided
-- after that assignment.
ALTER TABLE case_facts ADD COLUMN deadline_at timestamptz GENERATED ALWAYS AS (
    CASE WHEN extension_decided_at IS NOT NULL AND extended_due IS NOT NULL
              AND (last_assigned_at IS NULL OR extension_decided_at >= last_assigned_at)
         THEN extended_due ELSE resolve_due END
) STORED;

-- Every moment of the appeal's life, first to last (and its time limits): an indicator
-- query for a window only needs the rows whose span overlaps it (GiST index).
ALTER TABLE case_facts ADD COLUMN span tstzrange GENERATED ALWAYS AS (tstzrange(
    LEAST(received_at, registered_at, rejected_at, merged_at, assigned_at),
    GREATEST(received_at, registered_at, rejected_at, merged_at, assigned_at,
             last_assigned_at, signed_at, resolved_at, called_back_at, reopened_at,
             closed_at, resolve_due, extended_due, returned_at, escalated_at),
    '[]')) STORED;

CREATE INDEX case_facts_span ON case_facts USING gist (span);
-- Open cases and their deadlines ("overdue now", the overdue list, gauges by tier).
CREATE INDEX case_facts_open_deadline ON case_facts (deadline_at)
    WHERE closed_at IS NULL AND registered_at IS NOT NULL;
