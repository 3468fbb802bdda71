"""How the services' connections plan statements, on the real PostgreSQL: big statements
are prepared once per connection, and batch writers can ask for generic plans for one
transaction without changing the connection for the next user."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from civicgrid_shared.db.uow import UnitOfWork
from civicgrid_stack.stack import Stack

from tests.integration.helpers import schema_pool

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with schema_pool(stack, "public") as pool:
        yield pool


async def test_a_statement_over_asyncpgs_default_cache_limit_is_prepared_once(
        pool: asyncpg.Pool) -> None:
    marker = uuid.uuid4().hex
    # About 40 KiB of SQL, like analytics' rollup statement (asyncpg caches up to 15 KiB
    # by default and would parse and plan this one again at every execution).
    big = f"SELECT '{marker}' AS marker, " + " + ".join(
        f"($1::int + {i})" for i in range(2500)) + " AS total"
    assert len(big) > 30_000
    async with pool.acquire() as conn:
        for value in range(3):
            row = await conn.fetchrow(big, value)
            assert row is not None and row["total"] == 2500 * value + sum(range(2500))
        prepared = await conn.fetchval(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE $1",
            f"%{marker}%")
    assert prepared == 1


async def test_generic_plans_hold_for_the_unit_of_work_only(pool: asyncpg.Pool) -> None:
    async with UnitOfWork(pool, "public", "/tests", generic_plans=True) as uow:
        assert await uow.conn.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
    async with UnitOfWork(pool, "public", "/tests") as uow:  # the same pooled connection
        assert await uow.conn.fetchval("SHOW plan_cache_mode") == "auto"
