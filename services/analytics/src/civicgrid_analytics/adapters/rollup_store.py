"""Building the rollups from the stored facts, set-based (a store that had facts before
the rollups existed, a changed zone, the benchmark's fill)."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
from civicgrid_shared.db.pool import Conn
from civicgrid_shared.logs import get_logger

from civicgrid_analytics.adapters.rollup_sql import (
    ROLLUP_TABLES,
    rebuild_buckets_sql,
    rebuild_fine_sql,
    rebuild_now_sql,
)

log = get_logger(__name__)

_BUCKETS = rebuild_buckets_sql()
_FINE = rebuild_fine_sql()
_NOW = rebuild_now_sql()


async def rebuild_rollups(conn: Conn, chunk: timedelta = timedelta(days=7)) -> int:
    """Replace every rollup row by what the stored facts give; returns the facts read.

    Runs in the caller's transaction and holds a SHARE lock on ``case_facts`` (writers
    wait, readers do not), so the rollups match the facts exactly when it commits. The
    facts are read by ``received_at`` in chunks of ``chunk`` to bound the memory of each
    statement.
    """
    total = await _refill(conn, ROLLUP_TABLES, (_BUCKETS, _FINE), chunk)
    await conn.execute(_BUCKETS, None, None, True)  # the facts without received_at
    await conn.execute(_NOW)
    await conn.execute("UPDATE rollup_state SET ready = true, fine_ready = true")
    return total


async def rebuild_fine(conn: Conn, chunk: timedelta = timedelta(days=7)) -> int:
    """Replace the fine histogram rows (``indicator_fine``) only, as ``rebuild_rollups``
    does all of them (the first start after migration 0105 on a store with facts: at
    10 M cases a sixth of the whole rebuild's time)."""
    total = await _refill(conn, ("indicator_fine",), (_FINE,), chunk)
    await conn.execute("UPDATE rollup_state SET fine_ready = true")
    return total


async def _refill(conn: Conn, tables: tuple[str, ...], statements: tuple[str, ...],
                  chunk: timedelta) -> int:
    await conn.execute("LOCK TABLE case_facts IN SHARE MODE")
    # Large in-memory hash aggregates (the default 4 MB spills them to disk), no JIT.
    await conn.execute("SET LOCAL work_mem = '512MB'")
    await conn.execute("SET LOCAL jit = off")
    await conn.execute(f"TRUNCATE {', '.join(tables)}")
    row = await conn.fetchrow(
        "SELECT min(received_at), max(received_at), count(*) FROM case_facts")
    assert row is not None
    first, last, total = row
    lo: datetime | None = first
    while lo is not None and lo <= last:
        for sql in statements:
            await conn.execute(sql, lo, lo + chunk, False)
        lo += chunk
    return int(total)


async def ensure_rollups(pool: asyncpg.Pool) -> bool:
    """Fill the rollups if the store has facts they do not hold yet (the first start
    after the migration that added them: all of them, or after 0105 the fine rows only);
    True if it did. Safe with several instances: one fills, the others wait and find them
    ready."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('civicgrid-analytics-rollups'))")
        state = await conn.fetchrow("SELECT ready, fine_ready FROM rollup_state")
        assert state is not None  # migration 0104 inserts the one row
        ready, fine_ready = state
        if not ready:
            facts = await rebuild_rollups(conn)
            log.info("rollups built from the stored facts", facts=facts)
            return True
        if not fine_ready:
            facts = await rebuild_fine(conn)
            log.info("fine histogram rows built from the stored facts", facts=facts)
            return True
        return False
