"""The fact journal (migration 0106): the consumer's side of the fact store.

The consumer's transaction writes its batch's fact updates here, merged per appeal, as one
row, with its inbox claim; nothing else of the store is touched on the consumer's path.
The projection (``service_layer/projection.py``) takes rows out in a transaction of its own
and folds them into ``case_facts`` and the rollups (``FactRepository``). Rows that commit
out of id order are no hazard: a fold takes the rows it sees and deletes exactly those; a
row committed later is taken by a later fold, and the merge of updates does not depend on
their order (``domain/facts.merge``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from civicgrid_shared.db.pool import Conn

from civicgrid_analytics.adapters.repository import rows_json
from civicgrid_analytics.domain.facts import COLUMNS, merge

_APPEND = "INSERT INTO fact_journal (events, updates) VALUES ($1, $2::json)"

# One fold at a time per store (two instances of analytics share the journal): the two-key
# form of the advisory locks, so that it cannot meet a one-key lock (the outbox relay's).
_FOLD_LOCK = "SELECT pg_try_advisory_xact_lock(1634627937, 'fact_journal'::regclass::oid::int)"

# The rows taken, as their JSON text: typed here (``_typed``), not by PostgreSQL, so that a
# value the store cannot hold fails the fold's writes (which set such an appeal aside)
# rather than this read. The DELETE is undone if the fold's transaction is not committed.
_TAKE = """WITH taken AS (
    DELETE FROM fact_journal WHERE id IN (SELECT id FROM fact_journal ORDER BY id LIMIT $1)
    RETURNING id, events, appended_at, updates
)
SELECT id, events, appended_at, updates::text AS updates FROM taken ORDER BY id"""

_SET_ASIDE = ("INSERT INTO fact_journal_set_aside (appeal_id, reason, updates) "
              "VALUES ($1, $2, $3::json)")

_BACKLOG = "SELECT coalesce(sum(events), 0) AS events, min(appended_at) AS oldest FROM fact_journal"


_PARSE: dict[str, Callable[[Any], Any]] = {
    "uuid": uuid.UUID, "timestamptz": datetime.fromisoformat}


def _typed(row: dict[str, Any]) -> tuple[uuid.UUID, dict[str, Any]]:
    """An appeal's update as journalled (JSON) back in Python's types (COLUMNS says which);
    a missing or null column is "not set by these events", as merge reads it."""
    appeal_id = uuid.UUID(row.pop("appeal_id"))
    update = {}
    for column, value in row.items():
        if value is not None:
            parse = _PARSE.get(COLUMNS[column][0])
            update[column] = value if parse is None else parse(value)
    return appeal_id, update


@dataclass
class Taken:
    """What one fold took from the journal."""

    rows: int = 0
    events: int = 0
    oldest: datetime | None = None  # when the oldest row taken was appended
    updates: list[tuple[uuid.UUID, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class Backlog:
    events: int
    oldest: datetime | None


class FactJournal:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._pending: dict[uuid.UUID, dict[str, Any]] = {}
        self._events = 0

    def record(self, appeal_id: uuid.UUID, update: dict[str, Any]) -> None:
        merge(self._pending.setdefault(appeal_id, {}), update)
        self._events += 1

    async def flush(self) -> bool:
        """Write the batch's updates as one row; whether there was anything to write."""
        if not self._pending:
            return False
        pending, events = self._pending, self._events
        self._pending, self._events = {}, 0
        await self._conn.execute(_APPEND, events, rows_json(pending, sorted(pending)))
        return True

    async def lock_fold(self) -> bool:
        """Hold the store's fold lock until the transaction ends; False if another
        transaction holds it."""
        return bool(await self._conn.fetchval(_FOLD_LOCK))

    async def take(self, max_rows: int) -> Taken:
        """Delete up to ``max_rows`` rows (oldest first) and return their updates."""
        taken = Taken()
        for r in await self._conn.fetch(_TAKE, max_rows):
            taken.rows += 1
            taken.events += r["events"]
            if taken.oldest is None or r["appended_at"] < taken.oldest:
                taken.oldest = r["appended_at"]
            taken.updates += map(_typed, orjson.loads(r["updates"]))
        return taken

    async def set_aside(self, appeal_id: uuid.UUID, update: dict[str, Any],
                        reason: str) -> None:
        """Keep an appeal's update that could not be folded, with the reason."""
        await self._conn.execute(_SET_ASIDE, appeal_id, reason,
                                 rows_json({appeal_id: update}, [appeal_id]))

    async def backlog(self) -> Backlog:
        row = await self._conn.fetchrow(_BACKLOG)
        assert row is not None
        return Backlog(int(row["events"]), row["oldest"])
