"""The inbox on the real PostgreSQL: two consumers claiming overlapping events at once (a
batch redelivered to a second instance during a rebalance, or an event sent twice) wait
for each other and never deadlock; each event is fresh for exactly one of them."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest
from civicgrid_shared.db import inbox
from civicgrid_shared.db.migrate import migrate
from civicgrid_stack.stack import Stack

pytestmark = pytest.mark.integration


async def test_overlapping_claims_at_once_wait_and_never_deadlock(
        stack: Stack, tmp_path: Path) -> None:
    dsn = stack.postgres.dsn()
    schema = f"inbox_{uuid.uuid4().hex[:8]}"
    await migrate(dsn, schema, tmp_path)  # the shared delivery tables only
    conns = [await asyncpg.connect(dsn, server_settings={"search_path": schema})
             for _ in range(2)]
    try:
        for _ in range(3):
            ids = [uuid.uuid4() for _ in range(20_000)]

            async def claim(conn: asyncpg.Connection, order: list[uuid.UUID]
                            ) -> set[uuid.UUID]:
                async with conn.transaction():
                    return await inbox.claim(conn, "consumer", order)

            # in opposite orders: inserted as given, the two statements meet halfway,
            # each waiting for a row the other holds
            first, second = await asyncio.gather(claim(conns[0], ids),
                                                 claim(conns[1], ids[::-1]))
            assert first | second == set(ids) and not first & second
    finally:
        for conn in conns:
            await conn.close()
        admin = await asyncpg.connect(dsn)
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
