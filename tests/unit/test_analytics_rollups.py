"""Event-time rollups (pure): what a fact adds to which bucket, the aggregation, the
median from the histogram, and which queries the rollups answer."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import civicgrid_analytics
from civicgrid_analytics.adapters.rollup_sql import fine_bin_sql
from civicgrid_analytics.domain import rollups
from civicgrid_analytics.domain.indicators import COUNT_FIELDS, Dimension
from civicgrid_analytics.domain.rollups import (
    BIN_NAMES,
    COUNTER_NAMES,
    HANDLING_BIN_EDGES,
    HANDLING_BINS,
    PART_NAMES,
    BucketState,
    RollupAggregator,
    contributions,
    deadline_at,
    fine_bin,
    handling_bin,
    keys_of,
    plan,
)
from hypothesis import given, settings
from hypothesis import strategies as st

TZ = "Asia/Shanghai"
T0 = datetime(2025, 3, 3, 1, tzinfo=UTC)  # 09:00 on Monday 3 March in the city
MIGRATION = Path(civicgrid_analytics.__file__).parent / "migrations" / "0104_rollups.sql"
FINE_MIGRATION = MIGRATION.with_name("0105_fine_histogram.sql")


def h(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def _fact(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "appeal_id": "a", "channel": "hotline", "matter_code": "CA-001",
        "category_code": "CA", "county_code": "140502", "township_code": "140502001",
        "community_code": "140502001001", "grid_code": "g1", "unit_id": "unit-a",
        "grid_worker_id": None, "tier": "township", "history_source": None,
        "history_agency": None,
    }
    base.update(kw)
    base.setdefault("deadline_at", deadline_at(base))
    return base


# -- a reference: the README's definitions, evaluated on one fact ----------------------------

def _in(t: datetime | None, lo: datetime, hi: datetime) -> bool:
    return t is not None and lo <= t < hi


def reference(f: dict[str, Any], lo: datetime, hi: datetime, now: datetime) -> dict[str, int]:
    """The fact-based predicates of adapters/indicator_sql.py, in Python."""
    def w(c: str) -> bool:
        return _in(f.get(c), lo, hi)

    due = w("deadline_at") and f["deadline_at"] <= now and f.get("registered_at") is not None
    sat = f.get("callback_satisfaction")
    counts = {
        "received": w("received_at"), "registered": w("registered_at"),
        "rejected": w("rejected_at"), "merged": w("merged_at"), "assigned": w("assigned_at"),
        "signed": w("signed_at"), "signed_on_time": w("signed_at") and f.get("signed_on_time"),
        "returned": w("returned_at"), "escalated": w("escalated_at"),
        "disposed": w("resolved_at"),
        "disposed_on_time": w("resolved_at") and f.get("resolved_on_time"),
        "resolved_on_spot": w("resolved_at") and f.get("resolved_on_spot"),
        "called_back": w("called_back_at"),
        "solved": w("called_back_at") and f.get("callback_solved"),
        "satisfied": w("called_back_at") and sat == "satisfied",
        "basically_satisfied": w("called_back_at") and sat == "basically_satisfied",
        "reopened": w("reopened_at"), "closed": w("closed_at"),
        "closed_on_time": w("closed_at") and f.get("closed_on_time"),
        "closed_reworked": w("closed_at") and (f.get("reopen_count") or 0) > 0,
        "due": due, "due_closed": due and f.get("closed_at") is not None,
        "due_closed_on_time": due and f.get("closed_on_time"),
        "received_registered": w("received_at") and f.get("registered_at") is not None,
        "accepted_disposed": w("registered_at") and f.get("resolved_at") is not None,
        "assigned_signed_on_time": w("assigned_at") and f.get("signed_on_time"),
    }
    return {k: int(bool(v)) for k, v in counts.items()}


def from_rollups(f: dict[str, Any], first: date, last: date, now: datetime) -> dict[str, int]:
    """The same counts summed over the day buckets of [first, last) (due: before today)."""
    today = rollups.day_of(now, TZ)
    agg = RollupAggregator()
    state = agg.initialize()
    for day, value in contributions(f, TZ).items():
        if first <= day < last:
            if day >= today:
                value = BucketState({k: v for k, v in value.counts.items()
                                     if k not in rollups.DUE_COUNTERS}, value.bins)
            state = agg.agg(state, value)
    return {k: int(state.counts.get(k, 0)) for k in COUNTER_NAMES}


moments = st.one_of(st.none(), st.integers(0, 24 * 40).map(lambda n: h(n)))


@st.composite
def facts(draw: st.DrawFn) -> dict[str, Any]:
    return _fact(
        received_at=draw(moments), registered_at=draw(moments), rejected_at=draw(moments),
        merged_at=draw(moments), assigned_at=draw(moments), signed_at=draw(moments),
        signed_on_time=draw(st.sampled_from([None, True, False])),
        returned_at=draw(moments), escalated_at=draw(moments), resolved_at=draw(moments),
        resolved_on_time=draw(st.sampled_from([None, True, False])),
        resolved_on_spot=draw(st.sampled_from([None, True])),
        called_back_at=draw(moments), callback_solved=draw(st.sampled_from([None, True, False])),
        callback_satisfaction=draw(st.sampled_from(
            [None, "satisfied", "basically_satisfied", "not_satisfied"])),
        reopened_at=draw(moments), reopen_count=draw(st.sampled_from([None, 0, 1, 2])),
        closed_at=draw(moments), closed_on_time=draw(st.sampled_from([None, True, False])),
        last_assigned_at=draw(moments), resolve_due=draw(moments),
        extension_decided_at=draw(moments), extended_due=draw(moments))


@settings(max_examples=300, deadline=None)
@given(facts(), st.integers(0, 40), st.integers(1, 40), st.integers(0, 24 * 45))
def test_bucket_sums_equal_the_fact_predicates_over_any_whole_days(
        f: dict[str, Any], first: int, length: int, now_h: int) -> None:
    start_day = date(2025, 3, 2) + timedelta(days=first)
    end_day = start_day + timedelta(days=length)
    lo, hi = rollups.midnight(start_day, TZ), rollups.midnight(end_day, TZ)
    now = h(now_h)
    want = reference(f, lo, hi, now)
    got = from_rollups(f, start_day, end_day, now)
    # Due of today is taken from the facts by the query: add it as the query does.
    today_lo = max(lo, rollups.midnight(rollups.day_of(now, TZ), TZ))
    today_hi = min(hi, rollups.midnight(rollups.day_of(now, TZ) + timedelta(days=1), TZ))
    if today_lo < today_hi:
        for k, v in reference(f, today_lo, today_hi, now).items():
            if k in rollups.DUE_COUNTERS:
                got[k] += v
    assert got == {k: want[k] for k in COUNTER_NAMES}


def test_a_case_is_counted_by_the_day_of_each_moment() -> None:
    f = _fact(received_at=h(0), registered_at=h(0.1), assigned_at=h(0.2),
              last_assigned_at=h(0.2), resolve_due=h(48), signed_at=h(1), signed_on_time=True,
              resolved_at=h(30), resolved_on_time=True, closed_at=h(40), closed_on_time=True,
              reopen_count=0)
    by_day = contributions(f, TZ)
    monday, tuesday, wednesday = date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5)
    assert by_day[monday].counts == {
        "received": 1, "received_registered": 1, "registered": 1, "accepted_disposed": 1,
        "assigned": 1, "assigned_signed_on_time": 1, "signed": 1, "signed_on_time": 1}
    assert by_day[tuesday].counts == {"disposed": 1, "disposed_on_time": 1}
    assert by_day[tuesday].bins[handling_bin(timedelta(hours=30))] == 1
    assert by_day[wednesday].counts == {"closed": 1, "closed_on_time": 1, "due": 1,
                                        "due_closed": 1, "due_closed_on_time": 1}


def test_a_fact_that_changes_moves_its_contribution() -> None:
    """Subtract the old row, add the new: the buckets then hold only the new row."""
    agg = RollupAggregator()
    old = _fact(received_at=h(0), registered_at=h(0))
    new = _fact(received_at=h(0), registered_at=h(0), resolved_at=h(50), closed_at=h(51))
    buckets: dict[date, BucketState] = {}
    for sign, f in ((1, old), (-1, old), (1, new)):
        for day, value in contributions(f, TZ).items():
            buckets[day] = agg.agg(buckets.get(day, agg.initialize()), value, sign)
    want = contributions(new, TZ)
    assert {d: s for d, s in buckets.items() if not s.is_zero()} == want
    assert agg.result(want[date(2025, 3, 3)])["accepted_disposed"] == 1


def _expected_rows(changes: list[tuple[int, dict[str, Any]]]
                   ) -> tuple[dict[Any, dict[str, int]], dict[Any, list[int]],
                              dict[Any, dict[str, int]]]:
    """The day rows, now rows and fine rows a list of (sign, fact) adds, from
    ``contributions``, ``fine_bin`` and ``keys_of`` (the rules the write path must
    follow), without zeros."""
    days: dict[Any, dict[str, int]] = {}
    now: dict[Any, list[int]] = {}
    fine: dict[Any, dict[str, int]] = {}
    for sign, f in changes:
        for dim, key, county, township in keys_of(f):
            if dim in rollups.FINE_DIMENSIONS and f.get("resolved_at") and f.get("received_at"):
                bin_, part = rollups.split_fine(fine_bin(f["resolved_at"] - f["received_at"]))
                day = rollups.day_of(f["resolved_at"], TZ)
                row = fine.setdefault((dim, bin_, day, key, county, township), {})
                row[PART_NAMES[part]] = row.get(PART_NAMES[part], 0) + sign
            for day, value in contributions(f, TZ).items():
                row = days.setdefault((dim, day, key, county, township), {})
                named = {**value.counts, **{b: n for b, n in zip(BIN_NAMES, value.bins,
                                                                  strict=True)}}
                for name, n in named.items():
                    row[name] = row.get(name, 0) + sign * n
            if rollups.is_open(f):
                row2 = now.setdefault((dim, key, county, township), [0, 0])
                row2[0] += sign
                row2[1] += sign * rollups.is_pending(f)
    days = {k: nz for k, v in days.items() if (nz := {n: c for n, c in v.items() if c})}
    fine = {k: nz for k, v in fine.items() if (nz := {n: c for n, c in v.items() if c})}
    return days, {k: v for k, v in now.items() if v[0] or v[1]}, fine


@settings(max_examples=200, deadline=None)
@given(facts(), facts(), st.booleans(), st.booleans())
def test_the_write_path_delta_is_new_minus_old_over_the_keys(
        old: dict[str, Any], new: dict[str, Any], moved: bool, inserted: bool) -> None:
    """``RollupDelta`` (what a batch writes) adds exactly new - old to the rows of their
    keys: also when the fact moved to another unit (other keys), or is new."""
    if moved:
        new = {**new, "unit_id": "unit-b", "grid_code": "g2"}
    delta = rollups.RollupDelta(TZ)
    delta.move(None if inserted else old, new)
    days, _months, now, _deadlines, fine = delta.rows()
    want_days, want_now, want_fine = _expected_rows(
        ([] if inserted else [(-1, old)]) + [(1, new)])
    assert dict(days) == want_days
    assert {k: [o, p] for k, o, p in now} == want_now
    assert dict(fine) == want_fine


def _months_of(days: dict[Any, dict[str, int]]) -> dict[Any, dict[str, int]]:
    """The month rows: the sums of the day rows, for the dimensions that have months."""
    months: dict[Any, dict[str, int]] = {}
    for (dim, day, key, county, township), counts in days.items():
        if dim in rollups.MONTH_DIMENSIONS:
            row = months.setdefault((dim, day.replace(day=1), key, county, township), {})
            for name, n in counts.items():
                row[name] = row.get(name, 0) + n
    return {k: nz for k, v in months.items() if (nz := {n: c for n, c in v.items() if c})}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(facts(), facts(), st.booleans(), st.booleans()), max_size=6))
def test_a_batch_of_changes_sums_them_per_row(
        changes: list[tuple[dict[str, Any], dict[str, Any], bool, bool]]) -> None:
    """Several facts in one delta (a fold): every row holds the sum of their new - old,
    and the month rows the sums of their days."""
    delta = rollups.RollupDelta(TZ)
    signed: list[tuple[int, dict[str, Any]]] = []
    for old, new, moved, inserted in changes:
        if moved:
            new = {**new, "unit_id": "unit-b", "grid_code": "g2"}
        delta.move(None if inserted else old, new)
        signed += ([] if inserted else [(-1, old)]) + [(1, new)]
    days, months, now, _deadlines, fine = delta.rows()
    want_days, want_now, want_fine = _expected_rows(signed)
    assert dict(days) == want_days
    assert len(days) == len(want_days)  # one row per key and day
    assert dict(months) == _months_of(want_days)
    assert {k: [o, p] for k, o, p in now} == want_now
    assert dict(fine) == want_fine


def test_a_change_that_moves_no_count_writes_no_row() -> None:
    old = _fact(received_at=h(0), registered_at=h(0))
    delta = rollups.RollupDelta(TZ)
    delta.move(old, {**old, "warned_at": h(5)})
    assert delta.rows() == ([], [], [], [], [])


def test_agg_is_order_independent_and_result_has_every_count() -> None:
    agg = RollupAggregator()
    values = [v for f in (_fact(received_at=h(i), resolved_at=h(i + 3 * i)) for i in range(5))
              for v in contributions(f, TZ).values()]
    a = b = agg.initialize()
    for v in values:
        a = agg.agg(a, v)
    for v in reversed(values):
        b = agg.agg(b, v)
    assert a == b
    out = agg.result(a)
    assert set(out) == set(COUNT_FIELDS)
    assert out["received"] == 5 and out["disposed"] == 5


def test_bins_are_exact_at_their_edges() -> None:
    assert handling_bin(timedelta(microseconds=-1)) == 0
    assert handling_bin(timedelta(0)) == 1
    assert handling_bin(timedelta(minutes=15) - timedelta(microseconds=1)) == 1
    assert handling_bin(timedelta(minutes=15)) == 2
    assert handling_bin(timedelta(hours=2160)) == HANDLING_BINS - 1
    assert len(BIN_NAMES) == HANDLING_BINS == len(HANDLING_BIN_EDGES) + 1


@given(st.integers(min_value=-10**10, max_value=10**13))
def test_a_fine_bin_is_a_part_of_the_handling_bin(us: int) -> None:
    """The second level splits each bin; it never moves a value to another bin."""
    t = timedelta(microseconds=us)
    fine = fine_bin(t)
    bin_, part = rollups.split_fine(fine)
    assert bin_ == handling_bin(t)
    assert rollups.fine_range(bin_)[0] + part == fine
    lo, hi = rollups.fine_range(bin_)
    assert lo <= fine <= hi and hi - lo + 1 in (1, rollups.FINE_SPLIT)


def test_fine_edges_split_each_finite_bin_evenly() -> None:
    assert rollups.FINE_EDGES_US[::rollups.FINE_SPLIT] == rollups.BIN_EDGES_US
    assert fine_bin(timedelta(minutes=15) - timedelta(microseconds=1)) == rollups.FINE_SPLIT
    assert fine_bin(timedelta(hours=2160)) == rollups.FINE_BINS - 1


def test_the_median_index_has_the_query_s_expression() -> None:
    """The exact median reads the facts of one histogram bin through the index
    ``case_facts_handling``; PostgreSQL uses an expression index only when the query's
    expression is the same."""
    text = " ".join(FINE_MIGRATION.read_text().split())
    assert f"case_facts ({fine_bin_sql()}, resolved_at)" in text


def test_the_fine_bin_function_has_the_domain_s_edges() -> None:
    """``handling_fine_bin`` (migration 0105) places a handling time as ``fine_bin`` does."""
    text = FINE_MIGRATION.read_text()
    body = text[text.index("CREATE FUNCTION handling_fine_bin"):]
    edges = body[body.index("ARRAY[") + 6:body.index("]::numeric[]")]
    assert tuple(int(e) for e in edges.replace("\n", " ").split(",")) == rollups.FINE_EDGES_US


def test_keys_carry_the_county_and_below_a_township_the_township() -> None:
    keys = {k[0]: k for k in keys_of(_fact(grid_worker_id="gw-1"))}
    assert keys["total"] == ("total", None, None, None)
    assert keys["matter_code"] == ("matter_code", "CA-001", None, None)  # 190 keys a day
    assert keys["matter_code@county"] == ("matter_code@county", "CA-001", "140502", None)
    assert keys["grid_code"] == ("grid_code", "g1", "140502", "140502001")
    assert keys["grid_worker_id"] == ("grid_worker_id", "gw-1", "140502", "140502001")
    assert len(keys) == 1 + len(Dimension) + 1  # total, the dimensions, matter by county
    # A fact without a value of a dimension: the null-key row, without county.
    assert keys["history_source"] == ("history_source", None, None, None)
    no_worker = {k[0]: k for k in keys_of(_fact())}
    assert no_worker["grid_worker_id"] == ("grid_worker_id", None, None, None)


NOW = datetime(2025, 3, 20, 4, tzinfo=UTC)  # 12:00 on 20 March in the city


def _local(d: date) -> datetime:
    return rollups.midnight(d, TZ)


def test_plan_uses_months_that_ended_and_days_for_the_rest() -> None:
    p = plan(_local(date(2024, 12, 15)), _local(date(2025, 3, 21)), NOW, Dimension.MATTER,
             {}, TZ)
    assert p is not None and p.use_months
    assert (p.month_from, p.month_to) == (date(2025, 1, 1), date(2025, 3, 1))
    assert p.day_ranges == ((date(2024, 12, 15), date(2025, 1, 1)),
                            (date(2025, 3, 1), date(2025, 3, 21)))
    assert p.today == date(2025, 3, 20)
    grid = plan(_local(date(2024, 12, 15)), _local(date(2025, 3, 21)), NOW, Dimension.GRID,
                {}, TZ)
    assert grid is not None and not grid.use_months
    everything = plan(None, None, NOW, None, {}, TZ)
    assert everything is not None and everything.month_from is None
    assert everything.day_ranges == ((date(2025, 3, 1), None),)


def test_plan_serves_one_filter_by_the_carried_columns() -> None:
    start, end = _local(date(2025, 3, 1)), _local(date(2025, 3, 8))
    county = {Dimension.COUNTY: "140502"}

    def rows(group: Dimension | None, filters: dict[Dimension, str]
             ) -> tuple[str, str | None, str | None] | None:
        p = plan(start, end, NOW, group, filters, TZ)
        return None if p is None else (p.dim, p.key_column, p.match_column)

    assert rows(None, {}) == ("total", None, None)
    assert rows(Dimension.TOWNSHIP, county) == ("township_code", "key", "county_code")
    assert rows(Dimension.COUNTY, {Dimension.MATTER: "x"}) == ("matter_code@county",
                                                               "county_code", "key")
    assert rows(Dimension.MATTER, county) == ("matter_code@county", "key", "county_code")
    assert rows(Dimension.MATTER, {}) == ("matter_code", "key", None)
    assert rows(Dimension.GRID, {Dimension.TOWNSHIP: "t"}) == ("grid_code", "key",
                                                               "township_code")
    assert rows(Dimension.TOWNSHIP, {Dimension.GRID: "g"}) == ("grid_code", "township_code",
                                                               "key")
    assert rows(None, {Dimension.UNIT: "u"}) == ("unit_id", None, "key")
    assert rows(Dimension.UNIT, {Dimension.UNIT: "u"}) == ("unit_id", "key", "key")
    # Not carried: from the facts.
    assert rows(Dimension.MATTER, {Dimension.UNIT: "u"}) is None
    assert rows(Dimension.TOWNSHIP, {**county, Dimension.MATTER: "x"}) is None


def test_windows_that_are_not_city_midnights_go_to_the_facts() -> None:
    assert plan(h(0), None, NOW, None, {}, TZ) is None  # 09:00 in the city
    assert plan(None, datetime(2025, 3, 5, tzinfo=UTC), NOW, None, {}, TZ) is None
    assert plan(datetime(2025, 3, 4, 16, tzinfo=UTC), None, NOW, None, {}, TZ) is not None


def test_the_migration_has_a_column_per_counter_and_bin() -> None:
    sql = MIGRATION.read_text()
    table = sql[sql.index("CREATE TABLE indicator_days"):]
    table = table[:table.index(") PARTITION BY")]
    columns = re.findall(r"\b([a-z_0-9]+) integer\b", table)
    assert columns == [*COUNTER_NAMES, *BIN_NAMES]


def test_deadline_follows_an_extension_decided_after_the_assignment() -> None:
    assert deadline_at(_fact(resolve_due=h(10))) == h(10)
    assert deadline_at(_fact(resolve_due=h(10), last_assigned_at=h(0),
                             extension_decided_at=h(5), extended_due=h(20))) == h(20)
    assert deadline_at(_fact(resolve_due=h(10), last_assigned_at=h(6),
                             extension_decided_at=h(5), extended_due=h(20))) == h(10)
