"""Cases in PostgreSQL (schema ``dispatch``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from civicgrid_shared.db.pool import Conn

from civicgrid_dispatch.domain.case import Case


class CaseRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def next_case_number(self, at: datetime) -> str:
        seq = await self._conn.fetchval("SELECT nextval('case_number_seq')")
        return f"{at:%Y%m%d}{int(seq):08d}"

    async def exists_for_appeal(self, appeal_id: uuid.UUID) -> bool:
        return bool(await self._conn.fetchval(
            "SELECT true FROM cases WHERE appeal_id = $1", appeal_id))

    async def add(self, case: Case) -> None:
        t = case.territory
        await self._conn.execute(
            """
            INSERT INTO cases (case_id, appeal_id, case_number, state, channel, matter_code,
                category_code, priority, county_code, township_code, community_code, grid_code,
                unit_id, tier, received_at, registered_at, assigned_at, sign_for_due,
                resolve_due)
            VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)
            """,
            case.case_id, case.appeal_id, case.case_number, case.state.value,
            case.channel.value, case.matter_code, case.category_code, case.priority,
            t.county_code, t.township_code, t.community_code, t.grid_code, case.unit_id,
            case.tier, case.received_at, case.registered_at, case.assigned_at,
            case.sign_for_due, case.resolve_due,
        )
        await self._conn.executemany(
            "INSERT INTO case_transitions (case_id, seq, from_state, to_state, at, reason) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            [(case.case_id, i + 1, tr.from_state.value, tr.to_state.value, tr.at, tr.reason)
             for i, tr in enumerate(case.transitions)],
        )
