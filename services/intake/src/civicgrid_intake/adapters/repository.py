"""Appeals, intake's view of cases, progress notes and call-backs (schema ``intake``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from civicgrid_shared.contracts.events import Channel, HistoricalRecord, TerritoryRef
from civicgrid_shared.db.pool import Conn

from civicgrid_intake.domain.duplicates import OpenCase
from civicgrid_intake.domain.model import Appeal

_COLUMNS = """a.appeal_id, a.tracking_code, a.channel, a.external_id, a.received_at,
    a.occurred_at, a.title, a.content, a.matter_code, a.matter_confidence, a.county_code,
    a.township_code, a.community_code, a.grid_code, a.resolved_on_spot, a.grid_worker_id,
    a.status, a.resolution_note, a.callback_consent, a.duplicate_of_case_id, a.case_id,
    a.history, a.latitude, a.longitude, c.phone_e164, c.phone_masked"""
_FROM = "FROM appeals a LEFT JOIN appeal_contacts c USING (appeal_id)"


def _to_appeal(row: asyncpg.Record) -> Appeal:
    history = row["history"]
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
        resolution_note=row["resolution_note"],
        callback_consent=row["callback_consent"],
        duplicate_of_case_id=row["duplicate_of_case_id"],
        case_id=row["case_id"],
        history=HistoricalRecord.model_validate_json(history) if history else None,
        latitude=row["latitude"],
        longitude=row["longitude"],
    )


@dataclass(frozen=True)
class ProgressNote:
    at: datetime
    kind: str
    note: str


@dataclass(frozen=True)
class CaseProbe:
    """Where to look for open cases an appeal may repeat."""

    matter_code: str
    received_from: datetime
    received_to: datetime
    bbox: tuple[float, float, float, float] | None
    grid_code: str | None
    phone_e164: str | None


@dataclass(frozen=True)
class ListFilter:
    """Open311 GET requests.json filters (None: no filter)."""

    appeal_ids: Sequence[uuid.UUID] | None = None
    matter_code: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: Sequence[str] | None = None
    limit: int = 1000


class AppealRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def add_many(self, appeals: Sequence[Appeal]) -> set[uuid.UUID]:
        """Insert in one statement; returns the ids inserted (a (channel, external id)
        that exists already, or is taken by a concurrent transaction, is left out)."""
        if not appeals:
            return set()
        cols: list[list[object]] = [[] for _ in range(23)]
        for a in appeals:
            t = a.territory
            values = (a.appeal_id, a.tracking_code, a.channel.value, a.external_id,
                      a.received_at, a.occurred_at, a.title, a.content, a.matter_code,
                      a.matter_confidence, t.county_code, t.township_code, t.community_code,
                      t.grid_code, a.latitude, a.longitude, a.resolved_on_spot,
                      a.grid_worker_id, a.status, a.resolution_note, a.callback_consent,
                      a.duplicate_of_case_id,
                      a.history.model_dump_json() if a.history else None)
            for col, value in zip(cols, values, strict=True):
                col.append(value)
        rows = await self._conn.fetch(
            """
            INSERT INTO appeals (appeal_id, tracking_code, channel, external_id, received_at,
                occurred_at, title, content, matter_code, matter_confidence, county_code,
                township_code, community_code, grid_code, latitude, longitude,
                resolved_on_spot, grid_worker_id, status, resolution_note, callback_consent,
                duplicate_of_case_id, history)
            SELECT u.appeal_id, u.tracking_code, u.channel, u.external_id, u.received_at,
                u.occurred_at, u.title, u.content, u.matter_code, u.matter_confidence,
                u.county_code, u.township_code, u.community_code, u.grid_code, u.latitude,
                u.longitude, u.resolved_on_spot, u.grid_worker_id, u.status,
                u.resolution_note, u.callback_consent, u.duplicate_of_case_id,
                u.history::jsonb
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                        $6::timestamptz[], $7::text[], $8::text[], $9::text[], $10::real[],
                        $11::text[], $12::text[], $13::text[], $14::text[],
                        $15::float8[], $16::float8[], $17::bool[], $18::text[], $19::text[],
                        $20::text[], $21::bool[], $22::uuid[], $23::text[])
                AS u(appeal_id, tracking_code, channel, external_id, received_at,
                     occurred_at, title, content, matter_code, matter_confidence,
                     county_code, township_code, community_code, grid_code, latitude,
                     longitude, resolved_on_spot, grid_worker_id, status, resolution_note,
                     callback_consent, duplicate_of_case_id, history)
            ON CONFLICT (channel, external_id) WHERE external_id IS NOT NULL DO NOTHING
            RETURNING appeal_id
            """, *cols)
        inserted = {r["appeal_id"] for r in rows}
        contacts = [(a.appeal_id, a.contact_phone_e164, a.contact_phone_masked)
                    for a in appeals
                    if a.appeal_id in inserted and a.contact_phone_e164 is not None]
        if contacts:
            await self._conn.execute(
                "INSERT INTO appeal_contacts (appeal_id, phone_e164, phone_masked) "
                "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])",
                *(list(c) for c in zip(*contacts, strict=True)))
        media = [(a.appeal_id, i, ref) for a in appeals if a.appeal_id in inserted
                 for i, ref in enumerate(a.media)]
        if media:
            await self._conn.execute(
                "INSERT INTO appeal_media (appeal_id, position, ref) "
                "SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[])",
                *(list(c) for c in zip(*media, strict=True)))
        return inserted

    async def by_external_ids(self, keys: Sequence[tuple[Channel, str]]
                              ) -> dict[tuple[Channel, str], Appeal]:
        if not keys:
            return {}
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} {_FROM} "
            "JOIN unnest($1::text[], $2::text[]) AS k(channel, external_id) "
            "ON a.channel = k.channel AND a.external_id = k.external_id",
            [c.value for c, _ in keys], [e for _, e in keys])
        found = [_to_appeal(r) for r in rows]
        return {(a.channel, a.external_id): a for a in found if a.external_id is not None}

    async def _one(self, where: str, *args: object) -> Appeal | None:
        row = await self._conn.fetchrow(f"SELECT {_COLUMNS} {_FROM} WHERE {where}", *args)
        return _to_appeal(row) if row else None

    async def by_external_id(self, channel: Channel, external_id: str) -> Appeal | None:
        return await self._one("a.channel = $1 AND a.external_id = $2",
                               channel.value, external_id)

    async def by_tracking_code(self, tracking_code: str) -> Appeal | None:
        return await self._one("a.tracking_code = $1", tracking_code)

    async def get(self, appeal_id: uuid.UUID, for_update: bool = False) -> Appeal | None:
        if for_update:
            await self._conn.execute("SELECT 1 FROM appeals WHERE appeal_id = $1 FOR UPDATE",
                                     appeal_id)
        return await self._one("a.appeal_id = $1", appeal_id)

    async def triage_queue(self, limit: int) -> list[Appeal]:
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} {_FROM} WHERE a.status = 'triage' "
            "ORDER BY a.received_at LIMIT $1", limit)
        return [_to_appeal(r) for r in rows]

    async def classify(self, appeal: Appeal) -> None:
        """Store the outcome of a manual classification (matter, status, duplicate)."""
        await self._conn.execute(
            "UPDATE appeals SET matter_code = $2, matter_confidence = $3, status = $4, "
            "duplicate_of_case_id = $5, updated_at = now() WHERE appeal_id = $1",
            appeal.appeal_id, appeal.matter_code, appeal.matter_confidence, appeal.status,
            appeal.duplicate_of_case_id)

    async def open_cases_for(self, probes: Sequence[CaseProbe]) -> dict[int, list[OpenCase]]:
        """Open cases each appeal may repeat (same matter, near in space and time, or the
        same phone), for many appeals in one round trip, keyed by position. The exact
        test is domain.duplicates.find_duplicate."""
        if not probes:
            return {}
        cols: list[list[object]] = [[] for _ in range(10)]
        for i, p in enumerate(probes):
            min_lat, max_lat, min_lon, max_lon = p.bbox or (0.0, -1.0, 0.0, -1.0)
            for col, value in zip(cols, (i, p.matter_code, p.received_from, p.received_to,
                                         min_lat, max_lat, min_lon, max_lon, p.grid_code,
                                         p.phone_e164), strict=True):
                col.append(value)
        rows = await self._conn.fetch(
            """
            SELECT q.i, m.* FROM unnest($1::int[], $2::text[], $3::timestamptz[],
                $4::timestamptz[], $5::float8[], $6::float8[], $7::float8[], $8::float8[],
                $9::text[], $10::text[])
                AS q(i, matter, t0, t1, min_lat, max_lat, min_lon, max_lon, grid, phone)
            CROSS JOIN LATERAL (
                (SELECT k.case_id, k.matter_code, a.received_at, a.latitude, a.longitude,
                        a.grid_code, c.phone_e164
                 FROM appeals a
                 JOIN cases k ON k.appeal_id = a.appeal_id AND k.is_open
                     AND k.matter_code = q.matter
                 LEFT JOIN appeal_contacts c ON c.appeal_id = a.appeal_id
                 WHERE a.matter_code = q.matter
                   AND a.latitude BETWEEN q.min_lat AND q.max_lat
                   AND a.longitude BETWEEN q.min_lon AND q.max_lon
                   AND a.received_at BETWEEN q.t0 AND q.t1
                 LIMIT 50)
                UNION
                (SELECT k.case_id, k.matter_code, a.received_at, a.latitude, a.longitude,
                        a.grid_code, c.phone_e164
                 FROM appeals a
                 JOIN cases k ON k.appeal_id = a.appeal_id AND k.is_open
                     AND k.matter_code = q.matter
                 LEFT JOIN appeal_contacts c ON c.appeal_id = a.appeal_id
                 WHERE a.matter_code = q.matter AND a.grid_code = q.grid
                   AND a.received_at BETWEEN q.t0 AND q.t1
                 LIMIT 50)
                UNION
                (SELECT k.case_id, k.matter_code, a.received_at, a.latitude, a.longitude,
                        a.grid_code, c.phone_e164
                 FROM appeal_contacts c
                 JOIN appeals a ON a.appeal_id = c.appeal_id
                 JOIN cases k ON k.appeal_id = a.appeal_id AND k.is_open
                     AND k.matter_code = q.matter
                 WHERE c.phone_e164 = q.phone
                 LIMIT 50)
            ) AS m
            """, *cols)
        found: dict[int, list[OpenCase]] = {}
        for r in rows:
            found.setdefault(r["i"], []).append(OpenCase(
                r["case_id"], r["matter_code"], r["received_at"], r["latitude"],
                r["longitude"], r["grid_code"], r["phone_e164"]))
        return found

    # -- what the citizen sees --------------------------------------------------------

    async def progress(self, appeal_id: uuid.UUID) -> list[ProgressNote]:
        rows = await self._conn.fetch(
            "SELECT at, kind, note FROM appeal_progress WHERE appeal_id = $1 "
            "ORDER BY at, seq", appeal_id)
        return [ProgressNote(r["at"], r["kind"], r["note"]) for r in rows]

    async def add_callback(self, callback_id: uuid.UUID, appeal_id: uuid.UUID,
                           case_id: uuid.UUID | None, solved: bool, satisfaction: str,
                           comment: str | None, at: datetime) -> None:
        await self._conn.execute(
            "INSERT INTO callbacks (callback_id, appeal_id, case_id, solved, satisfaction, "
            "comment, answered_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            callback_id, appeal_id, case_id, solved, satisfaction, comment, at)

    async def listing(self, f: ListFilter) -> list[Appeal]:
        clauses = ["a.status <> 'triage'"]
        args: list[object] = []

        def arg(value: object) -> str:
            args.append(value)
            return f"${len(args)}"

        if f.appeal_ids is not None:
            clauses.append(f"a.appeal_id = ANY({arg(list(f.appeal_ids))}::uuid[])")
        else:
            if f.matter_code is not None:
                clauses.append(f"a.matter_code = {arg(f.matter_code)}")
            if f.start is not None:
                clauses.append(f"a.received_at >= {arg(f.start)}")
            if f.end is not None:
                clauses.append(f"a.received_at <= {arg(f.end)}")
            if f.statuses is not None:
                clauses.append(f"a.status = ANY({arg(list(f.statuses))}::text[])")
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} {_FROM} WHERE {' AND '.join(clauses)} "
            f"ORDER BY a.received_at DESC LIMIT {arg(f.limit)}", *args)
        return [_to_appeal(r) for r in rows]
