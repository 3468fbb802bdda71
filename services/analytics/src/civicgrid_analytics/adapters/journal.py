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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from civicgrid_shared.db.pool import Conn

from civicgrid_analytics.adapters.repository import rows_json
from civicgrid_analytics.domain.facts import FACT_COLUMNS, merge

_APPEND = "INSERT INTO fact_journal (events, updates) VALUES ($1, $2::json)"

# One fold at a time per store (two instances of analytics share the journal): the two-key
# form of the advisory locks, so that it cannot meet a one-key lock (the outbox relay's).
_FOLD_LOCK = "SELECT pg_try_advisory_xact_lock(1634627937, 'fact_journal'::regclass::oid::int)"

# The typed read of the rows taken (json_populate_recordset does the types, asyncpg decodes
# them in C); the DELETE is undone if the fold's transaction is not committed.
_TAKE = f"""WITH taken AS (
    DELETE FROM fact_journal WHERE id IN (SELECT id FROM fact_journal ORDER BY id LIMIT $1)
    RETURNING id, events, appended_at, updates
)
SELECT t.id, t.events, t.appended_at, u.appeal_id, {', '.join(f'u.{c}' for c in FACT_COLUMNS)}
FROM taken t CROSS JOIN LATERAL json_populate_recordset(NULL::case_facts, t.updates) AS u
ORDER BY t.id"""  # noqa: S608 - column names are domain constants

_BACKLOG = "SELECT coalesce(sum(events), 0) AS events, min(appended_at) AS oldest FROM fact_journal"


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
        seen: set[int] = set()
        for r in await self._conn.fetch(_TAKE, max_rows):
            if r["id"] not in seen:
                seen.add(r["id"])
                taken.rows += 1
                taken.events += r["events"]
                if taken.oldest is None or r["appended_at"] < taken.oldest:
                    taken.oldest = r["appended_at"]
            # None is "not set by these events" (merge skips it either way)
            taken.updates.append((r["appeal_id"], {c: v for c in FACT_COLUMNS
                                                   if (v := r[c]) is not None}))
        return taken

    async def backlog(self) -> Backlog:
        row = await self._conn.fetchrow(_BACKLOG)
        assert row is not None
        return Backlog(int(row["events"]), row["oldest"])
