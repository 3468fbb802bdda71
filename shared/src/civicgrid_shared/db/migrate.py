"""Schema migrations with yoyo: the shared delivery tables, then the service's own.

Each service owns one schema; yoyo keeps its bookkeeping tables inside that schema,
so services migrate independently and never touch each other's tables.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg
from yoyo import get_backend, read_migrations

from civicgrid_shared.db.pool import check_schema

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"


def _yoyo_url(dsn: str, schema: str) -> str:
    parts = urlsplit(dsn)
    scheme = "postgresql+psycopg"
    query = urlencode({"schema": schema})
    return urlunsplit((scheme, parts.netloc, parts.path, query, ""))


def _apply(dsn: str, schema: str, service_migrations: Path) -> int:
    backend = get_backend(_yoyo_url(dsn, schema))
    migrations = read_migrations(str(SHARED_MIGRATIONS), str(service_migrations))
    with backend.lock():
        todo = backend.to_apply(migrations)
        backend.apply_migrations(todo)
    return len(todo)


async def migrate(dsn: str, schema: str, service_migrations: Path) -> int:
    """Create the schema if needed and apply pending migrations; returns how many ran."""
    check_schema(schema)
    conn = await asyncpg.connect(dsn)
    try:
        # Two instances starting together must not race on CREATE SCHEMA.
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('civicgrid-schema'))")
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    finally:
        await conn.close()
    return await asyncio.to_thread(_apply, dsn, schema, service_migrations)
