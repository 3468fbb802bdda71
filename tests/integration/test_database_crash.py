"""A database killed mid-transaction: every failure a unit of work raises is transient.

Routes answer 503 (retry) for transient faults and 500 for anything else, and consumers
retry transient faults but dead-letter the rest. So when PostgreSQL dies under load, no
error that reaches a caller may look like a defect. This once failed: asyncpg's pool,
resetting a connection the server had just dropped, raised InternalClientError
("another operation is in progress") from ``release``, which became a 500; and a
connection dropped between acquire and BEGIN was never given back to the pool.
"""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

import asyncpg
import pytest
from civicgrid_shared.db.uow import UnitOfWork
from civicgrid_shared.errors import is_transient
from civicgrid_stack.ports import Ports
from civicgrid_stack.postgres import PostgresCluster

pytestmark = pytest.mark.integration

WORKERS = 40
CRASHES = 6
POOL_SIZE = 10


def _chain(exc: BaseException) -> str:
    names, seen, current = [], set(), exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return " <- ".join(names)


async def test_every_error_of_a_crash_is_transient(tmp_path: Path) -> None:
    pg = PostgresCluster(tmp_path / "pg", Ports.free().postgres, echo=print)
    await asyncio.to_thread(pg.start)
    try:
        setup = await asyncpg.connect(pg.dsn())
        await setup.execute("CREATE TABLE crash_probe (v int)")
        await setup.close()
        pool = await asyncpg.create_pool(pg.dsn(), min_size=2, max_size=POOL_SIZE,
                                         command_timeout=30)
        assert pool is not None
        stop = asyncio.Event()
        committed = 0
        transient: collections.Counter[str] = collections.Counter()
        defects: list[str] = []

        async def work() -> None:
            nonlocal committed
            while not stop.is_set():
                try:
                    async with UnitOfWork(pool, "public", "crash-test") as uow:
                        await uow.conn.executemany("INSERT INTO crash_probe VALUES ($1)",
                                                   [(i,) for i in range(20)])
                        await uow.conn.execute("SELECT pg_notify('crash_probe', '')")
                        await uow.commit()
                    committed += 1
                except Exception as exc:
                    if is_transient(exc):
                        transient[type(exc).__name__] += 1
                    else:
                        defects.append(_chain(exc))
                    await asyncio.sleep(0.05)

        workers = [asyncio.create_task(work()) for _ in range(WORKERS)]
        for crash in range(CRASHES):
            await asyncio.sleep(1.5)
            before = committed
            await asyncio.to_thread(pg.kill)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(pg.start)
            print(f"crash {crash + 1}: {before} transactions committed before it; "
                  f"transient errors so far {dict(transient)}")
        await asyncio.sleep(2.0)
        after_recovery = committed
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*workers)
        # Every connection must have come back: the pool can still lend all ten at once.
        lent: list[object] = []
        try:
            for _ in range(POOL_SIZE):
                lent.append(await pool.acquire(timeout=5))
        except TimeoutError:
            pass
        finally:
            for conn in lent:
                await pool.release(conn)
        if len(lent) == POOL_SIZE:
            await pool.close()
        else:
            pool.terminate()  # close() would wait forever for the lost ones
        assert not defects, f"errors a caller would take for defects: {defects[:5]}"
        assert sum(transient.values()) > 0, "the crashes were not felt: the test proves nothing"
        assert committed > after_recovery, "work did not resume after the last crash"
        assert len(lent) == POOL_SIZE, f"{POOL_SIZE - len(lent)} connection(s) never returned"
    finally:
        await asyncio.to_thread(pg.stop)
