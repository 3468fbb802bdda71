"""Appeals in PostgreSQL (schema ``intake``)."""

from __future__ import annotations

import uuid

import asyncpg
from civicgrid_shared.contracts.events import Channel, TerritoryRef
from civicgrid_shared.db.pool import Conn

from civicgrid_intake.domain.model import Appeal

_COLUMNS = """a.appeal_id, a.tracking_code, a.channel, a.external_id, a.received_at,
    a.occurred_at, a.title, a.content, a.matter_code, a.matter_confidence, a.county_code,
    a.township_code, a.community_code, a.grid_code, a.resolved_on_spot, a.grid_worker_id,
    a.status, c.phone_e164, c.phone_masked"""


def _to_appeal(row: asyncpg.Record) -> Appeal:
    return Appeal(
        appeal_id=row["appeal_id"],
        tracking_code=row["tracking_code"],
        channel=Channel(row["channel"]),
        external_id=row["external_id"],
        received_at=row["received_at"],
        occurred_at=row["occurred_at"],
        title=row["title"],
        content=row["content"],
        matter_code=row["matter_code"],
        matter_confidence=row["matter_confidence"],
        territory=TerritoryRef(
            county_code=row["county_code"], township_code=row["township_code"],
            community_code=row["community_code"], grid_code=row["grid_code"],
        ),
        contact_phone_e164=row["phone_e164"],
        contact_phone_masked=row["phone_masked"],
        resolved_on_spot=row["resolved_on_spot"],
        grid_worker_id=row["grid_worker_id"],
        status=row["status"],
    )


class AppealRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def add(self, appeal: Appeal, latitude: float | None, longitude: float | None) -> bool:
        """Insert; False when (channel, external id) already exists (nothing written)."""
        t = appeal.territory
        inserted = await self._conn.fetchval(
            """
            INSERT INTO appeals (appeal_id, tracking_code, channel, external_id, received_at,
                occurred_at, title, content, matter_code, matter_confidence, county_code,
                township_code, community_code, grid_code, latitude, longitude,
                resolved_on_spot, grid_worker_id, status)
            VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)
            ON CONFLICT (channel, external_id) WHERE external_id IS NOT NULL DO NOTHING
            RETURNING true
            """,
            appeal.appeal_id, appeal.tracking_code, appeal.channel.value, appeal.external_id,
            appeal.received_at, appeal.occurred_at, appeal.title, appeal.content,
            appeal.matter_code, appeal.matter_confidence, t.county_code, t.township_code,
            t.community_code, t.grid_code, latitude, longitude, appeal.resolved_on_spot,
            appeal.grid_worker_id, appeal.status,
        )
        if not inserted:
            return False
        if appeal.contact_phone_e164 is not None:
            await self._conn.execute(
                "INSERT INTO appeal_contacts (appeal_id, phone_e164, phone_masked) "
                "VALUES ($1, $2, $3)",
                appeal.appeal_id, appeal.contact_phone_e164, appeal.contact_phone_masked,
            )
        return True

    async def by_external_id(self, channel: Channel, external_id: str) -> Appeal | None:
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM appeals a LEFT JOIN appeal_contacts c USING (appeal_id) "  # noqa: S608
            "WHERE a.channel = $1 AND a.external_id = $2",
            channel.value, external_id,
        )
        return _to_appeal(row) if row else None

    async def by_tracking_code(self, tracking_code: str) -> Appeal | None:
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM appeals a LEFT JOIN appeal_contacts c USING (appeal_id) "  # noqa: S608
            "WHERE a.tracking_code = $1",
            tracking_code,
        )
        return _to_appeal(row) if row else None

    async def get(self, appeal_id: uuid.UUID) -> Appeal | None:
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM appeals a LEFT JOIN appeal_contacts c USING (appeal_id) "  # noqa: S608
            "WHERE a.appeal_id = $1",
            appeal_id,
        )
        return _to_appeal(row) if row else None
