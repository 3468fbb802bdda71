"""Event-time rollups of the indicators (pure): what one fact row adds to which bucket.

The indicators of ``domain/indicators.py`` are counts of fact rows by the moment that
places them in a window, so they are additive over disjoint windows. A rollup keeps,
per city-local **day** (and per calendar **month** for the dimensions listed in
``MONTH_DIMENSIONS``), per dimension key, the sum of every fact's contribution. It is
an aggregation in the style of Quix Streams windows (``initialize`` / ``agg`` /
``result``): the window is the bucket, the value is a fact's contribution (with a sign,
so that a fact that changes moves its contribution: subtract the old row, add the new),
and the result is the indicator counts of ``COUNT_FIELDS``.

What is where:

- **Counters** (``COUNTERS``): each is placed by one moment column of the fact (``at``)
  and counts when its conditions hold, exactly as the fact-based predicate of
  ``adapters/indicator_sql.py`` does. Cohort numerators (e.g. ``accepted_disposed``)
  sit in the bucket of their cohort's moment (``registered_at``), so a case resolved
  later moves that old bucket: that is what "subtract old, add new" does.
- **Due** counters are placed by ``deadline_at`` and count only once the deadline has
  passed, which depends on *now*: the query takes them from the buckets before today and
  from the fact rows for today (an index on ``deadline_at``): those passed, or after noon
  today's bucket less those still to come.
- **Now figures** (``open``, ``overdue_open``) are not windowed: ``open`` and the cases
  *pending* (open, in handling, with a deadline) are kept per key; the pending ones are
  also kept per deadline day, and ``overdue_open`` = pending − pending with a deadline
  after today − pending with a deadline later today (from the fact rows).
- **Median handling hours** is not additive. Each bucket keeps a histogram of
  (``resolved_at`` − ``received_at``) over ``HANDLING_BIN_EDGES`` (38 bins, from a
  quarter of an hour under 1 h to 720 h from 30 to 90 days, plus one bin below 0 and one
  from 90 days on). It does not estimate the median: it says in which bin the two middle
  values of a row lie and how many values come before it. For the coarser dimensions
  (``FINE_DIMENSIONS``) a second level, each bin in 16 parts per day, narrows that to one
  part. The query then reads only the facts of that bin or part (``adapters/rollup_sql.py``)
  and the median served is exactly ``percentile_cont(0.5)`` of the fact-based query.

Keys: every rollup row has a dimension (``TOTAL`` or a ``Dimension``), the fact's value
of it, and the fact's ``county_code`` (and ``township_code`` for the dimensions below a
township), so that one filter by county or township, or a group by county (township) with
one filter on another dimension, is also answered from the rollups (``plan``).
"""

from __future__ import annotations

import bisect
import calendar
import collections
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from civicgrid_analytics.domain.indicators import COUNT_FIELDS, Dimension

Fact = Mapping[str, Any]  # a case_facts row (or the part of it the rollups read)

TOTAL = "total"  # the dimension of the rows that count every fact once

#: dimensions whose rows also carry the fact's township (functionally below it: free)
TOWNSHIP_CARRIED: frozenset[Dimension] = frozenset(
    {Dimension.COMMUNITY, Dimension.GRID, Dimension.GRID_WORKER})
#: dimensions with two sets of rows: without the county (``dim``; a group by matter reads
#: 190 keys a day, not 1,900) and with it (``dim@county``, for a county filter or a group
#: by county with a matter filter). Every other dimension's rows carry the county.
COUNTY_SPLIT: frozenset[Dimension] = frozenset({Dimension.MATTER})


def by_county(dim: Dimension) -> str:
    """The name of the rows of ``dim`` that carry the county."""
    return f"{dim.value}@county" if dim in COUNTY_SPLIT else dim.value


@dataclass(frozen=True)
class RollupDim:
    """One set of rollup rows: its name (``dim``), the fact column that is its key
    (None: the total), and whether its rows carry the fact's county and township."""

    name: str
    column: str | None
    county: bool = False
    township: bool = False


ROLLUP_DIMS: tuple[RollupDim, ...] = (
    RollupDim(TOTAL, None),
    *(RollupDim(d.value, d.value, d not in COUNTY_SPLIT, d in TOWNSHIP_CARRIED)
      for d in Dimension),
    *(RollupDim(by_county(d), d.value, True) for d in Dimension if d in COUNTY_SPLIT),
)
#: dimensions that also have monthly rows (long windows read ~12 rows per key a year).
#: The finest ones have day rows only: a month row per grid, community, unit and worker
#: would cost ingest as much as the day rows and is only read by long windows on them.
MONTH_DIMENSIONS: frozenset[str] = frozenset(
    {r.name for r in ROLLUP_DIMS} - {
        Dimension.COMMUNITY.value, Dimension.GRID.value, Dimension.GRID_WORKER.value,
        Dimension.UNIT.value})


#: dimensions with a fine histogram (see ``FINE_SPLIT``): the same as the monthly rows.
#: A fine row per grid, community, unit and worker would be nearly one row per disposed
#: case; their keys hold few facts per bin, so the median reads the bin's facts.
FINE_DIMENSIONS: frozenset[str] = MONTH_DIMENSIONS


# -- what a fact contributes -----------------------------------------------------------

@dataclass(frozen=True)
class Cond:
    """A condition on one fact column (compiled to SQL by adapters/rollup_sql.py)."""

    kind: Literal["notnull", "true", "eq", "positive"]
    column: str
    value: str | None = None

    def holds(self, fact: Fact) -> bool:
        v = fact.get(self.column)
        match self.kind:
            case "notnull":
                return v is not None
            case "true":
                return v is True
            case "eq":
                return v is not None and v == self.value
            case "positive":
                return v is not None and v > 0
        raise AssertionError(self.kind)  # pragma: no cover - Literal is exhaustive


@dataclass(frozen=True)
class Counter:
    name: str
    at: str  # the moment column that places the fact in a bucket
    when: tuple[Cond, ...] = ()


def _nn(c: str) -> Cond:
    return Cond("notnull", c)


def _true(c: str) -> Cond:
    return Cond("true", c)


#: Every windowed count of COUNT_FIELDS (the same predicates as the fact-based query).
COUNTERS: tuple[Counter, ...] = (
    Counter("received", "received_at"),
    Counter("received_registered", "received_at", (_nn("registered_at"),)),
    Counter("registered", "registered_at"),
    Counter("accepted_disposed", "registered_at", (_nn("resolved_at"),)),
    Counter("rejected", "rejected_at"),
    Counter("merged", "merged_at"),
    Counter("assigned", "assigned_at"),
    Counter("assigned_signed_on_time", "assigned_at", (_true("signed_on_time"),)),
    Counter("signed", "signed_at"),
    Counter("signed_on_time", "signed_at", (_true("signed_on_time"),)),
    Counter("returned", "returned_at"),
    Counter("escalated", "escalated_at"),
    Counter("disposed", "resolved_at"),
    Counter("disposed_on_time", "resolved_at", (_true("resolved_on_time"),)),
    Counter("resolved_on_spot", "resolved_at", (_true("resolved_on_spot"),)),
    Counter("called_back", "called_back_at"),
    Counter("solved", "called_back_at", (_true("callback_solved"),)),
    Counter("satisfied", "called_back_at", (Cond("eq", "callback_satisfaction", "satisfied"),)),
    Counter("basically_satisfied", "called_back_at",
            (Cond("eq", "callback_satisfaction", "basically_satisfied"),)),
    Counter("reopened", "reopened_at"),
    Counter("closed", "closed_at"),
    Counter("closed_on_time", "closed_at", (_true("closed_on_time"),)),
    Counter("closed_reworked", "closed_at", (Cond("positive", "reopen_count"),)),
    Counter("due", "deadline_at", (_nn("registered_at"),)),
    Counter("due_closed", "deadline_at", (_nn("registered_at"), _nn("closed_at"))),
    Counter("due_closed_on_time", "deadline_at", (_nn("registered_at"), _true("closed_on_time"))),
)
COUNTER_NAMES: tuple[str, ...] = tuple(c.name for c in COUNTERS)
#: counted only once their deadline has passed (it depends on now)
DUE_COUNTERS: frozenset[str] = frozenset({"due", "due_closed", "due_closed_on_time"})
#: the "now" figures, not windowed
NOW_FIELDS: tuple[str, ...] = ("open", "overdue_open")
assert set(COUNTER_NAMES) | set(NOW_FIELDS) == set(COUNT_FIELDS)

#: the moment columns, in a fixed order (one VALUES row each in the SQL)
MOMENTS: tuple[str, ...] = tuple(dict.fromkeys(c.at for c in COUNTERS))

#: the dimension columns of a fact, and the other columns the contribution reads
DIMENSION_COLUMNS: tuple[str, ...] = tuple(d.value for d in Dimension)
CONTRIBUTION_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys((
    "appeal_id", *DIMENSION_COLUMNS, *MOMENTS, "resolved_at", "received_at",
    *(w.column for c in COUNTERS for w in c.when), "reopened_at", "closed_at")))

# Histogram of handling hours (resolved_at - received_at): the bin edges, in hours.
HANDLING_BIN_EDGES: tuple[float, ...] = (
    0, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 10, 12, 15, 18, 21, 24, 30, 36, 42, 48, 60, 72, 84, 96,
    120, 144, 168, 204, 240, 288, 336, 408, 480, 576, 720, 1080, 1440, 2160,
)
#: bin 0: below 0 h; bin i (1..36): [edge i-1, edge i); bin 37: from the last edge on
HANDLING_BINS = len(HANDLING_BIN_EDGES) + 1
BIN_NAMES: tuple[str, ...] = tuple(f"h{i:02d}" for i in range(HANDLING_BINS))
#: the edges in microseconds, so that Python and SQL compare exactly the same numbers
BIN_EDGES_US: tuple[int, ...] = tuple(round(e * 3_600_000_000) for e in HANDLING_BIN_EDGES)


def handling_bin(handling: timedelta) -> int:
    """The histogram bin of one handling time."""
    # bin i = how many edges are <= it (an integer count of microseconds: exact)
    us = (handling.days * 86_400 + handling.seconds) * 1_000_000 + handling.microseconds
    return bisect.bisect_right(BIN_EDGES_US, us)


#: The second level of the histogram: each bin with two finite edges is split into
#: ``FINE_SPLIT`` equal parts (bins 0 and 37, open-ended, are not). Kept per day for the
#: coarser dimensions (``FINE_DIMENSIONS``, table ``indicator_fine``), it narrows the facts
#: the exact median reads to one part of a bin: at 10 million cases a 30-day total's bin
#: held ~52,000 facts (BENCHMARKS.md, session 7).
FINE_SPLIT = 16
FINE_EDGES_US: tuple[int, ...] = (*(
    lo + k * (hi - lo) // FINE_SPLIT
    for lo, hi in itertools.pairwise(BIN_EDGES_US) for k in range(FINE_SPLIT)),
    BIN_EDGES_US[-1])
assert all((hi - lo) % FINE_SPLIT == 0 for lo, hi in itertools.pairwise(BIN_EDGES_US)), \
    "the parts' edges are not whole microseconds"
#: the fine bins: 0 below 0 h, 1 + 16 * (bin - 1) + part for the finite bins, the last
#: one from the last edge on
FINE_BINS = len(FINE_EDGES_US) + 1
PART_NAMES: tuple[str, ...] = tuple(f"s{i:02d}" for i in range(FINE_SPLIT))


def fine_bin(handling: timedelta) -> int:
    """The fine bin of one handling time (as ``handling_bin``: edges <= it)."""
    us = (handling.days * 86_400 + handling.seconds) * 1_000_000 + handling.microseconds
    return bisect.bisect_right(FINE_EDGES_US, us)


def split_fine(fine: int) -> tuple[int, int]:
    """(bin, part) of a fine bin."""
    if fine == 0:
        return 0, 0
    if fine == FINE_BINS - 1:
        return HANDLING_BINS - 1, 0
    return 1 + (fine - 1) // FINE_SPLIT, (fine - 1) % FINE_SPLIT


def fine_range(bin_: int) -> tuple[int, int]:
    """The fine bins of a bin, first and last."""
    if bin_ == 0:
        return 0, 0
    if bin_ == HANDLING_BINS - 1:
        return FINE_BINS - 1, FINE_BINS - 1
    first = 1 + (bin_ - 1) * FINE_SPLIT
    return first, first + FINE_SPLIT - 1


def deadline_at(fact: Fact) -> datetime | None:
    """The time limit in force (the generated column of migration 0101)."""
    decided, extended = fact.get("extension_decided_at"), fact.get("extended_due")
    last = fact.get("last_assigned_at")
    if decided is not None and extended is not None and (last is None or decided >= last):
        return extended  # type: ignore[no-any-return]
    return fact.get("resolve_due")


def is_open(fact: Fact) -> bool:
    return fact.get("registered_at") is not None and fact.get("closed_at") is None


def in_handling(fact: Fact) -> bool:
    """Not resolved since the last reopen (the fact path's ``_IN_HANDLING``)."""
    resolved, reopened = fact.get("resolved_at"), fact.get("reopened_at")
    return resolved is None or (reopened is not None and reopened > resolved)


def is_pending(fact: Fact) -> bool:
    """Open, in handling and with a deadline: overdue as soon as the deadline passes."""
    return is_open(fact) and in_handling(fact) and fact.get("deadline_at") is not None


def day_of(t: datetime, tz: str) -> date:
    """The city-local day of a moment (the bucket; SQL: ``(t AT TIME ZONE tz)::date``)."""
    return t.astimezone(ZoneInfo(tz)).date()


def month_of(d: date) -> date:
    return d.replace(day=1)


# -- the aggregation: initialize / agg / result ----------------------------------------

@dataclass(frozen=True)
class BucketState:
    """A bucket's sums: counters (and now figures) by name, and the histogram."""

    counts: Mapping[str, int] = field(default_factory=dict)
    bins: tuple[int, ...] = (0,) * HANDLING_BINS

    def is_zero(self) -> bool:
        return not any(self.counts.values()) and not any(self.bins)


#: every name a fact counts in (the counters, then the bins), and a hit (day, name) as one
#: int, ``hit_code``: the day's ordinal × 64 + the name's index. The write path counts
#: hundreds of thousands of hits per fold: ints hash and compare faster than tuples.
HIT_NAMES: tuple[str, ...] = (*COUNTER_NAMES, *BIN_NAMES)
assert len(HIT_NAMES) <= 64
_NAME_INDEX = {name: i for i, name in enumerate(HIT_NAMES)}
_BY_MOMENT: tuple[tuple[str, tuple[tuple[int, tuple[Cond, ...]], ...]], ...] = tuple(
    (m, tuple((_NAME_INDEX[c.name], c.when) for c in COUNTERS if c.at == m)) for m in MOMENTS)
_FIRST_BIN = len(COUNTER_NAMES)


def hit_codes(fact: Fact, zone: ZoneInfo, days: dict[datetime, int] | None = None
              ) -> list[int]:
    """The counts one fact makes, as hit codes (each counts 1; none twice), placed by the
    rules of ``COUNTERS`` and the histogram. Sparse (a fact makes a dozen counts out of 64
    columns): the write path's form. ``days``: moments already placed (moment -> its
    day's ordinal << 6), filled here; a fact's moments often coincide, and a changed fact
    is placed twice (before and after)."""
    out: list[int] = []
    get = fact.get
    if days is None:
        days = {}
    for moment, counters in _BY_MOMENT:
        t = get(moment)
        if t is None:
            continue
        day = days.get(t)  # equal instants are equal keys: the same city-local day
        if day is None:
            day = days[t] = t.astimezone(zone).toordinal() << 6  # its date's ordinal
        for index, when in counters:
            for w in when:
                if not w.holds(fact):
                    break
            else:
                out.append(day | index)
    resolved, received = get("resolved_at"), get("received_at")
    if resolved is not None and received is not None:
        out.append((resolved.astimezone(zone).toordinal() << 6)
                   | (_FIRST_BIN + handling_bin(resolved - received)))
    return out


def hit_of(code: int) -> tuple[date, str]:
    """The (day, counter or bin name) of a hit code."""
    return date.fromordinal(code >> 6), HIT_NAMES[code & 63]


def hits(fact: Fact, zone: ZoneInfo) -> dict[tuple[date, str], int]:
    """The counts one fact makes: (day, counter or bin name) -> 1 (``hit_codes`` decoded);
    ``contributions`` gathers them by day."""
    return dict.fromkeys(map(hit_of, hit_codes(fact, zone)), 1)


_BIN_INDEX = {name: i for i, name in enumerate(BIN_NAMES)}


def contributions(fact: Fact, tz: str) -> dict[date, BucketState]:
    """What one fact adds to each day bucket (``deadline_at`` must be in ``fact``): its
    ``hits`` by day, the histogram as a whole."""
    out: dict[date, dict[str, int]] = {}
    bins: dict[date, list[int]] = {}
    for (day, name), n in hits(fact, ZoneInfo(tz)).items():
        counts = out.setdefault(day, {})
        if name in _BIN_INDEX:
            bins.setdefault(day, [0] * HANDLING_BINS)[_BIN_INDEX[name]] += n
        else:
            counts[name] = n
    return {d: BucketState(c, tuple(bins.get(d, (0,) * HANDLING_BINS)))
            for d, c in out.items()}


class RollupAggregator:
    """One bucket of one key: ``agg`` folds in a fact's contribution with a sign."""

    def initialize(self) -> BucketState:
        return BucketState()

    def agg(self, state: BucketState, value: BucketState, sign: int = 1) -> BucketState:
        counts = dict(state.counts)
        for name, n in value.counts.items():
            counts[name] = counts.get(name, 0) + sign * n
        bins = tuple(a + sign * b for a, b in zip(state.bins, value.bins, strict=True))
        return BucketState({k: v for k, v in counts.items() if v}, bins)

    def result(self, state: BucketState) -> dict[str, int]:
        """The raw indicator counts, as the fact-based query returns them (the now
        figures are kept elsewhere: 0 here)."""
        return {n: int(state.counts.get(n, 0)) for n in COUNT_FIELDS}


# -- keys --------------------------------------------------------------------------------

RollupKey = tuple[str, str | None, str | None, str | None]  # (dim, key, county, township)


#: the columns a fact's rollup keys are made of (``keys_of``)
_KEY_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(
    (*(r.column for r in ROLLUP_DIMS if r.column), "county_code", "township_code")))


def _key_values(fact: Fact) -> tuple[Any, ...]:
    return tuple(map(fact.get, _KEY_COLUMNS))


def keys_of(fact: Fact) -> list[RollupKey]:
    """The rollup rows a fact counts in: the total, and one per dimension.

    A fact without a value of a dimension (no grid worker, no imported history) counts in
    that dimension's null-key row, which carries no county or township: one row per bucket
    instead of one per county (township). Where a query needs the null key of one county
    (township), it is that county's own row minus the dimension's rows that carry it
    (``adapters/rollup_sql.rollup_query``).
    """
    county, township = fact.get("county_code"), fact.get("township_code")
    out: list[RollupKey] = []
    for r in ROLLUP_DIMS:
        key = None if r.column is None else fact.get(r.column)
        if key is None:
            out.append((r.name, None, None, None))
        else:
            out.append((r.name, key, county if r.county else None,
                        township if r.township else None))
    return out


# -- the write path: a batch's changes, summed per rollup row ---------------------------

BucketKey = tuple[str, date, str | None, str | None, str | None]  # dim, day, key, county, township
FineKey = tuple[str, int, date, str | None, str | None, str | None]  # dim, bin, day, key, ...
Counts = dict[str, int]


def fine_place(fact: Fact | None, zone: ZoneInfo) -> tuple[date, int, str] | None:
    """Where a disposed fact counts in the fine histogram: (day of ``resolved_at``, bin,
    part name); None if it has no handling time."""
    if fact is None:
        return None
    resolved, received = fact.get("resolved_at"), fact.get("received_at")
    if resolved is None or received is None:
        return None
    bin_, part = split_fine(fine_bin(resolved - received))
    return resolved.astimezone(zone).date(), bin_, PART_NAMES[part]


class RollupDelta:
    """What a batch of fact changes adds to each rollup table, per row (the write path).

    ``move(old, new)`` takes a fact's contribution away from the rows of its old values
    and adds it to those of its new ones (``old`` None: a new fact); what cancels out
    (an event that moves no count, the same keys and days before and after) writes
    nothing. Kept per rollup key (dim, key, county, township):

    - the hits of each fact (``hit_codes``: each counts 1), added and taken away: a
      fact's hits are noted once per key, and counted per key only in
      ``rows`` (``collections.Counter``, in C). Adding every fact's counts to each of its
      ~14 keys in Python was most of a fold's Python time (BENCHMARKS.md, session 8);
    - ``now``: [open, pending];
    - ``deadlines``: per deadline day, the pending ones;
    - ``fine``: per (dim, bin, day, key, county, township) {part name: n}, for the keys
      of ``FINE_DIMENSIONS``.

    ``rows`` lists them by table row (day rows; month rows: the sums of their days).
    """

    def __init__(self, tz: str) -> None:
        self.zone = ZoneInfo(tz)
        self._added: dict[RollupKey, list[Hits]] = {}
        self._taken: dict[RollupKey, list[Hits]] = {}
        self.now: dict[RollupKey, list[int]] = {}
        self.deadlines: dict[tuple[RollupKey, date], int] = {}  # (key, deadline day): n
        self.fine: dict[FineKey, Counts] = {}
        self._days: dict[datetime, int] = {}  # moments placed so far (``hit_codes``)

    def move(self, old: Fact | None, new: Fact | None) -> None:
        new_keys = keys_of(new) if new is not None else []
        if old is None:
            old_keys: list[RollupKey] = []
        elif new is not None and _key_values(old) == _key_values(new):
            old_keys = new_keys  # most changes keep every dimension: the same rows
        else:
            old_keys = keys_of(old)
        days = self._days
        if old is not None and new is not None and old_keys == new_keys:
            before = set(hit_codes(old, self.zone, days))
            after = set(hit_codes(new, self.zone, days))
            if before != after:  # every hit counts 1: the difference is two sets
                _note(self._added, new_keys, tuple(after - before))
                _note(self._taken, new_keys, tuple(before - after))
        else:
            if old is not None:
                _note(self._taken, old_keys, tuple(hit_codes(old, self.zone, days)))
            if new is not None:
                _note(self._added, new_keys, tuple(hit_codes(new, self.zone, days)))
        if old is None or new is None or old_keys != new_keys \
                or old.get("resolved_at") != new.get("resolved_at") \
                or old.get("received_at") != new.get("received_at"):
            placed, place = fine_place(old, self.zone), fine_place(new, self.zone)
            if placed != place or old_keys != new_keys:
                for where, keys, sign in ((placed, old_keys, -1), (place, new_keys, 1)):
                    if where is not None:
                        self._add_fine(keys, where, sign)
        was, now = self._now_of(old), self._now_of(new)
        if was == now and old_keys is new_keys:
            return
        if old_keys is new_keys:
            # The same rows: the net change once per key (a resolution: pending - 1 and
            # its deadline day - 1, open unchanged), not - old and + new.
            self._add_now(new_keys, (was or _NOT_OPEN), (now or _NOT_OPEN))
            return
        for state, keys, sign in ((was, old_keys, -1), (now, new_keys, 1)):
            if state is not None:
                self._add_now(keys, *((state, _NOT_OPEN) if sign < 0 else (_NOT_OPEN, state)))

    def _add_now(self, keys: list[RollupKey], was: NowState, now: NowState) -> None:
        """Move ``keys``' now figures from ``was`` to ``now``."""
        d_open, d_pending = now[0] - was[0], now[1] - was[1]
        moved = was[2] != now[2]
        rows, deadlines = self.now, self.deadlines
        for k in keys:
            if d_open or d_pending:
                row = rows.get(k)
                if row is None:
                    rows[k] = [d_open, d_pending]
                else:
                    row[0] += d_open
                    row[1] += d_pending
            if moved:
                for day, sign in ((was[2], -1), (now[2], 1)):
                    if day is not None:
                        at = (k, day)
                        deadlines[at] = deadlines.get(at, 0) + sign

    def rows(self) -> tuple[list[tuple[BucketKey, Counts]], list[tuple[BucketKey, Counts]],
                            list[tuple[RollupKey, int, int]], list[tuple[BucketKey, int]],
                            list[tuple[FineKey, Counts]]]:
        """(day rows, month rows, now rows, deadline rows, fine rows) that add something:
        a bucket row's counts without zeros; (key, open, pending); (key, pending)."""
        days: list[tuple[BucketKey, Counts]] = []
        months: dict[BucketKey, Counts] = {}
        added, taken = self._added, self._taken
        dates: dict[int, date] = {}
        # A key that one fact alone counts in (a grid's, a unit's: most keys) has that
        # fact's counts, the same for each of its keys: decoded once, shared (read-only).
        alone: dict[int, dict[date, Counts]] = {}
        for k in (*added, *(k for k in taken if k not in added)):
            dim, key, county, township = k
            a, t = added.get(k), taken.get(k)
            if t is None and a is not None and len(a) == 1:
                by_day = alone.get(id(a[0]))
                if by_day is None:
                    by_day = alone[id(a[0])] = _by_day(dict.fromkeys(a[0], 1), dates)
            else:
                by_day = _by_day(_count(a, t), dates)
            monthly = dim in MONTH_DIMENSIONS
            for day, row in by_day.items():
                days.append(((dim, day, key, county, township), row))
                if monthly:
                    sums = months.setdefault((dim, day.replace(day=1), key, county, township),
                                             {})
                    for name, n in row.items():
                        sums[name] = sums.get(name, 0) + n
        now = [(k, v[0], v[1]) for k, v in self.now.items() if v[0] or v[1]]
        deadlines = [((k[0], day, k[1], k[2], k[3]), n)
                     for (k, day), n in self.deadlines.items() if n]
        fine = [(k, {n: v for n, v in c.items() if v}) for k, c in self.fine.items()
                if any(c.values())]
        month_rows = [(m, nonzero) for m, sums in months.items()
                      if (nonzero := {n: v for n, v in sums.items() if v})]
        return days, month_rows, now, deadlines, fine

    def _add_fine(self, keys: list[RollupKey], where: tuple[date, int, str], sign: int) -> None:
        day, bin_, part = where
        for dim, key, county, township in keys:
            if dim in FINE_DIMENSIONS:
                row = self.fine.setdefault((dim, bin_, day, key, county, township), {})
                row[part] = row.get(part, 0) + sign

    def _now_of(self, fact: Fact | None) -> NowState | None:
        """(open, pending, the deadline's day if pending); None if it counts in neither."""
        if fact is None or not is_open(fact):
            return None
        if not is_pending(fact):
            return 1, 0, None
        return 1, 1, fact["deadline_at"].astimezone(self.zone).date()


Hits = tuple[int, ...]  # one fact's hit codes
NowState = tuple[int, int, date | None]  # open, pending, the deadline's day if pending
_NOT_OPEN: NowState = (0, 0, None)


def _note(table: dict[RollupKey, list[Hits]], keys: list[RollupKey], pairs: Hits) -> None:
    if pairs:
        for k in keys:
            noted = table.get(k)
            if noted is None:
                table[k] = [pairs]
            else:
                noted.append(pairs)


def _by_day(counts: dict[int, int], dates: dict[int, date]) -> dict[date, Counts]:
    """Hit codes' counts as {day: {name: n}} (``dates``: the days decoded so far)."""
    by_day: dict[date, Counts] = {}
    for code, n in counts.items():
        day = dates.get(code >> 6)
        if day is None:
            day = dates[code >> 6] = date.fromordinal(code >> 6)
        row = by_day.get(day)
        if row is None:
            by_day[day] = {HIT_NAMES[code & 63]: n}
        else:
            row[HIT_NAMES[code & 63]] = n
    return by_day


def _count(added: list[Hits] | None, taken: list[Hits] | None) -> dict[int, int]:
    """The hits' counts, added minus taken, without zeros."""
    counts = collections.Counter(itertools.chain.from_iterable(added or ()))
    if taken:
        counts.subtract(collections.Counter(itertools.chain.from_iterable(taken)))
        return {p: n for p, n in counts.items() if n}
    return counts


# -- which queries the rollups answer, and with which buckets -------------------------------

@dataclass(frozen=True)
class RollupPlan:
    """How to answer one indicator query from the rollups.

    ``dim`` rows are read where ``match_column`` = ``match_value`` (if any), and grouped
    by ``key_column`` (None: the total only). Buckets: months in ``[month_from,
    month_to)`` (None: unbounded, or no months when ``use_months`` is false), days in
    ``day_ranges``. ``today`` is now's city-local day: due counts come from day buckets
    before it and from the fact rows of today (``adapters/rollup_sql.rollup_query``).
    """

    dim: str
    key_column: str | None
    match_column: str | None
    match_value: str | None
    use_months: bool
    month_from: date | None
    month_to: date | None
    day_ranges: tuple[tuple[date | None, date | None], ...]
    first: date | None  # the window's days, [first, last) (None: unbounded)
    last: date | None
    today: date
    today_start: datetime
    tomorrow_start: datetime


def midnight(d: date, tz: str) -> datetime:
    return datetime.combine(d, time(), ZoneInfo(tz))


def aligned_day(t: datetime, tz: str) -> date | None:
    """The day ``t`` starts, if ``t`` is a city-local midnight; else None."""
    local = t.astimezone(ZoneInfo(tz))
    if (local.hour, local.minute, local.second, local.microsecond) != (0, 0, 0, 0):
        return None
    return local.date()


def _next_month(d: date) -> date:
    return d.replace(day=1) + timedelta(days=calendar.monthrange(d.year, d.month)[1])


def _rows_of(group_by: Dimension | None, filters: Mapping[Dimension, str]
             ) -> tuple[str, str | None, str | None, str | None] | None:
    """(dim, key column, match column, match value), or None if no rollup serves it."""
    if len(filters) > 1:
        return None
    if not filters:
        if group_by is None:
            return TOTAL, None, None, None
        return group_by.value, "key", None, None
    [(fdim, value)] = filters.items()
    if group_by is None or group_by is fdim:
        return fdim.value, ("key" if group_by else None), "key", value
    if fdim is Dimension.COUNTY:
        return by_county(group_by), "key", "county_code", value
    if fdim is Dimension.TOWNSHIP and group_by in TOWNSHIP_CARRIED:
        return group_by.value, "key", "township_code", value
    if group_by is Dimension.COUNTY:
        return by_county(fdim), "county_code", "key", value
    if group_by is Dimension.TOWNSHIP and fdim in TOWNSHIP_CARRIED:
        return fdim.value, "township_code", "key", value
    return None


def total_rows(filters: Mapping[Dimension, str]) -> tuple[str, str | None]:
    """The rollup rows that hold a query's total, as (dim, key): its filter's own rows
    (every key of a grouping within it sums to them), else the total rows (key None)."""
    if not filters:
        return TOTAL, None
    [(fdim, value)] = filters.items()
    return fdim.value, value


def plan(start: datetime | None, end: datetime | None, now: datetime,
         group_by: Dimension | None, filters: Mapping[Dimension, str], tz: str
         ) -> RollupPlan | None:
    """The rollup plan for a query, or None when it must be computed from the facts:
    window bounds that are not city-local midnights (in the rollups' zone), or a
    combination of grouping and filters no rollup row carries (e.g. two filters)."""
    rows = _rows_of(group_by, filters)
    if rows is None:
        return None
    first = aligned_day(start, tz) if start is not None else None
    last = aligned_day(end, tz) if end is not None else None
    if (start is not None and first is None) or (end is not None and last is None):
        return None
    dim, key_column, match_column, match_value = rows
    today = day_of(now, tz)
    use_months = dim in MONTH_DIMENSIONS
    month_from = month_to = None
    ranges: tuple[tuple[date | None, date | None], ...] = ((first, last),)
    if use_months:
        # Whole months inside the window that ended before today (their due counts are
        # final); everything else from day buckets.
        m_from = None if first is None else (first if first.day == 1 else _next_month(first))
        limit = today if last is None else min(last, today)
        m_to = limit.replace(day=1)
        if m_from is None or m_from < m_to:
            month_from, month_to = m_from, m_to
            head = () if first is None or m_from is None or not first < m_from \
                else ((first, m_from),)
            tail = () if last is not None and not m_to < last else ((m_to, last),)
            ranges = head + tail
        else:
            use_months = False
    return RollupPlan(dim, key_column, match_column, match_value, use_months, month_from,
                      month_to, ranges, first, last, today, midnight(today, tz),
                      midnight(today + timedelta(days=1), tz))
