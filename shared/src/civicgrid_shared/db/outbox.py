"""The outbox table: events written with the state change, published by the relay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from civicgrid_shared.contracts.envelope import OutgoingEvent
from civicgrid_shared.db.pool import Conn

NOTIFY_CHANNEL_PREFIX = "outbox_"


def notify_channel(schema: str) -> str:
    return f"{NOTIFY_CHANNEL_PREFIX}{schema}"


async def append(conn: Conn, events: Sequence[OutgoingEvent], schema: str) -> None:
    """Insert events in the caller's transaction; the relay is woken at commit."""
    if not events:
        return
    await conn.executemany(
        """
        INSERT INTO outbox (event_id, topic, key, event_type, header_names, header_values,
                            value)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        [(e.event_id, e.topic, e.key, e.event_type, [k for k, _ in e.headers],
          [v for _, v in e.headers], e.value) for e in events],
    )
    # NOTIFY is delivered only on commit, so the relay never wakes for rolled-back rows.
    await conn.execute("SELECT pg_notify($1, '')", notify_channel(schema))


@dataclass(frozen=True)
class PendingRow:
    id: int
    topic: str
    key: str
    headers: list[tuple[str, bytes]]
    value: bytes
    created_at_epoch: float


async def claim_unpublished(conn: Conn, limit: int) -> list[PendingRow]:
    """Lock the oldest unpublished rows (in the caller's transaction), in id order.

    Rows are selected by ``published_at IS NULL``, never by "id greater than the last
    one sent", so a row whose transaction commits after a higher id is still sent.
    """
    rows = await conn.fetch(
        """
        SELECT id, topic, key, header_names, header_values, value,
               extract(epoch FROM created_at) AS created
        FROM outbox
        WHERE published_at IS NULL
        ORDER BY id
        LIMIT $1
        FOR UPDATE SKIP LOCKED
        """,
        limit,
    )
    return [
        PendingRow(r["id"], r["topic"], r["key"],
                   list(zip(r["header_names"], r["header_values"], strict=True)), r["value"],
                   float(r["created"]))
        for r in rows
    ]


async def mark_published(conn: Conn, ids: Sequence[int]) -> None:
    await conn.execute(
        "UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])", list(ids)
    )


async def mark_unpublished(conn: Conn, ids: Sequence[int]) -> None:
    """Send these rows again (their acknowledgement may have come from a broker that then
    lost them)."""
    await conn.execute(
        "UPDATE outbox SET published_at = NULL WHERE id = ANY($1::bigint[])", list(ids)
    )


async def redrive_since(conn: Conn, seconds: float) -> int:
    """Mark recently published rows unpublished again (the broker lost them).

    Consumers' inboxes make the second delivery harmless.
    """
    result = await conn.execute(
        """
        UPDATE outbox SET published_at = NULL
        WHERE published_at IS NOT NULL
          AND published_at > clock_timestamp() - make_interval(secs => $1)
        """,
        seconds,
    )
    return int(result.split()[-1])


async def purge_published(conn: Conn, older_than_s: float) -> int:
    result = await conn.execute(
        """
        DELETE FROM outbox
        WHERE published_at IS NOT NULL
          AND published_at < clock_timestamp() - make_interval(secs => $1)
        """,
        older_than_s,
    )
    return int(result.split()[-1])


async def backlog(conn: Conn) -> tuple[int, float]:
    """How many rows wait, and the age in seconds of the oldest."""
    row = await conn.fetchrow(
        """
        SELECT count(*) AS n,
               coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0) AS age
        FROM outbox WHERE published_at IS NULL
        """
    )
    assert row is not None
    return int(row["n"]), float(row["age"])
