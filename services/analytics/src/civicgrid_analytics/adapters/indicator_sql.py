"""The indicator query over case_facts: one statement, grouping sets for rows and total.

Window: ``$1`` from, ``$2`` to (either may be NULL: unbounded), ``$3`` now.
Only rows whose life span overlaps the window, or that are still open, are read (a
GiST index on ``span`` and a partial index on open cases).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from civicgrid_analytics.domain.indicators import COUNT_FIELDS, Dimension


def _w(col: str) -> str:
    return (f"({col} >= coalesce($1::timestamptz, '-infinity') "
            f"AND {col} < coalesce($2::timestamptz, 'infinity'))")


_DUE = f"({_w('deadline_at')} AND deadline_at <= $3 AND registered_at IS NOT NULL)"
_OPEN = "(closed_at IS NULL AND registered_at IS NOT NULL)"
_IN_HANDLING = "(resolved_at IS NULL OR reopened_at > resolved_at)"

#: count -> SQL predicate over one fact row (see README for the words)
PREDICATES: dict[str, str] = {
    "received": _w("received_at"),
    "registered": _w("registered_at"),
    "rejected": _w("rejected_at"),
    "merged": _w("merged_at"),
    "assigned": _w("assigned_at"),
    "signed": _w("signed_at"),
    "signed_on_time": f"{_w('signed_at')} AND signed_on_time",
    "returned": _w("returned_at"),
    "escalated": _w("escalated_at"),
    "disposed": _w("resolved_at"),
    "disposed_on_time": f"{_w('resolved_at')} AND resolved_on_time",
    "resolved_on_spot": f"{_w('resolved_at')} AND resolved_on_spot",
    "called_back": _w("called_back_at"),
    "solved": f"{_w('called_back_at')} AND callback_solved",
    "satisfied": f"{_w('called_back_at')} AND callback_satisfaction = 'satisfied'",
    "basically_satisfied":
        f"{_w('called_back_at')} AND callback_satisfaction = 'basically_satisfied'",
    "reopened": _w("reopened_at"),
    "closed": _w("closed_at"),
    "closed_on_time": f"{_w('closed_at')} AND closed_on_time",
    "closed_reworked": f"{_w('closed_at')} AND reopen_count > 0",
    "due": _DUE,
    "due_closed": f"{_DUE} AND closed_at IS NOT NULL",
    "due_closed_on_time": f"{_DUE} AND closed_on_time",
    "received_registered": f"{_w('received_at')} AND registered_at IS NOT NULL",
    "accepted_disposed": f"{_w('registered_at')} AND resolved_at IS NOT NULL",
    "assigned_signed_on_time": f"{_w('assigned_at')} AND signed_on_time",
    "open": _OPEN,
    "overdue_open": f"{_OPEN} AND deadline_at < $3 AND {_IN_HANDLING}",
}
assert set(PREDICATES) == set(COUNT_FIELDS)

_MEDIAN = (
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY "
    "extract(epoch FROM resolved_at - received_at) / 3600.0) "
    f"FILTER (WHERE {_w('resolved_at')} AND received_at IS NOT NULL)"
)


@dataclass(frozen=True)
class IndicatorQuery:
    start: datetime | None
    end: datetime | None
    now: datetime
    group_by: Dimension | None = None
    filters: dict[Dimension, str] = field(default_factory=dict)

    def sql(self, open_cases: bool = True) -> tuple[str, list[Any]]:
        """The statement and its parameters. Without ``open_cases`` it reads only the rows
        whose span overlaps the window: every windowed count and the median are exact,
        ``open`` and ``overdue_open`` are not (the caller takes them from elsewhere)."""
        params: list[Any] = [self.start, self.end, self.now]
        span = "span && tstzrange($1::timestamptz, $2::timestamptz, '[)')"
        where = [f"({span} OR {_OPEN})" if open_cases else span]
        for dim, value in self.filters.items():
            params.append(value)
            where.append(f"{dim.value} = ${len(params)}")
        counts = ",\n".join(f"count(*) FILTER (WHERE {p}) AS {n}"
                            for n, p in PREDICATES.items())
        if self.group_by is None:
            select_key, grouping = "NULL::text AS key, true AS is_total", ""
        else:
            col = self.group_by.value
            select_key = f"{col} AS key, GROUPING({col}) = 1 AS is_total"
            grouping = f"GROUP BY GROUPING SETS (({col}), ())"
        sql = (f"SELECT {select_key},\n{counts},\n{_MEDIAN} AS median_handling_hours\n"
               f"FROM case_facts WHERE {' AND '.join(where)}\n{grouping}\n"
               "ORDER BY is_total DESC, key NULLS LAST")
        return sql, params
