"""The unit of work: one PostgreSQL transaction for a state change and its events.

Handlers never publish: they ``emit`` events into the unit of work, which writes them
to the outbox in the same transaction as the state change (cosmicpython's pattern,
with the outbox in place of an in-process message bus).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import asyncpg

from civicgrid_shared.contracts.envelope import EventPayload, OutgoingEvent, new_event
from civicgrid_shared.db import inbox, outbox
from civicgrid_shared.db.pool import Conn
from civicgrid_shared.errors import safe_reason
from civicgrid_shared.logs import get_logger

log = get_logger(__name__)


class UnitOfWork:
    """Base unit of work; services subclass it to attach their repositories in ``_bind``."""

    def __init__(self, pool: asyncpg.Pool, schema: str, source: str, *,
                 generic_plans: bool = False) -> None:
        self._pool = pool
        self.schema = schema
        self.source = source
        # For batch writers. Statements bound to arrays are planned anew at every execution
        # under PostgreSQL's default plan_cache_mode (it keeps preferring custom plans for
        # them): measured at 100 appeals/s, planning was half of PostgreSQL's CPU, 12 ms
        # per execution of analytics' rollup statement. A generic plan is made once per
        # connection and statement; these statements' plans do not depend on the values.
        self._generic_plans = generic_plans
        self._conn: asyncpg.pool.PoolConnectionProxy | None = None
        self._tx: asyncpg.transaction.Transaction | None = None
        self._events: list[OutgoingEvent] = []
        self._committed = False

    @property
    def conn(self) -> asyncpg.Connection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._conn  # type: ignore[return-value]

    def _bind(self, conn: Conn) -> None:
        """Attach repositories to the connection (override in services)."""

    async def __aenter__(self) -> Self:
        conn = await self._pool.acquire()
        try:
            tx = conn.transaction()
            await tx.start()
            if self._generic_plans:
                await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        except BaseException:
            # __aexit__ does not run when __aenter__ fails: give the connection back here,
            # or a server dropping it between acquire and BEGIN shrinks the pool for good.
            await self._release(conn)
            raise
        self._conn, self._tx = conn, tx
        self._events = []
        self._committed = False
        self._bind(self.conn)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, tx = self._conn, self._tx
        self._conn = None
        self._tx = None
        try:
            if tx is not None and not self._committed:
                try:
                    await tx.rollback()
                except Exception:
                    if exc is None:
                        raise
                    # The connection died with the work: the first error is the one to tell.
        finally:
            if conn is not None:
                await self._release(conn)

    async def _release(self, conn: asyncpg.pool.PoolConnectionProxy) -> None:
        try:
            await self._pool.release(conn)
        except Exception as release_error:
            # The pool has already terminated the broken connection and will open a new
            # one; what this unit of work committed (or not) stands either way.
            log.warning("connection not returned cleanly; the pool replaced it",
                        reason=safe_reason(release_error))

    def emit(
        self,
        payload: EventPayload,
        *,
        topic: str,
        key: str,
        correlation_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
        subject: str | None = None,
    ) -> OutgoingEvent:
        """Queue an event; it is written to the outbox when the unit of work commits."""
        event = new_event(
            payload, topic=topic, key=key, source=self.source, subject=subject,
            correlation_id=correlation_id, causation_id=causation_id,
        )
        self._events.append(event)
        return event

    async def claim(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Inbox claim in this transaction: returns the ids not processed before."""
        return await inbox.claim(self.conn, consumer, event_ids)

    async def flush(self) -> None:
        """Write what the repositories buffered (services that buffer override this)."""

    async def commit(self) -> None:
        if self._tx is None:
            raise RuntimeError("unit of work used outside 'async with'")
        await self.flush()
        await outbox.append(self.conn, self._events, self.schema)
        await self._tx.commit()
        self._committed = True
        self._events = []

    @property
    def pending_events(self) -> list[OutgoingEvent]:
        return list(self._events)
