-- The fact journal: what analytics' consumer accepted and the projection has not folded
-- into case_facts and the rollups yet (adapters/journal.py, service_layer/projection.py).
-- The consumer's transaction writes one row per batch with its inbox claim; the
-- projection takes rows in a transaction of its own, so that a case's events that came
-- in several batches move its rollup rows once, and a row many cases share (a county's
-- day) is written once per fold instead of once per batch (BENCHMARKS.md, session 8).
-- depends: 0105_fine_histogram

CREATE TABLE fact_journal (
    id          bigserial PRIMARY KEY,
    -- when the consumer's transaction began: the backlog's age
    appended_at timestamptz NOT NULL DEFAULT now(),
    -- how many events the row holds (the backlog in events)
    events      integer NOT NULL CHECK (events > 0),
    -- the batch's updates, merged per appeal (domain/facts.merge): a JSON array of
    -- objects named by case_facts' columns, each with the columns its events set
    updates     json NOT NULL
);

-- Appeals whose journalled updates a fold could not write for a reason of their data
-- (the consumer refuses what it knows the store cannot hold; this is the net for the
-- rest): set aside with the reason, so that the other appeals of the fold go on. The
-- fold's dead letters: they count nowhere until someone looks (metric and alert).
CREATE TABLE fact_journal_set_aside (
    id          bigserial PRIMARY KEY,
    set_aside_at timestamptz NOT NULL DEFAULT now(),
    appeal_id   uuid NOT NULL,
    reason      text NOT NULL,   -- error class and message of the failed write
    updates     json NOT NULL    -- the appeal's merged updates, as in fact_journal
);
