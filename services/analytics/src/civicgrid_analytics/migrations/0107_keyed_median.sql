-- The median of a grouping by matter or by township reads each key's own facts of its
-- middle fine bin, not that bin's facts of every key: 190 matters' medians lie in about 11
-- fine bins, whose 33,000 facts (30 days at 10 million cases) were most of the query's
-- time; the matters' own are about 3,200 (BENCHMARKS.md, session 10). Only these two:
-- the dimensions with many keys that have fine rows (the finer ones have none), and each
-- index costs every write of a disposed fact.
-- depends: 0106_fact_journal

-- INCLUDE: the columns those reads use (the handling time; the columns a grouping within
-- one matter or township has as its key), so that they do not visit the heap.
CREATE INDEX case_facts_matter_handling ON case_facts
    (matter_code, handling_fine_bin(resolved_at, received_at), resolved_at)
    INCLUDE (received_at, county_code)
    WHERE resolved_at IS NOT NULL AND received_at IS NOT NULL AND matter_code IS NOT NULL;

CREATE INDEX case_facts_township_handling ON case_facts
    (township_code, handling_fine_bin(resolved_at, received_at), resolved_at)
    INCLUDE (received_at, county_code, community_code, grid_code, grid_worker_id)
    WHERE resolved_at IS NOT NULL AND received_at IS NOT NULL AND township_code IS NOT NULL;
