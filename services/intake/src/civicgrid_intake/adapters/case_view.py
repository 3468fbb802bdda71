"""Intake's view of dispatch's cases and the citizen's progress notes, written per batch.

Every case event changes an appeal's status and adds a progress note; written one
statement at a time, that was two or three round trips per event, and the cases
consumer took about a quarter of intake's time under load. Changes are kept here and
written by ``flush`` (called by the unit of work before it commits) with one statement
per table: the latest status of each appeal, the latest open flag of each case, every
note in order. Within a batch, reads see what is kept (``case_number``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from civicgrid_shared.db.pool import Conn


class CaseView:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._cases: dict[uuid.UUID, tuple[uuid.UUID, str, str, datetime]] = {}
        self._open: dict[uuid.UUID, tuple[bool, datetime]] = {}
        self._status: dict[uuid.UUID, tuple[str, uuid.UUID | None]] = {}
        self._notes: list[tuple[uuid.UUID, uuid.UUID, datetime, str, str]] = []

    def case_registered(self, case_id: uuid.UUID, appeal_id: uuid.UUID, case_number: str,
                        matter_code: str, at: datetime) -> None:
        self._cases[case_id] = (appeal_id, case_number, matter_code, at)

    def set_case_open(self, case_id: uuid.UUID, is_open: bool, at: datetime) -> None:
        self._open[case_id] = (is_open, at)

    def set_status(self, appeal_id: uuid.UUID, status: str,
                   case_id: uuid.UUID | None = None) -> None:
        earlier = self._status.get(appeal_id)
        if case_id is None and earlier is not None:
            case_id = earlier[1]  # as COALESCE(new, current) would keep it
        self._status[appeal_id] = (status, case_id)

    def add_progress(self, event_id: uuid.UUID, appeal_id: uuid.UUID, at: datetime,
                     kind: str, note: str) -> None:
        self._notes.append((event_id, appeal_id, at, kind, note))

    async def case_number(self, case_id: uuid.UUID) -> str | None:
        kept = self._cases.get(case_id)
        if kept is not None:
            return kept[1]
        value = await self._conn.fetchval("SELECT case_number FROM cases WHERE case_id = $1",
                                          case_id)
        return str(value) if value is not None else None

    async def flush(self) -> None:
        if self._cases:
            ids = list(self._cases)
            rows = [self._cases[i] for i in ids]
            await self._conn.execute(
                """
                INSERT INTO cases (case_id, appeal_id, case_number, matter_code, opened_at,
                                   updated_at)
                SELECT c, a, n, m, t, t
                FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[],
                            $5::timestamptz[]) AS v(c, a, n, m, t)
                ON CONFLICT (case_id) DO UPDATE SET appeal_id = EXCLUDED.appeal_id,
                    case_number = EXCLUDED.case_number, matter_code = EXCLUDED.matter_code
                """, ids, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                [r[3] for r in rows])
        if self._open:
            ids = list(self._open)
            await self._conn.execute(
                """
                UPDATE cases k SET is_open = v.o, updated_at = v.t
                FROM unnest($1::uuid[], $2::bool[], $3::timestamptz[]) AS v(c, o, t)
                WHERE k.case_id = v.c
                """, ids, [self._open[i][0] for i in ids], [self._open[i][1] for i in ids])
        if self._status:
            ids = list(self._status)
            await self._conn.execute(
                """
                UPDATE appeals a SET status = v.s, case_id = COALESCE(v.c, a.case_id),
                                     updated_at = now()
                FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS v(id, s, c)
                WHERE a.appeal_id = v.id
                """, ids, [self._status[i][0] for i in ids], [self._status[i][1] for i in ids])
        if self._notes:
            notes = self._notes
            # WITH ORDINALITY + ORDER BY: notes get their sequence numbers in event order.
            await self._conn.execute(
                """
                INSERT INTO appeal_progress (event_id, appeal_id, at, kind, note)
                SELECT e, a, t, k, n
                FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[])
                     WITH ORDINALITY AS v(e, a, t, k, n, i)
                ORDER BY i
                ON CONFLICT (event_id) DO NOTHING
                """, [n[0] for n in notes], [n[1] for n in notes], [n[2] for n in notes],
                [n[3] for n in notes], [n[4] for n in notes])
        self._cases, self._open, self._status, self._notes = {}, {}, {}, []
