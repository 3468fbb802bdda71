-- Event-time rollups of the indicators (see domain/rollups.py for what each one holds
-- and adapters/rollup_sql.py for how they are written, in the transaction of the fact
-- change). A NULL counter is 0 (rows are mostly zeros: NULLs take no space).
-- depends: 0103_enforcement_facts

-- The zone of the day buckets, and whether the rollups hold every stored fact: a store
-- that had facts before this migration is filled by the service at start
-- (rollups.ensure_rollups); until then queries are answered from the facts.
CREATE TABLE rollup_state (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    tz    text NOT NULL DEFAULT 'Asia/Shanghai',
    ready boolean NOT NULL
);
INSERT INTO rollup_state (ready) SELECT NOT EXISTS (SELECT 1 FROM case_facts);

-- Per city-local day (bucket), per dimension key (dim 'total': every fact once). key,
-- county_code and township_code are the fact's values (township only for the dimensions
-- below a township), so one filter by county or township is served too.
CREATE TABLE indicator_days (
    dim           text NOT NULL,
    bucket        date NOT NULL,
    key           text,
    county_code   text,
    township_code text,
    received integer, received_registered integer, registered integer, accepted_disposed integer,
    rejected integer, merged integer, assigned integer, assigned_signed_on_time integer,
    signed integer, signed_on_time integer, returned integer, escalated integer,
    disposed integer, disposed_on_time integer, resolved_on_spot integer, called_back integer,
    solved integer, satisfied integer, basically_satisfied integer, reopened integer,
    closed integer, closed_on_time integer, closed_reworked integer, due integer,
    due_closed integer, due_closed_on_time integer,
    -- the histogram of handling hours (domain/rollups.py HANDLING_BIN_EDGES)
    h00 integer, h01 integer, h02 integer, h03 integer, h04 integer, h05 integer,
    h06 integer, h07 integer, h08 integer, h09 integer,
    h10 integer, h11 integer, h12 integer, h13 integer,
    h14 integer, h15 integer, h16 integer, h17 integer,
    h18 integer, h19 integer, h20 integer, h21 integer,
    h22 integer, h23 integer, h24 integer, h25 integer,
    h26 integer, h27 integer, h28 integer, h29 integer,
    h30 integer, h31 integer, h32 integer, h33 integer,
    h34 integer, h35 integer, h36 integer, h37 integer
) PARTITION BY LIST (dim);
-- One partition per dimension: a query reads one dimension, whose rows are then together
-- on disk (in bucket order, roughly, as they are written day after day) instead of
-- interleaved with the twelve others. Fill factor 70: room for HOT updates (the counters
-- are not indexed).
CREATE TABLE indicator_days_total PARTITION OF indicator_days FOR VALUES IN ('total')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_channel PARTITION OF indicator_days FOR VALUES IN ('channel')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_matter PARTITION OF indicator_days FOR VALUES IN ('matter_code')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_category PARTITION OF indicator_days FOR VALUES IN ('category_code')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_county PARTITION OF indicator_days FOR VALUES IN ('county_code')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_township PARTITION OF indicator_days FOR VALUES IN ('township_code')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_community PARTITION OF indicator_days FOR VALUES IN ('community_code')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_grid PARTITION OF indicator_days FOR VALUES IN ('grid_code')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_unit PARTITION OF indicator_days FOR VALUES IN ('unit_id')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_grid_worker PARTITION OF indicator_days FOR VALUES IN ('grid_worker_id')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_tier PARTITION OF indicator_days FOR VALUES IN ('tier')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_history_source PARTITION OF indicator_days FOR VALUES IN ('history_source')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_history_agency PARTITION OF indicator_days FOR VALUES IN ('history_agency')
    WITH (fillfactor = 70);
CREATE TABLE indicator_days_matter_county PARTITION OF indicator_days
    FOR VALUES IN ('matter_code@county') WITH (fillfactor = 70);
CREATE TABLE indicator_days_other PARTITION OF indicator_days DEFAULT;
-- The only index: a query reads one dimension over a range of buckets, and a filter on
-- key, county or township is checked inside the index (no heap visit for other keys).
-- A second index would be written for every new row: measured, it tripled the cost of
-- the rollup writes.
CREATE UNIQUE INDEX indicator_days_pk ON indicator_days
    (dim, bucket, key, county_code, township_code) NULLS NOT DISTINCT;

-- The same per calendar month (bucket = the 1st), for the coarser dimensions.
CREATE TABLE indicator_months (LIKE indicator_days) PARTITION BY LIST (dim);
CREATE TABLE indicator_months_total PARTITION OF indicator_months FOR VALUES IN ('total')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_channel PARTITION OF indicator_months FOR VALUES IN ('channel')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_matter PARTITION OF indicator_months FOR VALUES IN ('matter_code')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_category PARTITION OF indicator_months FOR VALUES IN ('category_code')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_county PARTITION OF indicator_months FOR VALUES IN ('county_code')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_township PARTITION OF indicator_months FOR VALUES IN ('township_code')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_community PARTITION OF indicator_months FOR VALUES IN ('community_code')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_grid PARTITION OF indicator_months FOR VALUES IN ('grid_code')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_unit PARTITION OF indicator_months FOR VALUES IN ('unit_id')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_grid_worker PARTITION OF indicator_months FOR VALUES IN ('grid_worker_id')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_tier PARTITION OF indicator_months FOR VALUES IN ('tier')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_history_source PARTITION OF indicator_months FOR VALUES IN ('history_source')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_history_agency PARTITION OF indicator_months FOR VALUES IN ('history_agency')
    WITH (fillfactor = 70);
CREATE TABLE indicator_months_matter_county PARTITION OF indicator_months
    FOR VALUES IN ('matter_code@county') WITH (fillfactor = 70);
CREATE TABLE indicator_months_other PARTITION OF indicator_months DEFAULT;
CREATE UNIQUE INDEX indicator_months_pk ON indicator_months
    (dim, bucket, key, county_code, township_code) NULLS NOT DISTINCT;

-- Now: open cases, and those pending (open, in handling, with a deadline) per key ...
CREATE TABLE indicator_open (
    dim           text NOT NULL,
    key           text,
    county_code   text,
    township_code text,
    open          integer NOT NULL DEFAULT 0,
    pending       integer NOT NULL DEFAULT 0
) WITH (fillfactor = 70);
CREATE UNIQUE INDEX indicator_open_pk ON indicator_open
    (dim, key, county_code, township_code) NULLS NOT DISTINCT;

-- ... and the pending ones per city-local day of their deadline (overdue = pending minus
-- those whose deadline is still to come).
CREATE TABLE indicator_deadlines (
    dim           text NOT NULL,
    deadline_day  date NOT NULL,
    key           text,
    county_code   text,
    township_code text,
    pending       integer NOT NULL DEFAULT 0
) WITH (fillfactor = 70);
CREATE UNIQUE INDEX indicator_deadlines_pk ON indicator_deadlines
    (dim, deadline_day, key, county_code, township_code) NULLS NOT DISTINCT;

-- "Due" of today comes from the facts: deadlines of today that have passed.
CREATE INDEX case_facts_deadline ON case_facts (deadline_at) WHERE registered_at IS NOT NULL;

-- The exact median of a rollup answer: the histogram locates the bin(s) of the middle
-- ranks, and only the facts of those bins disposed in the window are read (by this
-- index). The expression is adapters/rollup_sql.handling_bin_sql(), character for
-- character (a unit test checks it), so that the planner matches it.
CREATE INDEX case_facts_handling ON case_facts
    ((width_bucket(extract(epoch FROM resolved_at - received_at) * 1000000, ARRAY[0,900000000,1800000000,3600000000,7200000000,10800000000,14400000000,21600000000,28800000000,36000000000,43200000000,54000000000,64800000000,75600000000,86400000000,108000000000,129600000000,151200000000,172800000000,216000000000,259200000000,302400000000,345600000000,432000000000,518400000000,604800000000,734400000000,864000000000,1036800000000,1209600000000,1468800000000,1728000000000,2073600000000,2592000000000,3888000000000,5184000000000,7776000000000]::numeric[])), resolved_at)
    WHERE resolved_at IS NOT NULL AND received_at IS NOT NULL;
