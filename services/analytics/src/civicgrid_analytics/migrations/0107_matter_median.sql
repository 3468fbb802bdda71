-- The median of a grouping by matter (or of a matter filter) reads each matter's own facts
-- of its middle fine bin, not that bin's facts of every matter: 190 matters' medians lie
-- in about 11 fine bins, whose 33,000 facts (30 days at 10 million cases) were most of
-- the query's time; the matters' own are about 3,000 (BENCHMARKS.md, session 10).
-- Matter only: it is the one dimension with many keys that the rollups hold fine rows
-- for (the finer ones have no fine rows; each index costs every fact write).
-- depends: 0106_fact_journal

-- INCLUDE: the columns those reads use (the handling time; the county, for a grouping by
-- county with a matter filter), so that they do not visit the heap.
CREATE INDEX case_facts_matter_handling ON case_facts
    (matter_code, handling_fine_bin(resolved_at, received_at), resolved_at)
    INCLUDE (received_at, county_code)
    WHERE resolved_at IS NOT NULL AND received_at IS NOT NULL AND matter_code IS NOT NULL;
