"""Cases, deadlines, summons and applied responses in PostgreSQL (schema ``dispatch``).

Raw SQL on the unit of work's connection. A case that is about to change is read with
``SELECT ... FOR UPDATE``: concurrent changes of one case (a unit response, an HTTP
call, a timer) serialize on its row, and their events enter the outbox in commit order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from civicgrid_shared.contracts.events import Channel, DeadlineKind, Satisfaction, TerritoryRef
from civicgrid_shared.db.pool import Conn

from civicgrid_dispatch.domain.case import Case, CaseState
from civicgrid_dispatch.domain.timers import Deadline, Stage

# Columns written from the case on every save, in this order ($2, $3, ...).
_MUTABLE = (
    "state", "unit_id", "tier", "registered_at", "assigned_at", "sign_for_due", "resolve_due",
    "cooperating_unit_ids", "signed_at", "started_at", "requested_due", "resolved_at", "result",
    "on_the_spot", "callback_due", "called_back_at", "solved", "satisfaction", "closed_at",
    "return_count", "returned_by", "reopen_count", "supervision_level",
)
_FIXED = (
    "case_id", "appeal_id", "case_number", "channel", "matter_code", "category_code",
    "priority", "county_code", "township_code", "community_code", "grid_code", "received_at",
    "historical", "title", "content", "contact_phone_masked", "correlation_id",
)
_SELECT = (
    "SELECT c.*, (SELECT count(*) FROM case_transitions t WHERE t.case_id = c.case_id) "
    "AS n_transitions FROM cases c"
)


def _mutable_values(case: Case) -> list[Any]:
    return [
        case.state.value, case.unit_id, case.tier, case.registered_at, case.assigned_at,
        case.sign_for_due, case.resolve_due, case.cooperating_unit_ids, case.signed_at,
        case.started_at, case.requested_due, case.resolved_at, case.result, case.on_the_spot,
        case.callback_due, case.called_back_at, case.solved,
        case.satisfaction.value if case.satisfaction else None, case.closed_at,
        case.return_count, case.returned_by, case.reopen_count, case.supervision_level,
    ]


def _fixed_values(case: Case) -> list[Any]:
    t = case.territory
    return [
        case.case_id, case.appeal_id, case.case_number, case.channel.value, case.matter_code,
        case.category_code, case.priority, t.county_code, t.township_code, t.community_code,
        t.grid_code, case.received_at, case.historical, case.title, case.content,
        case.contact_phone_masked, case.correlation_id,
    ]


def case_from_row(row: asyncpg.Record) -> Case:
    n = int(row["n_transitions"]) if "n_transitions" in row else 0
    return Case(
        case_id=row["case_id"], appeal_id=row["appeal_id"], case_number=row["case_number"],
        channel=Channel(row["channel"]), matter_code=row["matter_code"],
        category_code=row["category_code"], priority=row["priority"],
        territory=TerritoryRef(county_code=row["county_code"],
                               township_code=row["township_code"],
                               community_code=row["community_code"],
                               grid_code=row["grid_code"]),
        received_at=row["received_at"], state=CaseState(row["state"]), unit_id=row["unit_id"],
        tier=row["tier"], registered_at=row["registered_at"], assigned_at=row["assigned_at"],
        sign_for_due=row["sign_for_due"], resolve_due=row["resolve_due"],
        cooperating_unit_ids=list(row["cooperating_unit_ids"] or ()),
        signed_at=row["signed_at"], started_at=row["started_at"],
        requested_due=row["requested_due"], resolved_at=row["resolved_at"],
        result=row["result"], on_the_spot=row["on_the_spot"], callback_due=row["callback_due"],
        called_back_at=row["called_back_at"], solved=row["solved"],
        satisfaction=Satisfaction(row["satisfaction"]) if row["satisfaction"] else None,
        closed_at=row["closed_at"], return_count=row["return_count"],
        returned_by=list(row["returned_by"] or ()), reopen_count=row["reopen_count"],
        supervision_level=row["supervision_level"], historical=row["historical"],
        title=row["title"], content=row["content"],
        contact_phone_masked=row["contact_phone_masked"], correlation_id=row["correlation_id"],
        stored_seq=n,
    )


@dataclass(frozen=True)
class TransitionRow:
    seq: int
    from_state: str
    to_state: str
    at: datetime
    reason: str | None
    actor: str | None


@dataclass(frozen=True)
class Page:
    cases: list[Case]
    total: int


class CaseRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def next_case_number(self, at: datetime) -> str:
        seq = await self._conn.fetchval("SELECT nextval('case_number_seq')")
        return f"{at:%Y%m%d}{int(seq):08d}"

    async def exists_for_appeal(self, appeal_id: uuid.UUID) -> bool:
        """Registered from this appeal, or the appeal was merged into a case."""
        return bool(await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM cases WHERE appeal_id = $1) "
            "OR EXISTS (SELECT 1 FROM case_appeals WHERE appeal_id = $1)", appeal_id))

    async def add(self, case: Case) -> None:
        cols = _FIXED + _MUTABLE
        params = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
        await self._conn.execute(
            f"INSERT INTO cases ({', '.join(cols)}) VALUES ({params})",  # noqa: S608
            *_fixed_values(case), *_mutable_values(case),
        )
        await self._conn.execute(
            "INSERT INTO case_appeals (appeal_id, case_id, channel, received_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            case.appeal_id, case.case_id, case.channel.value, case.received_at,
        )
        await self._append_transitions(case)

    async def save(self, case: Case) -> None:
        sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(_MUTABLE, start=2))
        await self._conn.execute(
            f"UPDATE cases SET {sets}, version = version + 1, updated_at = now() "  # noqa: S608
            "WHERE case_id = $1",
            case.case_id, *_mutable_values(case),
        )
        await self._append_transitions(case)

    async def _append_transitions(self, case: Case) -> None:
        new = case.new_transitions
        if not new:
            return
        base = case.stored_seq
        await self._conn.executemany(
            "INSERT INTO case_transitions (case_id, seq, from_state, to_state, at, reason, actor) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [(case.case_id, base + i + 1, tr.from_state.value, tr.to_state.value, tr.at,
              tr.reason, tr.actor) for i, tr in enumerate(new)],
        )
        case.saved_transitions = len(case.transitions)
        case.stored_seq = base + len(new)

    async def get(self, case_id: uuid.UUID, *, lock: bool = False,
                  skip_locked: bool = False) -> Case | None:
        """The case; ``lock`` takes its row until the transaction ends. With
        ``skip_locked`` a row another transaction holds reads as None (see ``exists``)."""
        sql = f"{_SELECT} WHERE c.case_id = $1"
        if lock:
            sql += " FOR UPDATE OF c" + (" SKIP LOCKED" if skip_locked else "")
        row = await self._conn.fetchrow(sql, case_id)
        return case_from_row(row) if row is not None else None

    async def exists(self, case_id: uuid.UUID) -> bool:
        return bool(await self._conn.fetchval(
            "SELECT true FROM cases WHERE case_id = $1", case_id))

    async def case_id_for_appeal(self, appeal_id: uuid.UUID) -> uuid.UUID | None:
        found: uuid.UUID | None = await self._conn.fetchval(
            "SELECT case_id FROM case_appeals WHERE appeal_id = $1", appeal_id)
        if found is None:
            found = await self._conn.fetchval(
                "SELECT case_id FROM cases WHERE appeal_id = $1", appeal_id)
        return found

    async def add_merged_appeal(self, case_id: uuid.UUID, appeal_id: uuid.UUID,
                                channel: Channel, received_at: datetime, at: datetime) -> None:
        await self._conn.execute(
            "INSERT INTO case_appeals (appeal_id, case_id, channel, received_at, merged_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            appeal_id, case_id, channel.value, received_at, at,
        )

    async def merged_appeals(self, case_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self._conn.fetch(
            "SELECT appeal_id FROM case_appeals WHERE case_id = $1 AND merged_at IS NOT NULL "
            "ORDER BY merged_at", case_id)
        return [r["appeal_id"] for r in rows]

    async def transitions(self, case_id: uuid.UUID) -> list[TransitionRow]:
        rows = await self._conn.fetch(
            "SELECT seq, from_state, to_state, at, reason, actor FROM case_transitions "
            "WHERE case_id = $1 ORDER BY seq", case_id)
        return [TransitionRow(r["seq"], r["from_state"], r["to_state"], r["at"], r["reason"],
                              r["actor"]) for r in rows]

    async def for_unit(self, unit_id: str, states: Sequence[CaseState] | None, open_only: bool,
                       limit: int, offset: int) -> Page:
        """Cases a unit leads or co-operates on, newest assignment first."""
        where = ["(c.unit_id = $1 OR $1 = ANY (c.cooperating_unit_ids))"]
        args: list[Any] = [unit_id]
        if open_only:
            where.append("c.state NOT IN ('closed', 'rejected', 'merged')")
        if states:
            args.append([s.value for s in states])
            where.append(f"c.state = ANY (${len(args)}::text[])")
        cond = " AND ".join(where)
        total = await self._conn.fetchval(
            f"SELECT count(*) FROM cases c WHERE {cond}", *args)  # noqa: S608
        rows = await self._conn.fetch(
            f"{_SELECT} WHERE {cond} ORDER BY c.assigned_at DESC NULLS LAST, c.case_id "
            f"LIMIT {int(limit)} OFFSET {int(offset)}", *args)
        return Page([case_from_row(r) for r in rows], int(total))

    async def platform_queue(self, platform_id: str, limit: int, offset: int) -> Page:
        """What the city platform must act on: cases it holds for manual dispatch, and
        pending extension requests."""
        cond = ("(c.unit_id = $1 AND c.state IN ('assigned', 'returned', 'escalated')) "
                "OR c.requested_due IS NOT NULL")
        total = await self._conn.fetchval(
            f"SELECT count(*) FROM cases c WHERE {cond}", platform_id)  # noqa: S608
        rows = await self._conn.fetch(
            f"{_SELECT} WHERE {cond} ORDER BY c.updated_at, c.case_id "
            f"LIMIT {int(limit)} OFFSET {int(offset)}", platform_id)
        return Page([case_from_row(r) for r in rows], int(total))


def _deadline(row: asyncpg.Record) -> Deadline:
    return Deadline(deadline_id=row["deadline_id"], case_id=row["case_id"],
                    kind=DeadlineKind(row["kind"]), unit_id=row["unit_id"],
                    due_at=row["due_at"], warn_at=row["warn_at"], stage=Stage(row["stage"]))


class DeadlineRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def schedule(self, case_id: uuid.UUID, kind: DeadlineKind, unit_id: str | None,
                       due_at: datetime, warn_at: datetime | None, next_at: datetime) -> None:
        await self._conn.execute(
            "INSERT INTO deadlines (case_id, kind, unit_id, due_at, warn_at, next_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            case_id, kind.value, unit_id, due_at, warn_at, next_at,
        )

    async def cancel(self, case_id: uuid.UUID, kinds: Sequence[DeadlineKind] | None = None,
                     unit_id: str | None = None) -> int:
        """Retire a case's active deadlines (all, or of these kinds / this unit)."""
        args: list[Any] = [case_id]
        cond = "case_id = $1 AND next_at IS NOT NULL"
        if kinds is not None:
            args.append([k.value for k in kinds])
            cond += f" AND kind = ANY (${len(args)}::text[])"
        if unit_id is not None:
            args.append(unit_id)
            cond += f" AND unit_id = ${len(args)}"
        result = await self._conn.execute(
            f"UPDATE deadlines SET stage = 'cancelled', next_at = NULL, "  # noqa: S608
            f"updated_at = now() WHERE {cond}", *args)
        return int(result.split()[-1])

    async def claim_due(self, now: datetime, limit: int) -> list[Deadline]:
        """Due rows, locked; rows another scheduler holds are skipped, not waited for."""
        rows = await self._conn.fetch(
            "SELECT * FROM deadlines WHERE next_at IS NOT NULL AND next_at <= $1 "
            "ORDER BY next_at LIMIT $2 FOR UPDATE SKIP LOCKED", now, limit)
        return [_deadline(r) for r in rows]

    async def claim_one(self, deadline_id: int, now: datetime) -> Deadline | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM deadlines WHERE deadline_id = $1 AND next_at IS NOT NULL "
            "AND next_at <= $2 FOR UPDATE SKIP LOCKED", deadline_id, now)
        return _deadline(row) if row is not None else None

    async def postpone(self, deadline_id: int, until: datetime) -> None:
        """Look at a deadline that failed again later (it is never dropped)."""
        await self._conn.execute(
            "UPDATE deadlines SET next_at = $2, updated_at = now() "
            "WHERE deadline_id = $1 AND next_at IS NOT NULL", deadline_id, until)

    async def move(self, deadline_id: int, stage: Stage, next_at: datetime | None) -> None:
        await self._conn.execute(
            "UPDATE deadlines SET stage = $2, next_at = $3, updated_at = now() "
            "WHERE deadline_id = $1", deadline_id, stage.value, next_at)

    async def active(self, case_id: uuid.UUID) -> list[Deadline]:
        rows = await self._conn.fetch(
            "SELECT * FROM deadlines WHERE case_id = $1 AND next_at IS NOT NULL "
            "ORDER BY due_at", case_id)
        return [_deadline(r) for r in rows]


class SummonsRepository:
    """County departments summoned to a case (吹哨报到)."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def add(self, case_id: uuid.UUID, unit_id: str, at: datetime,
                  respond_due: datetime) -> None:
        await self._conn.execute(
            "INSERT INTO case_summons (case_id, unit_id, summoned_at, respond_due) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (case_id, unit_id) DO UPDATE SET "
            "summoned_at = EXCLUDED.summoned_at, respond_due = EXCLUDED.respond_due, "
            "responded_at = NULL", case_id, unit_id, at, respond_due)

    async def pending(self, case_id: uuid.UUID, unit_id: str) -> bool:
        return bool(await self._conn.fetchval(
            "SELECT true FROM case_summons WHERE case_id = $1 AND unit_id = $2 "
            "AND responded_at IS NULL", case_id, unit_id))

    async def is_summoned(self, case_id: uuid.UUID, unit_id: str) -> bool:
        return bool(await self._conn.fetchval(
            "SELECT true FROM case_summons WHERE case_id = $1 AND unit_id = $2",
            case_id, unit_id))

    async def respond(self, case_id: uuid.UUID, unit_id: str, at: datetime
                      ) -> datetime | None:
        """Record the department's report; its deadline, or None if it had reported."""
        due: datetime | None = await self._conn.fetchval(
            "UPDATE case_summons SET responded_at = $3 WHERE case_id = $1 AND unit_id = $2 "
            "AND responded_at IS NULL RETURNING respond_due", case_id, unit_id, at)
        return due


class ResponseLog:
    """Unit responses already applied, by the department's response id."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def record(self, response_id: uuid.UUID, case_id: uuid.UUID, unit_id: str,
                     action: str) -> bool:
        """True the first time a response id is seen."""
        row = await self._conn.fetchval(
            "INSERT INTO unit_responses (response_id, case_id, unit_id, action) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
            response_id, case_id, unit_id, action)
        return bool(row)
