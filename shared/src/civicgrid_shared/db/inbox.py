"""The inbox: which events a consumer has already processed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from civicgrid_shared.db.pool import Conn


async def claim(
    conn: Conn, consumer: str, event_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Record the events as processed; return those seen for the first time.

    Must run inside the transaction that applies their effects: if that transaction
    rolls back, the claim rolls back with it and the events are processed again.

    The rows go in in event-id order: two consumers claiming overlapping events at once
    (an event sent twice, a batch redelivered to a second instance during a rebalance)
    then wait for each other instead of deadlocking.
    """
    if not event_ids:
        return set()
    rows = await conn.fetch(
        """
        INSERT INTO inbox (consumer, event_id)
        SELECT $1, e FROM unnest($2::uuid[]) AS e ORDER BY e
        ON CONFLICT DO NOTHING
        RETURNING event_id
        """,
        consumer,
        list(event_ids),
    )
    return {row["event_id"] for row in rows}
