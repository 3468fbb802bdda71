"""The rollups in SQL, compiled from the rules of ``domain/rollups.py``.

Write path (``FactRepository.flush``, one batch, one transaction):

1. ``INSERT_NEW``: the batch's rows for appeals not stored yet, ``ON CONFLICT DO
   NOTHING RETURNING appeal_id``; a row another transaction inserted meanwhile is
   waited for and then treated as stored.
2. ``LOCK_STORED``: the stored rows are locked (``FOR UPDATE``, in id order) and read;
   the repository merges them by each column's policy (``domain/facts.merge``) and
   writes the changed ones back (``UPDATE_STORED``).
3. ``WRITE_DELTA``: the rollups get new − old for the changed rows and + new for the
   inserted ones, summed per rollup row in Python (``domain/rollups.RollupDelta``: an
   event that moves no count writes no rollup row) and added in key order. The sums are
   computed there rather than here: expanding every change to its ~14 keys and 64
   columns in SQL cost PostgreSQL twice as much per event (BENCHMARKS.md, session 6).

Lock order in every transaction: new facts, stored facts (id order), rollup rows
(key order), so two concurrent batches cannot deadlock.

The set-based rebuild (``rebuild_buckets_sql``, ``rebuild_fine_sql``, ``rebuild_now_sql``)
computes the same rows from the stored facts in SQL (a test proves both give the same
rollups).

Query path (``rollup_query``): one statement, so every part reads one snapshot (the
median's facts too, which is what makes it exact: see ``_median_ctes``).

Every identifier and constant in these statements comes from the domain modules (never
from input); values are parameters.
"""
# ruff: noqa: S608

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson

from civicgrid_analytics.domain.facts import FACT_COLUMNS
from civicgrid_analytics.domain.indicators import Dimension
from civicgrid_analytics.domain.rollups import (
    BIN_EDGES_US,
    BIN_NAMES,
    CONTRIBUTION_COLUMNS,
    COUNTER_NAMES,
    COUNTERS,
    DIMENSION_COLUMNS,
    DUE_COUNTERS,
    FINE_DIMENSIONS,
    FINE_EDGES_US,
    FINE_SPLIT,
    HANDLING_BINS,
    MOMENTS,
    MONTH_DIMENSIONS,
    PART_NAMES,
    ROLLUP_DIMS,
    Cond,
    RollupDelta,
    RollupDim,
    RollupPlan,
    total_rows,
)

CC = CONTRIBUTION_COLUMNS
#: what the query sums: the windowed counters, the now figures, the histogram
SUMMED: tuple[str, ...] = (*COUNTER_NAMES, "open", "overdue_open", *BIN_NAMES)


def _cond(c: Cond, alias: str) -> str:
    col = f"{alias}.{c.column}"
    match c.kind:
        case "notnull":
            return f"{col} IS NOT NULL"
        case "true":
            return f"{col} IS TRUE"
        case "eq":
            assert c.value is not None and "'" not in c.value  # constants of the domain
            return f"{col} = '{c.value}'"
        case "positive":
            return f"{col} > 0"
    raise AssertionError(c.kind)  # pragma: no cover


# One row for sure (the planner cannot know a table it never analysed has one).
_ZONE = "(SELECT tz FROM rollup_state LIMIT 1)"


def _bucket(expr: str) -> str:
    return f"({expr} AT TIME ZONE z.tz)::date"


_EDGES = "ARRAY[" + ",".join(str(e) for e in BIN_EDGES_US) + "]::numeric[]"


def handling_bin_sql(alias: str) -> str:
    """The histogram bin of a fact's handling time (bin i = number of edges <= it): the
    rebuild's day rows (the index reads the fine bin, ``fine_bin_sql``)."""
    return (f"width_bucket(extract(epoch FROM {alias}.resolved_at - {alias}.received_at) "
            f"* 1000000, {_EDGES})")


def fine_bin_sql(alias: str = "") -> str:
    """The fine histogram bin of a fact's handling time (``rollups.fine_bin``): the
    function ``handling_fine_bin`` of migration 0105 (a unit test checks that its edges are
    ``FINE_EDGES_US``), which is also the expression of the index ``case_facts_handling``.
    A function, not the expression itself: its 577 edges make an index expression too big
    for the catalog; PostgreSQL inlines it in the query and in the index alike."""
    a = f"{alias}." if alias else ""
    return f"handling_fine_bin({a}resolved_at, {a}received_at)"


def _split_fine(fine: str, part: bool = False) -> str:
    """The bin (or with ``part``, the part) of a fine bin: ``rollups.split_fine``."""
    last = len(FINE_EDGES_US)
    if part:
        return (f"(CASE WHEN {fine} = 0 OR {fine} = {last} THEN 0 "
                f"ELSE ({fine} - 1) % {FINE_SPLIT} END)")
    return (f"(CASE WHEN {fine} = 0 THEN 0 WHEN {fine} = {last} THEN {HANDLING_BINS - 1} "
            f"ELSE 1 + ({fine} - 1) / {FINE_SPLIT} END)::smallint")


def _fine_of(bin_: str, part: str) -> str:
    """The fine bin of (bin, part): ``rollups.fine_range(bin)[0] + part``."""
    last = HANDLING_BINS - 1
    return (f"(CASE {bin_} WHEN 0 THEN 0 WHEN {last} THEN {len(FINE_EDGES_US)} "
            f"ELSE 1 + ({bin_} - 1) * {FINE_SPLIT} + {part} END)")


_BIN = (f"CASE WHEN c.received_at IS NULL THEN NULL ELSE {handling_bin_sql('c')}::smallint "
        "END")


def _carried(key: str, column: str) -> str:
    """A carried column, NULL on a null key's row (domain/rollups.keys_of)."""
    return f"CASE WHEN {key} IS NOT NULL THEN {column} END"


def _key_exprs(r: RollupDim, alias: str) -> tuple[str, str, str, str]:
    """A fact's key of one set of rollup rows: (dim, key, county, township)."""
    if r.column is None:
        return f"'{r.name}'", "NULL::text", "NULL::text", "NULL::text"
    key = f"{alias}.{r.column}"
    county = _carried(key, f"{alias}.county_code") if r.county else "NULL"
    township = _carried(key, f"{alias}.township_code") if r.township else "NULL"
    return f"'{r.name}'", key, county, township


def _key_rows(alias: str) -> str:
    """One VALUES row per rollup key of a fact (domain/rollups.keys_of)."""
    return ", ".join("(" + ", ".join(_key_exprs(r, alias)) + ")" for r in ROLLUP_DIMS)


_DIMS = ", ".join(f"c.{d}" for d in DIMENSION_COLUMNS)
_PENDING = ("c.registered_at IS NOT NULL AND c.closed_at IS NULL AND c.deadline_at IS NOT NULL "
            "AND (c.resolved_at IS NULL OR c.reopened_at > c.resolved_at)")
_MONTH_DIMS = "ARRAY[" + ", ".join(f"'{d}'" for d in sorted(MONTH_DIMENSIONS)) + "]"
_KEYCOLS = "dim, bucket, key, county_code, township_code"


_SUMMED_COLS = (*COUNTER_NAMES, *BIN_NAMES)  # the bucket tables' columns, in order


def _add_rows(table: str, rows: str, bucket: str = "bucket") -> str:
    """Add ``rows`` (a SELECT of dim, ``bucket``, key, county, township and one value per
    column of ``_SUMMED_COLS``) to ``table``, in key order: the one order every writer
    locks rows in. A sum of 0 is stored as NULL."""
    sets = ", ".join(f"{n} = nullif(coalesce(t.{n}, 0) + coalesce(EXCLUDED.{n}, 0), 0)"
                     for n in _SUMMED_COLS)
    return (
        f"INSERT INTO {table} AS t ({_KEYCOLS}, {', '.join(_SUMMED_COLS)})\n"
        f"    {rows}\n"
        f"    ORDER BY dim, {bucket}, key, county, township\n"
        f"    ON CONFLICT ({_KEYCOLS}) DO UPDATE SET {sets}"
    )


def _add_open(rows: str) -> str:
    """Add ``rows`` (dim, key, county, township, open, pending) to ``indicator_open``."""
    return (
        "INSERT INTO indicator_open AS t (dim, key, county_code, township_code, open, pending)\n"
        f"    {rows}\n"
        "    ORDER BY dim, key, county, township\n"
        "    ON CONFLICT (dim, key, county_code, township_code) DO UPDATE\n"
        "    SET open = t.open + EXCLUDED.open, pending = t.pending + EXCLUDED.pending")


def _add_deadlines(rows: str) -> str:
    """Add ``rows`` (dim, deadline_day, key, county, township, pending) to
    ``indicator_deadlines``."""
    return (
        "INSERT INTO indicator_deadlines AS t (dim, deadline_day, key, county_code, "
        "township_code, pending)\n"
        f"    {rows}\n"
        "    ORDER BY dim, deadline_day, key, county, township\n"
        "    ON CONFLICT (dim, deadline_day, key, county_code, township_code) DO UPDATE\n"
        "    SET pending = t.pending + EXCLUDED.pending")


_FINE_KEYS = "dim, bin, bucket, key, county_code, township_code"


def _add_fine(rows: str) -> str:
    """Add ``rows`` (dim, bin, bucket, key, county, township and one value per part) to
    ``indicator_fine``."""
    sets = ", ".join(f"{n} = nullif(coalesce(t.{n}, 0) + coalesce(EXCLUDED.{n}, 0), 0)"
                     for n in PART_NAMES)
    return (
        f"INSERT INTO indicator_fine AS t ({_FINE_KEYS}, {', '.join(PART_NAMES)})\n"
        f"    {rows}\n"
        "    ORDER BY dim, bin, bucket, key, county, township\n"
        f"    ON CONFLICT ({_FINE_KEYS}) DO UPDATE SET {sets}")


def _now_ctes(changes: str) -> str:
    return f"""
per_now AS (
    SELECT c.appeal_id, {_DIMS},
           CASE WHEN {_PENDING} THEN {_bucket("c.deadline_at")} END AS deadline_day,
           sum(c.sign * CASE WHEN c.registered_at IS NOT NULL AND c.closed_at IS NULL
                        THEN 1 ELSE 0 END)::int AS open,
           sum(c.sign * CASE WHEN {_PENDING} THEN 1 ELSE 0 END)::int AS pending
    FROM {changes} c CROSS JOIN {_ZONE} z
    GROUP BY c.appeal_id, {_DIMS}, deadline_day
    HAVING sum(c.sign * CASE WHEN c.registered_at IS NOT NULL AND c.closed_at IS NULL
                        THEN 1 ELSE 0 END) <> 0
        OR sum(c.sign * CASE WHEN {_PENDING} THEN 1 ELSE 0 END) <> 0
),
keyed_now AS (
    SELECT k.dim, k.key, k.county, k.township, p.deadline_day, p.open, p.pending
    FROM per_now p CROSS JOIN LATERAL (VALUES {_key_rows("p")}) AS k(dim, key, county, township)
),
up_open AS (
    {_add_open("SELECT dim, key, county, township, sum(open), sum(pending) FROM keyed_now "
               "GROUP BY dim, key, county, township "
               "HAVING sum(open) <> 0 OR sum(pending) <> 0")}
    RETURNING 1
),
up_deadlines AS (
    {_add_deadlines("SELECT dim, deadline_day, key, county, township, sum(pending) "
                    "FROM keyed_now WHERE deadline_day IS NOT NULL "
                    "GROUP BY dim, deadline_day, key, county, township "
                    "HAVING sum(pending) <> 0")}
    RETURNING 1
)"""


# The batch's fact rows go as one JSON array of objects (an object holds the columns its
# events set; a missing one is NULL), read as case_facts records: as one array per column,
# asyncpg checks each of the ~60 × rows elements' type in Python (4x the cost per row).
# Column names come from domain constants, never from input.
_ROWS = "json_populate_recordset(NULL::case_facts, $1::json)"

INSERT_NEW = (
    f"INSERT INTO case_facts (appeal_id, {', '.join(FACT_COLUMNS)})\n"
    f"SELECT appeal_id, {', '.join(FACT_COLUMNS)} FROM {_ROWS} ORDER BY 1\n"
    "ON CONFLICT (appeal_id) DO NOTHING RETURNING appeal_id"
)

#: the stored rows of a batch's appeals, locked in id order (every column, and the deadline)
LOCK_STORED = (
    f"SELECT appeal_id, {', '.join(FACT_COLUMNS)}, deadline_at FROM case_facts\n"
    "WHERE appeal_id = ANY($1::uuid[]) ORDER BY appeal_id FOR UPDATE")

#: the merged rows written back (``$1``: their JSON, as for ``INSERT_NEW``)
UPDATE_STORED = (
    f"UPDATE case_facts f SET {', '.join(f'{c} = u.{c}' for c in FACT_COLUMNS)}\n"
    f"FROM {_ROWS} AS u WHERE f.appeal_id = u.appeal_id")


# -- the write path: a batch's delta, computed in Python (domain/rollups.RollupDelta) --------
#
# The rows go as JSON, one parameter per table, read by ``json_to_recordset``: a row holds
# the few counts it has (a missing column is NULL, i.e. 0). Arrays would take one element
# per column and row, and asyncpg checks every element's type in Python.

_RECORD = ("dim text, bucket date, key text, county text, township text, "
           + ", ".join(f"{n} int" for n in _SUMMED_COLS))

WRITE_DELTA = f"""WITH up_days AS (
    {_add_rows("indicator_days", f"SELECT * FROM json_to_recordset($1::json) AS u({_RECORD})")}
    RETURNING 1
),
up_months AS (
    {_add_rows("indicator_months", f"SELECT * FROM json_to_recordset($2::json) AS u({_RECORD})")}
    RETURNING 1
),
up_open AS (
    {_add_open("SELECT * FROM json_to_recordset($3::json) AS u(dim text, key text, "
               "county text, township text, open int, pending int)")}
    RETURNING 1
),
up_deadlines AS (
    {_add_deadlines("SELECT * FROM json_to_recordset($4::json) AS u(dim text, "
                    "deadline_day date, key text, county text, township text, pending int)")}
    RETURNING 1
),
up_fine AS (
    {_add_fine("SELECT * FROM json_to_recordset($5::json) AS u(dim text, bin smallint, "
               "bucket date, key text, county text, township text, "
               + ", ".join(f"{n} int" for n in PART_NAMES) + ")")}
    RETURNING 1
)
SELECT (SELECT count(*) FROM up_days) + (SELECT count(*) FROM up_months)"""


def write_delta_params(delta: RollupDelta) -> list[str] | None:
    """``WRITE_DELTA``'s parameters, or None when the delta adds nothing anywhere."""
    days, months, now, deadlines, fine = delta.rows()
    if not (days or months or now or deadlines or fine):
        return None
    tables = (
        [{**c, "dim": k[0], "bucket": k[1], "key": k[2], "county": k[3], "township": k[4]}
         for k, c in days],
        [{**c, "dim": k[0], "bucket": k[1], "key": k[2], "county": k[3], "township": k[4]}
         for k, c in months],
        [{"dim": k[0], "key": k[1], "county": k[2], "township": k[3], "open": o, "pending": p}
         for k, o, p in now],
        [{"dim": k[0], "deadline_day": k[1], "key": k[2], "county": k[3], "township": k[4],
          "pending": n} for k, n in deadlines],
        [{**c, "dim": k[0], "bin": k[1], "bucket": k[2], "key": k[3], "county": k[4],
          "township": k[5]} for k, c in fine],
    )
    return [orjson.dumps(rows).decode() for rows in tables]


#: everything the rollups hold
ROLLUP_TABLES = ("indicator_days", "indicator_months", "indicator_open", "indicator_deadlines",
                 "indicator_fine")


_HIST = len(MOMENTS) * 64  # ``what`` of the histogram hits: _HIST + bin


def _hit_rows() -> str:
    """One VALUES row per moment of a fact: (its bucket, ``what``), ``what`` = the
    moment's index × 64 + a bitmask of the counters placed by it whose conditions hold;
    and one for the histogram: (bucket of resolved_at, _HIST + bin)."""
    rows = []
    for m, moment in enumerate(MOMENTS):
        bits = []
        for b, counter in enumerate(c for c in COUNTERS if c.at == moment):
            test = " AND ".join(_cond(w, "c") for w in counter.when) or "true"
            bits.append(f"CASE WHEN {test} THEN {1 << b} ELSE 0 END")
        rows.append(f"({_bucket(f'c.{moment}')}, {m * 64} + {' + '.join(bits)})")
    rows.append(f"(CASE WHEN c.received_at IS NOT NULL THEN {_bucket('c.resolved_at')} END, "
                f"{_HIST} + coalesce({_BIN}, 0))")
    return ",\n        ".join(rows)


def _pivot_upsert(table: str, bucket: str, where: str) -> str:
    cols = []
    for counter in COUNTERS:
        m = MOMENTS.index(counter.at)
        b = [c.name for c in COUNTERS if c.at == counter.at].index(counter.name)
        cols.append(f"nullif(coalesce(sum(n) FILTER (WHERE what >= {m * 64} AND what < "
                    f"{(m + 1) * 64} AND what & {1 << b} <> 0), 0), 0)")
    cols += [f"nullif(coalesce(sum(n) FILTER (WHERE what = {_HIST + i}), 0), 0)"
             for i in range(len(BIN_NAMES))]
    return _add_rows(table, f"SELECT dim, {bucket}, key, county, township, {', '.join(cols)}\n"
                            f"    FROM hits {where}\n"
                            f"    GROUP BY dim, {bucket}, key, county, township", bucket)


def _grouping_sets(dims: tuple[RollupDim, ...] = ROLLUP_DIMS, head: str = "h.bucket, h.what"
                   ) -> tuple[str, list[str]]:
    """GROUPING SETS with one set per set of rollup rows (``dims``), each grouped by
    ``head`` too, and the CASEs naming each set's row (dim, key, county, township) from
    the GROUPING() bitmask (over the dimension columns some set groups by)."""
    grouped_by = [{c for c, on in ((r.column, True), ("county_code", r.county),
                                   ("township_code", r.township)) if on and c} for r in dims]
    used = [d for d in DIMENSION_COLUMNS if any(d in g for g in grouped_by)]
    bits = len(used)
    sets: list[str] = []
    names: list[tuple[int, tuple[str, str, str, str]]] = []
    for r, grouped in zip(dims, grouped_by, strict=True):
        mask = sum(1 << (bits - 1 - i) for i, c in enumerate(used)
                   if c not in grouped)  # GROUPING(): bit set = column not grouped
        sets.append(f"({head}" + "".join(f", c.{g}" for g in sorted(grouped)) + ")")
        names.append((mask, _key_exprs(r, "c")))
    assert len({m for m, _ in names}) == len(names), "two row sets with one grouping"
    grouping = f"GROUPING({', '.join(f'c.{d}' for d in used)})"
    cases = [f"CASE {grouping} " + " ".join(f"WHEN {m} THEN {n[i]}" for m, n in names)
             + " END::text" for i in range(4)]
    return ", ".join(sets), cases


def rebuild_buckets_sql() -> str:
    """Add the day and month rows of the facts received in ``[$1, $2)`` (and, with ``$3``,
    of those without ``received_at``). Set-based for a whole store: each moment of a fact
    is one row (bucket, moment and which of its counters hold), counted per rollup key with
    GROUPING SETS (one pass, no row per key), then pivoted into the columns; the same rules
    as the write path (a test proves both give the same rollups)."""
    sets, (dim, key, county, township) = _grouping_sets()
    return f"""WITH hits AS (
    SELECT {dim} AS dim, h.bucket, {key} AS key, {county} AS county,
           {township} AS township, h.what, count(*)::int AS n
    FROM case_facts c CROSS JOIN {_ZONE} z
    CROSS JOIN LATERAL (VALUES
        {_hit_rows()}
    ) AS h(bucket, what)
    WHERE ((c.received_at >= $1 AND c.received_at < $2) OR ($3 AND c.received_at IS NULL))
      AND h.bucket IS NOT NULL AND (h.what % 64 <> 0 OR h.what >= {_HIST})
    GROUP BY GROUPING SETS ({sets})
),
up_days AS (
    {_pivot_upsert("indicator_days", "bucket", "")}
    RETURNING 1
),
up_months AS (
    {_pivot_upsert("indicator_months", "date_trunc('month', bucket)::date",
                   f"WHERE dim = ANY({_MONTH_DIMS})")}
    RETURNING 1
)
SELECT 1"""


def rebuild_fine_sql() -> str:
    """Add the fine histogram rows of the facts received in ``[$1, $2)`` (``$3``: as in
    ``rebuild_buckets_sql``; facts without ``received_at`` have no handling time)."""
    sets, (dim, key, county, township) = _grouping_sets(
        tuple(r for r in ROLLUP_DIMS if r.name in FINE_DIMENSIONS), "f.bucket, f.fine")
    return f"""WITH fine_hits AS (
    SELECT {dim} AS dim, f.bucket, f.fine, {key} AS key, {county} AS county,
           {township} AS township, count(*)::int AS n
    FROM case_facts c CROSS JOIN {_ZONE} z
    CROSS JOIN LATERAL (SELECT {_bucket("c.resolved_at")} AS bucket,
                               {fine_bin_sql("c")} AS fine) f
    WHERE ((c.received_at >= $1 AND c.received_at < $2) OR ($3 AND c.received_at IS NULL))
      AND c.resolved_at IS NOT NULL AND c.received_at IS NOT NULL
    GROUP BY GROUPING SETS ({sets})
),
fine_parts AS (
    SELECT dim, {_split_fine("fine")} AS bin, {_split_fine("fine", part=True)} AS part,
           bucket, key, county, township, n
    FROM fine_hits
),
up_fine AS (
    {_add_fine("SELECT dim, bin, bucket, key, county, township, " + ", ".join(
        f"sum(n) FILTER (WHERE part = {i})" for i in range(FINE_SPLIT))
        + " FROM fine_parts GROUP BY dim, bin, bucket, key, county, township")}
    RETURNING 1
)
SELECT 1"""


def rebuild_now_sql() -> str:
    """The now rows of every open fact."""
    cc = ", ".join(CC)
    return (f"WITH changes AS (SELECT 1 AS sign, {cc} FROM case_facts "
            "WHERE closed_at IS NULL AND registered_at IS NOT NULL),"
            f"{_now_ctes('changes')}\nSELECT 1")


# -- the query ---------------------------------------------------------------------------

def rollup_query(p: RollupPlan, group_by: Dimension | None,
                 filters: dict[Dimension, str], start: datetime | None,
                 end: datetime | None, now: datetime, fine: bool = True,
                 median: bool = True, first_param: int = 1,
                 counts: frozenset[str] | None = None) -> tuple[str, list[Any]]:
    """One statement: month rows + day rows + the now figures + today's parts from facts,
    and the exact median of every row (``_median_ctes``; ``fine``: the fine rows may be
    read, i.e. ``indicator_fine`` holds every fact; without ``median`` it is NULL, for a
    caller that does not show it: most of the cost of a grouping by a fine dimension).
    Rows: the total first, then the keys in order, the null key last (as the fact-based
    query).

    Bucket bounds are always given (``date.min`` / ``date.max`` for an open end) so that
    every part is a range scan of its table's one index. The rows are grouped by key with
    a hash, and the total is summed from the grouped rows (cheaper than grouping sets).
    ``first_param``: the number of its first parameter (after another statement's, when
    it is part of one: ``with_now_figures``). ``counts``: only these counts are summed, the
    others are NULL (a caller that shows a few: the rankings).
    """
    params: list[Any] = []
    # the histogram's columns only for the median
    summed = SUMMED if median else SUMMED[:-len(BIN_NAMES)]
    if counts is not None:
        summed = tuple(n for n in summed if n in counts or n in BIN_NAMES)

    def arg(value: Any, cast: str) -> str:
        params.append(value)
        return f"${first_param - 1 + len(params)}::{cast}"

    dim = arg(p.dim, "text")
    match = "" if p.match_column is None else \
        f" AND {p.match_column} = {arg(p.match_value, 'text')}"
    rkey = f"{p.key_column}" if p.key_column else "NULL::text"
    fkey = group_by.value if group_by is not None else "NULL::text"
    today = arg(p.today, "date")

    def select(key: str, values: dict[str, str], sign: int = 1) -> str:
        neg = "" if sign > 0 else "-"
        return "SELECT " + ", ".join([f"{key} AS key"] + [
            f"{neg}({values[n]}) AS {n}" if n in values else f"NULL::int AS {n}"
            for n in summed])

    def between(lo: date | None, hi: date | None) -> str:
        return (f"bucket >= {arg(lo or date.min, 'date')} "
                f"AND bucket < {arg(hi or date.max, 'date')}")

    counters = {n: n for n in (*COUNTER_NAMES, *BIN_NAMES)}
    # Due today: the deadlines of today, in the window, that passed by now. Before noon
    # they are counted from the facts; after it, when the window holds the whole of today,
    # as today's day row (every deadline of today) less the facts of those still to come:
    # fewer to read (22,000 deadlines a day at 10 M cases).
    lo = p.today_start if start is None else max(start, p.today_start)
    hi = p.tomorrow_start if end is None else min(end, p.tomorrow_start)
    late = (lo, hi) == (p.today_start, p.tomorrow_start) and \
        now - p.today_start > p.tomorrow_start - now
    days = dict(counters) | {n: f"CASE WHEN bucket {'<=' if late else '<'} {today} "
                                f"THEN {n} END" for n in DUE_COUNTERS}

    def rollup_parts(dim: str, match: str, key: str, sign: int = 1) -> list[str]:
        """The rollup tables' parts for the rows of ``dim`` where ``match``."""
        out = []
        if p.use_months:
            out.append(select(key, counters, sign) + f" FROM indicator_months WHERE dim = "
                       f"{dim}{match} AND {between(p.month_from, p.month_to)}")
        for lo, hi in p.day_ranges:
            out.append(select(key, days, sign) + f" FROM indicator_days WHERE dim = {dim}"
                       f"{match} AND {between(lo, hi)}")
        out.append(select(key, {"open": "open", "overdue_open": "pending"}, sign)
                   + f" FROM indicator_open WHERE dim = {dim}{match}")
        out.append(select(key, {"overdue_open": "-pending"}, sign)
                   + f" FROM indicator_deadlines WHERE dim = {dim}{match} "
                   f"AND deadline_day > {today}")
        return out

    def fine_parts(dim: str, match: str, key: str, sign: int = 1,
                   needed_by: str = "true") -> list[str]:
        """The fine histogram's part for the rows of ``dim`` where ``match``: the bins some
        row (where ``needed_by``) needs, every day of the window."""
        neg = "" if sign > 0 else "-"
        return [f"SELECT {key} AS key, bin, "
                + ", ".join(f"{neg}{n} AS {n}" for n in PART_NAMES)
                + f" FROM indicator_fine WHERE dim = {dim}{match} AND bin = ANY(ARRAY("
                f"SELECT DISTINCT bin FROM need WHERE {needed_by})::smallint[]) "
                f"AND {between(p.first, p.last)}"]

    parts = rollup_parts(dim, match, rkey)
    fine_rows: list[str] | None = None
    total_fine: str | None = None
    if median and fine and p.dim in FINE_DIMENSIONS:
        tdim, tkey = total_rows(filters)
        if p.key_column is not None and tdim in FINE_DIMENSIONS:
            # The total's parts from the rows that hold it, not summed over every key (a
            # year by matter: 365 rows a bin, not 69,000).
            tmatch = "" if tkey is None else f" AND key = {arg(tkey, 'text')}"
            [total_fine] = fine_parts(arg(tdim, "text"), tmatch, "NULL::text",
                                      needed_by="is_total")
        fine_rows = fine_parts(dim, match, rkey,
                               needed_by="true" if total_fine is None else "NOT is_total")
    if p.key_column == "key" and p.match_column in ("county_code", "township_code"):
        # The null key of the group within the county (township): null-key rows carry no
        # county, so it is the county's own row minus the group's rows that carry it.
        own = f" AND key = {arg(p.match_value, 'text')}"
        mdim = arg(p.match_column, "text")
        parts += rollup_parts(mdim, own, "NULL::text")
        parts += rollup_parts(dim, match, "NULL::text", -1)
        if fine_rows is not None:
            null_key = "NOT is_total AND key IS NULL"
            fine_rows += fine_parts(mdim, own, "NULL::text", needed_by=null_key)
            fine_rows += fine_parts(dim, match, "NULL::text", -1, needed_by=null_key)
    fwhere = "".join(f" AND {d.value} = {arg(v, 'text')}" for d, v in filters.items())
    # Due today, from the facts: deadlines of today that passed by now (and are in the window),
    # or, ``late``, those still to come, subtracted from today's day row. Counted per key
    # here (thousands of facts at 10 M cases; one row each into the union of 66 columns
    # cost more than reading them).
    due_asked = any(n in summed for n in DUE_COUNTERS)
    # (a parameter no part refers to has no type: PostgreSQL refuses the statement)
    nowp = arg(now, "timestamptz") if due_asked or "overdue_open" in summed else ""
    if late and due_asked:
        parts.append(
            select(fkey, {"due": "-count(*)", "due_closed": "-count(closed_at)",
                          "due_closed_on_time": "-count(*) FILTER (WHERE closed_on_time)"})
            + f" FROM case_facts WHERE deadline_at > {nowp} "
            f"AND deadline_at < {arg(p.tomorrow_start, 'timestamptz')} "
            f"AND registered_at IS NOT NULL{fwhere} GROUP BY 1")
    elif lo < hi and due_asked:
        parts.append(
            select(fkey, {"due": "count(*)", "due_closed": "count(closed_at)",
                          "due_closed_on_time": "count(*) FILTER (WHERE closed_on_time)"})
            + f" FROM case_facts WHERE deadline_at >= {arg(lo, 'timestamptz')} "
            f"AND deadline_at < {arg(hi, 'timestamptz')} AND deadline_at <= {nowp} "
            f"AND registered_at IS NOT NULL{fwhere} GROUP BY 1")
    # Pending with a deadline later today: not overdue yet.
    if "overdue_open" in summed:
        parts.append(
            select(fkey, {"overdue_open": "-count(*)"})
            + " FROM case_facts WHERE closed_at IS NULL AND registered_at IS NOT NULL "
            f"AND deadline_at >= {nowp} AND deadline_at < {arg(p.tomorrow_start, 'timestamptz')} "
            f"AND (resolved_at IS NULL OR reopened_at > resolved_at){fwhere} GROUP BY 1")
    union = "\n    UNION ALL\n    ".join(parts)
    sums = ", ".join(f"sum({n})::bigint AS {n}" for n in summed)  # not numeric
    if p.key_column is None:
        rows = f"SELECT NULL::text AS key, true AS is_total, {sums} FROM parts"
        grouped = ""
    else:
        grouped = f"grouped AS (SELECT key, false AS is_total, {sums} FROM parts GROUP BY key),"
        rows = (f"SELECT NULL::text AS key, true AS is_total, {sums} FROM grouped\n"
                "    UNION ALL SELECT * FROM grouped")
    counted = ", ".join(f"r.{n}" if n in summed else f"NULL::bigint AS {n}"
                        for n in SUMMED[:-len(BIN_NAMES)])
    if not median:
        more = f",\n{grouped.rstrip(',')}" if grouped else ""
        sql = f"""WITH parts AS (
    {union}
){more}
SELECT r.key, r.is_total, {counted}, NULL::float8 AS median_handling_hours
FROM ({rows}) r
ORDER BY r.is_total DESC, r.key NULLS LAST"""
        return sql, params
    # The median's facts: disposed in the window (the histogram's buckets, by resolved_at).
    window = " AND ".join(
        ([f"resolved_at >= {arg(start, 'timestamptz')}"] if start is not None else [])
        + ([f"resolved_at < {arg(end, 'timestamptz')}"] if end is not None else [])) or "true"
    fine_sql = None if fine_rows is None else "\n    UNION ALL\n    ".join(fine_rows)
    sql = f"""WITH parts AS (
    {union}
),{grouped}
rows AS (  -- id: a hashable join key for the median (keys may be NULL)
    SELECT row_number() OVER () AS id, * FROM ({rows}) x
),{_median_ctes(fkey, window, fwhere, fine_sql, fkey in KEYED_MEDIAN, total_fine)}
SELECT r.key, r.is_total, {counted},
       CASE WHEN m.lo = m.hi THEN m.a ELSE m.a + 0.5::float8 * (m.b - m.a) END
           AS median_handling_hours
FROM rows r LEFT JOIN median m ON m.id = r.id
ORDER BY r.is_total DESC, r.key NULLS LAST"""
    return sql, params


def with_now_figures(facts: tuple[str, list[Any]], now: tuple[str, list[Any]]
                     ) -> tuple[str, list[Any]]:
    """One statement (one snapshot): the windowed counts and the median of ``facts`` (the
    fact-based query without the open cases), ``open`` and ``overdue_open`` of ``now`` (a
    rollup query of the now figures only). Rows as either: the total first, then the keys
    in order, the null key last; a key is listed when either lists it."""
    fsql, fparams = facts
    nsql, nparams = now  # numbered after the facts' parameters (``first_param``)
    now_names = ("open", "overdue_open")
    w = ", ".join([*COUNTER_NAMES, *(f"NULL::bigint AS {c}" for c in now_names)])
    n = ", ".join([*("NULL::bigint" for _ in COUNTER_NAMES), *now_names])
    sums = ", ".join(f"coalesce(sum({c}), 0)::bigint AS {c}"
                     for c in (*COUNTER_NAMES, *now_names))
    sql = f"""WITH windowed AS (
{fsql}
), now_figures AS (
{nsql}
)
SELECT key, is_total, {sums}, max(median_handling_hours) AS median_handling_hours
FROM (SELECT key, is_total, {w}, median_handling_hours FROM windowed
      UNION ALL
      SELECT key, is_total, {n}, NULL::float8 FROM now_figures) x
GROUP BY key, is_total
ORDER BY is_total DESC, key NULLS LAST"""
    return sql, [*fparams, *nparams]


#: the handling time in hours as the fact-based query orders it (percentile_cont takes a
#: float8: the numeric is converted the same way)
_HOURS = "(extract(epoch FROM resolved_at - received_at) / 3600.0)::float8"
_HIST_ARRAY = "ARRAY[" + ", ".join(f"r.{b}" for b in BIN_NAMES) + "]"


_PART_ARRAY = "ARRAY[" + ", ".join(f"f.{n}" for n in PART_NAMES) + "]"


def _median_ctes(fkey: str, window: str, fwhere: str, fine: str | None,
                 keyed: bool = False, total_fine: str | None = None) -> str:
    """The exact median of each row (``percentile_cont(0.5)`` of the fact path).

    The histogram says in which bin(s) each row's two middle ranks lie, and how many of
    the row's values come before that bin. With ``fine`` (the rows' fine histogram parts
    of those bins, for ``FINE_DIMENSIONS``) the same is found at the next level: which
    part(s) of the bin, and how many values come before them. Only the facts of those
    fine bins (or whole bins), in the window, are then read through the index
    ``case_facts_handling`` (fine bin, resolved_at; covering: no heap visit), ranked, and
    the middle value(s) picked. Every value of the row is in the histograms (the rollups
    are written with the facts, and this is one statement, so one snapshot), hence the
    ranks are exact; the interpolation is percentile_cont's (``a + 0.5 * (b - a)`` in
    float8).

    ``keyed`` (the group key is a column of ``KEYED_MEDIAN``): each key's row reads its own
    facts of its fine bins through that column's index, and only the total and the null
    key read whole fine bins. ``total_fine``: the total's fine parts, read apart (else
    the total sums ``fine``'s rows of every key)."""
    facts = _facts(fkey, window, fwhere, keyed)
    # Each key's parts summed over the days first: a year by matter reads 69,000 fine rows
    # for 190 keys, and joining and sorting them one by one cost most of its time.
    summed = ", ".join(f"sum({x})::bigint AS {x}" for x in PART_NAMES)
    total_parts = "" if total_fine is None else f"""
total_parts AS (
    SELECT key, bin, {summed} FROM (
    {total_fine}
    ) t GROUP BY key, bin
),"""
    if fine is None:
        # the bin's whole fine range
        ranged = f"""
ranged AS (
    SELECT id, key, is_total, before, lo, hi, {_fine_of("bin", "0")} AS f_lo,
           {_fine_of("bin", f"{FINE_SPLIT - 1}")} AS f_hi
    FROM need WHERE bin NOT IN (0, {HANDLING_BINS - 1})
    UNION ALL
    SELECT id, key, is_total, before, lo, hi, {_fine_of("bin", "0")}, {_fine_of("bin", "0")}
    FROM need WHERE bin IN (0, {HANDLING_BINS - 1})
),"""
    else:
        ranged = f"""
fine_parts AS (
    SELECT key, bin, {summed} FROM (
    {fine}
    ) t GROUP BY key, bin
),{total_parts}
fine_rows AS (  -- each needed (row, bin): its parts, summed as the row's counts are
    SELECT n.id, f.* FROM need n JOIN {"total_parts" if total_fine else "fine_parts"} f
    ON f.bin = n.bin WHERE n.is_total
    UNION ALL
    SELECT n.id, f.* FROM need n JOIN fine_parts f ON f.bin = n.bin AND f.key = n.key
    WHERE NOT n.is_total
    UNION ALL
    SELECT n.id, f.* FROM need n JOIN fine_parts f ON f.bin = n.bin
    WHERE NOT n.is_total AND n.key IS NULL AND f.key IS NULL
),
fine_hist AS (
    SELECT n.id, n.key, n.is_total, n.lo, n.hi, n.bin, p.i::int - 1 AS part, p.n,
           n.before + (sum(p.n) OVER w)::bigint - p.n AS before
    FROM (SELECT id, bin, {", ".join(f"sum({x})::bigint AS {x}" for x in PART_NAMES)}
          FROM fine_rows GROUP BY id, bin) f
    JOIN need n ON n.id = f.id AND n.bin = f.bin
    CROSS JOIN LATERAL unnest({_PART_ARRAY}) WITH ORDINALITY AS p(n, i)
    WHERE p.n > 0
    WINDOW w AS (PARTITION BY n.id, n.bin ORDER BY p.i)
),
ranged AS (  -- the parts holding rank lo or hi
    SELECT id, key, is_total, before, lo, hi, {_fine_of("bin", "part")} AS f_lo,
           {_fine_of("bin", "part")} AS f_hi
    FROM fine_hist WHERE before <= hi AND before + n > lo
),"""
    return f"""
hist AS (
    SELECT r.id, r.key, r.is_total, b.i::int - 1 AS bin, b.n,  -- bigint: integer division
           (sum(b.n) OVER w)::bigint - b.n AS before,
           (sum(b.n) OVER (PARTITION BY r.id))::bigint AS total
    FROM rows r CROSS JOIN LATERAL unnest({_HIST_ARRAY}) WITH ORDINALITY AS b(n, i)
    WHERE b.n > 0
    WINDOW w AS (PARTITION BY r.id ORDER BY b.i)
),
need AS (  -- the bins holding rank lo = (total - 1) / 2 or hi = total / 2 (0-based)
    SELECT id, key, is_total, bin, before, (total - 1) / 2 AS lo, total / 2 AS hi FROM hist
    WHERE before <= total / 2 AND before + n > (total - 1) / 2
),{ranged}
{facts}sorted AS (  -- each (row, fine bin)'s values in order: rank r is hs[r - before + 1]
    SELECT id, lo, hi, before, array_agg(h ORDER BY h) AS hs
    FROM matched GROUP BY id, f_lo, lo, hi, before
),
median AS (  -- a subscript outside the array is NULL (that rank is in the other bin)
    SELECT id, min(lo) AS lo, min(hi) AS hi,
           min(hs[lo - before + 1]) AS a, min(hs[hi - before + 1]) AS b
    FROM sorted GROUP BY id
)"""


#: group key columns whose facts have an index for the median led by them (migration 0107:
#: column, fine bin, resolved_at)
KEYED_MEDIAN: frozenset[str] = frozenset({Dimension.MATTER.value, Dimension.TOWNSHIP.value})


def _read_bin(columns: str, where: str, window: str, fwhere: str) -> str:
    """One fine bin's disposed facts in the window (``g.f``), as one index range scan."""
    return f"""CROSS JOIN LATERAL (
        SELECT {columns} FROM case_facts
        WHERE {where}{fine_bin_sql()} = g.f AND {window}
          AND resolved_at IS NOT NULL AND received_at IS NOT NULL{fwhere}
        OFFSET 0  -- not pulled up: one index range scan per bin, not a scan of the table
    ) v"""


def _facts(fkey: str, window: str, fwhere: str, keyed: bool) -> str:
    """``facts`` and ``matched``: the window's disposed facts of the fine bins the rows
    need (``every``: all of a bin's), matched to the rows; with ``keyed``, only the total
    and the null key read whole bins, each key its own facts of its bins."""
    whole = "is_total OR key IS NULL" if keyed else "true"
    own = f"""
    UNION ALL
    SELECT d.f_lo, d.key, false, v.h
    FROM (SELECT DISTINCT f_lo, f_hi, key FROM ranged WHERE key IS NOT NULL) d
    CROSS JOIN LATERAL generate_series(d.f_lo, d.f_hi) AS g(f)
    {_read_bin(f"{_HOURS} AS h", f"{fkey} = d.key AND ", window, fwhere)}""" if keyed else ""
    return f"""facts AS MATERIALIZED (
    SELECT d.f_lo, v.key, true AS every, v.h
    FROM (SELECT DISTINCT f_lo, f_hi FROM ranged WHERE {whole}) d
    -- one fine bin at a time: then the window on resolved_at bounds the index range too
    CROSS JOIN LATERAL generate_series(d.f_lo, d.f_hi) AS g(f)
    {_read_bin(f"{fkey} AS key, {_HOURS} AS h", "", window, fwhere)}{own}
),
matched AS (  -- equality joins (hashed), the total and the null key apart
    SELECT n.*, f.h FROM ranged n JOIN facts f ON f.f_lo = n.f_lo WHERE n.is_total AND f.every
    UNION ALL
    SELECT n.*, f.h FROM ranged n JOIN facts f ON f.f_lo = n.f_lo AND f.key = n.key
    WHERE NOT n.is_total AND f.every = {"false" if keyed else "true"}
    UNION ALL
    SELECT n.*, f.h FROM ranged n JOIN facts f ON f.f_lo = n.f_lo
    WHERE NOT n.is_total AND n.key IS NULL AND f.key IS NULL AND f.every
),
"""
