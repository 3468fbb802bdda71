"""Cases, deadlines, summons and applied responses in PostgreSQL (schema ``dispatch``).

Raw SQL on the unit of work's connection. A case that is about to change is read with
``SELECT ... FOR UPDATE``: concurrent changes of one case (a unit response, an HTTP
call, a timer) serialize on its row, and their events enter the outbox in commit order.
"""

from __future__ import annotations

import collections
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


_LOCK = "SELECT true FROM cases WHERE case_id = $1 FOR UPDATE"
_LOCK_SKIPPING = _LOCK + " SKIP LOCKED"


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


class PendingWrites:
    """New cases, with their appeal link, transitions and deadlines, written together.

    Registering a batch of appeals would otherwise cost about ten round trips per case;
    buffered, it is one statement per table per batch. Only writes about cases not yet in
    the database wait here, and every other call flushes first, so the repositories
    still read their own writes; reading or merging into a case that is not waiting here
    does not flush, since none of its rows are here. The unit of work flushes before it
    commits.
    """

    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self.cases: dict[uuid.UUID, Case] = {}
        self.appeals: set[uuid.UUID] = set()  # of the cases above
        # Per case: (case_id, kind, unit_id, due_at, warn_at, next_at) rows.
        self.deadlines: dict[uuid.UUID, list[tuple[Any, ...]]] = {}
        # Preloaded for a batch: appeals already registered, and reserved case numbers.
        self.registered_appeals: set[uuid.UUID] = set()
        self.preloaded_appeals: set[uuid.UUID] = set()
        self.case_numbers: collections.deque[int] = collections.deque()

    def add(self, case: Case) -> None:
        self.cases[case.case_id] = case
        self.appeals.add(case.appeal_id)

    def holds(self, case_id: uuid.UUID) -> bool:
        return case_id in self.cases

    async def flush(self) -> None:
        if not self.cases:
            return
        cases, self.cases = list(self.cases.values()), {}
        deadlines = [row for rows in self.deadlines.values() for row in rows]
        self.deadlines = {}
        self.appeals = set()
        cols = _FIXED + _MUTABLE
        params = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
        await self._conn.executemany(
            f"INSERT INTO cases ({', '.join(cols)}) VALUES ({params})",  # noqa: S608
            [(*_fixed_values(c), *_mutable_values(c)) for c in cases])
        await self._conn.executemany(
            "INSERT INTO case_appeals (appeal_id, case_id, channel, received_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            [(c.appeal_id, c.case_id, c.channel.value, c.received_at) for c in cases])
        transitions = [row for c in cases for row in _transition_rows(c)]
        if transitions:
            await self._conn.executemany(_INSERT_TRANSITION, transitions)
        if deadlines:
            await self._conn.executemany(_INSERT_DEADLINE, deadlines)


_INSERT_TRANSITION = (
    "INSERT INTO case_transitions (case_id, seq, from_state, to_state, at, reason, actor) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)")
_INSERT_DEADLINE = (
    "INSERT INTO deadlines (case_id, kind, unit_id, due_at, warn_at, next_at) "
    "VALUES ($1, $2, $3, $4, $5, $6)")


def _transition_rows(case: Case) -> list[tuple[Any, ...]]:
    """The case's unsaved transitions as rows, marking them saved."""
    new = case.new_transitions
    base = case.stored_seq
    case.saved_transitions = len(case.transitions)
    case.stored_seq = base + len(new)
    return [(case.case_id, base + i + 1, tr.from_state.value, tr.to_state.value, tr.at,
             tr.reason, tr.actor) for i, tr in enumerate(new)]


class CaseRepository:
    def __init__(self, conn: Conn, pending: PendingWrites) -> None:
        self._conn = conn
        self._pending = pending

    async def preload(self, appeal_ids: Sequence[uuid.UUID]) -> None:
        """For a batch of appeals: which are registered already, and their case numbers."""
        await self._pending.flush()
        rows = await self._conn.fetch(
            "SELECT appeal_id FROM cases WHERE appeal_id = ANY ($1::uuid[]) "
            "UNION SELECT appeal_id FROM case_appeals WHERE appeal_id = ANY ($1::uuid[])",
            list(appeal_ids))
        self._pending.registered_appeals |= {r["appeal_id"] for r in rows}
        self._pending.preloaded_appeals |= set(appeal_ids)
        numbers = await self._conn.fetch(
            "SELECT nextval('case_number_seq') AS n FROM generate_series(1, $1)",
            len(appeal_ids))
        self._pending.case_numbers.extend(int(r["n"]) for r in numbers)

    async def next_case_number(self, at: datetime) -> str:
        if self._pending.case_numbers:
            seq = self._pending.case_numbers.popleft()
        else:
            seq = int(await self._conn.fetchval("SELECT nextval('case_number_seq')"))
        return f"{at:%Y%m%d}{seq:08d}"

    async def exists_for_appeal(self, appeal_id: uuid.UUID) -> bool:
        """Registered from this appeal, or the appeal was merged into a case."""
        if appeal_id in self._pending.preloaded_appeals:
            return (appeal_id in self._pending.registered_appeals
                    or appeal_id in self._pending.appeals)
        await self._pending.flush()
        return bool(await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM cases WHERE appeal_id = $1) "
            "OR EXISTS (SELECT 1 FROM case_appeals WHERE appeal_id = $1)", appeal_id))

    async def add(self, case: Case) -> None:
        """Written when the unit of work flushes (see PendingWrites)."""
        self._pending.add(case)

    async def save(self, case: Case) -> None:
        if self._pending.holds(case.case_id):
            return  # inserted with its final state at the flush
        await self._pending.flush()
        sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(_MUTABLE, start=2))
        await self._conn.execute(
            f"UPDATE cases SET {sets}, version = version + 1, updated_at = now() "  # noqa: S608
            "WHERE case_id = $1",
            case.case_id, *_mutable_values(case),
        )
        await self._append_transitions(case)

    async def _append_transitions(self, case: Case) -> None:
        rows = _transition_rows(case)
        if rows:
            await self._conn.executemany(_INSERT_TRANSITION, rows)

    async def get(self, case_id: uuid.UUID, *, lock: bool = False,
                  skip_locked: bool = False) -> Case | None:
        """The case; ``lock`` takes its row until the transaction ends. With
        ``skip_locked`` a row another transaction holds reads as None (see ``exists``)."""
        # Only this case's own pending rows matter to this read: merging a repeat report
        # into an older case must not cut the batch's buffered writes short.
        if self._pending.holds(case_id):
            await self._pending.flush()
        if lock:
            # Lock first, then read in a new statement: a row read with FOR UPDATE after
            # waiting for another writer comes back new, but a subquery in the same
            # statement (the transition count) would still see the old snapshot.
            locked = await self._conn.fetchval(
                _LOCK_SKIPPING if skip_locked else _LOCK, case_id)
            if not locked:
                return None
        row = await self._conn.fetchrow(f"{_SELECT} WHERE c.case_id = $1", case_id)
        return case_from_row(row) if row is not None else None

    async def exists(self, case_id: uuid.UUID) -> bool:
        if self._pending.holds(case_id):
            return True
        return bool(await self._conn.fetchval(
            "SELECT true FROM cases WHERE case_id = $1", case_id))

    async def case_id_for_appeal(self, appeal_id: uuid.UUID) -> uuid.UUID | None:
        await self._pending.flush()
        found: uuid.UUID | None = await self._conn.fetchval(
            "SELECT case_id FROM case_appeals WHERE appeal_id = $1", appeal_id)
        if found is None:
            found = await self._conn.fetchval(
                "SELECT case_id FROM cases WHERE appeal_id = $1", appeal_id)
        return found

    async def add_merged_appeal(self, case_id: uuid.UUID, appeal_id: uuid.UUID,
                                channel: Channel, received_at: datetime, at: datetime) -> None:
        if self._pending.holds(case_id):
            await self._pending.flush()
        await self._conn.execute(
            "INSERT INTO case_appeals (appeal_id, case_id, channel, received_at, merged_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            appeal_id, case_id, channel.value, received_at, at,
        )

    async def merged_appeals(self, case_id: uuid.UUID) -> list[uuid.UUID]:
        await self._pending.flush()
        rows = await self._conn.fetch(
            "SELECT appeal_id FROM case_appeals WHERE case_id = $1 AND merged_at IS NOT NULL "
            "ORDER BY merged_at", case_id)
        return [r["appeal_id"] for r in rows]

    async def transitions(self, case_id: uuid.UUID) -> list[TransitionRow]:
        await self._pending.flush()
        rows = await self._conn.fetch(
            "SELECT seq, from_state, to_state, at, reason, actor FROM case_transitions "
            "WHERE case_id = $1 ORDER BY seq", case_id)
        return [TransitionRow(r["seq"], r["from_state"], r["to_state"], r["at"], r["reason"],
                              r["actor"]) for r in rows]

    async def for_unit(self, unit_id: str, states: Sequence[CaseState] | None, open_only: bool,
                       limit: int, offset: int) -> Page:
        """Cases a unit leads or co-operates on, newest assignment first."""
        await self._pending.flush()
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
        await self._pending.flush()
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
    def __init__(self, conn: Conn, pending: PendingWrites) -> None:
        self._conn = conn
        self._pending = pending

    async def schedule(self, case_id: uuid.UUID, kind: DeadlineKind, unit_id: str | None,
                       due_at: datetime, warn_at: datetime | None, next_at: datetime) -> None:
        row = (case_id, kind.value, unit_id, due_at, warn_at, next_at)
        if self._pending.holds(case_id):
            self._pending.deadlines.setdefault(case_id, []).append(row)
            return
        await self._pending.flush()
        await self._conn.execute(_INSERT_DEADLINE, *row)

    async def cancel(self, case_id: uuid.UUID, kinds: Sequence[DeadlineKind] | None = None,
                     unit_id: str | None = None) -> int:
        """Retire a case's active deadlines (all, or of these kinds / this unit)."""
        if self._pending.holds(case_id):  # a new case: its deadlines are all still here
            values = None if kinds is None else {k.value for k in kinds}
            rows = self._pending.deadlines.get(case_id, [])
            kept = [r for r in rows if not ((values is None or r[1] in values)
                                            and (unit_id is None or r[2] == unit_id))]
            self._pending.deadlines[case_id] = kept
            return len(rows) - len(kept)
        await self._pending.flush()
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
        await self._pending.flush()
        rows = await self._conn.fetch(
            "SELECT * FROM deadlines WHERE next_at IS NOT NULL AND next_at <= $1 "
            "ORDER BY next_at LIMIT $2 FOR UPDATE SKIP LOCKED", now, limit)
        return [_deadline(r) for r in rows]

    async def claim_one(self, deadline_id: int, now: datetime) -> Deadline | None:
        await self._pending.flush()
        row = await self._conn.fetchrow(
            "SELECT * FROM deadlines WHERE deadline_id = $1 AND next_at IS NOT NULL "
            "AND next_at <= $2 FOR UPDATE SKIP LOCKED", deadline_id, now)
        return _deadline(row) if row is not None else None

    async def postpone(self, deadline_id: int, until: datetime) -> None:
        """Look at a deadline that failed again later (it is never dropped)."""
        await self._pending.flush()
        await self._conn.execute(
            "UPDATE deadlines SET next_at = $2, updated_at = now() "
            "WHERE deadline_id = $1 AND next_at IS NOT NULL", deadline_id, until)

    async def move(self, deadline_id: int, stage: Stage, next_at: datetime | None) -> None:
        await self._pending.flush()
        await self._conn.execute(
            "UPDATE deadlines SET stage = $2, next_at = $3, updated_at = now() "
            "WHERE deadline_id = $1", deadline_id, stage.value, next_at)

    async def active(self, case_id: uuid.UUID) -> list[Deadline]:
        await self._pending.flush()
        rows = await self._conn.fetch(
            "SELECT * FROM deadlines WHERE case_id = $1 AND next_at IS NOT NULL "
            "ORDER BY due_at", case_id)
        return [_deadline(r) for r in rows]


class SummonsRepository:
    """County departments summoned to a case (吹哨报到)."""

    def __init__(self, conn: Conn, pending: PendingWrites) -> None:
        self._conn = conn
        self._pending = pending

    async def add(self, case_id: uuid.UUID, unit_id: str, at: datetime,
                  respond_due: datetime) -> None:
        await self._pending.flush()
        await self._conn.execute(
            "INSERT INTO case_summons (case_id, unit_id, summoned_at, respond_due) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (case_id, unit_id) DO UPDATE SET "
            "summoned_at = EXCLUDED.summoned_at, respond_due = EXCLUDED.respond_due, "
            "responded_at = NULL", case_id, unit_id, at, respond_due)

    async def pending(self, case_id: uuid.UUID, unit_id: str) -> bool:
        await self._pending.flush()
        return bool(await self._conn.fetchval(
            "SELECT true FROM case_summons WHERE case_id = $1 AND unit_id = $2 "
            "AND responded_at IS NULL", case_id, unit_id))

    async def is_summoned(self, case_id: uuid.UUID, unit_id: str) -> bool:
        await self._pending.flush()
        return bool(await self._conn.fetchval(
            "SELECT true FROM case_summons WHERE case_id = $1 AND unit_id = $2",
            case_id, unit_id))

    async def respond(self, case_id: uuid.UUID, unit_id: str, at: datetime
                      ) -> datetime | None:
        """Record the department's report; its deadline, or None if it had reported."""
        await self._pending.flush()
        due: datetime | None = await self._conn.fetchval(
            "UPDATE case_summons SET responded_at = $3 WHERE case_id = $1 AND unit_id = $2 "
            "AND responded_at IS NULL RETURNING respond_due", case_id, unit_id, at)
        return due


class ResponseLog:
    """Unit responses already applied, by the department's response id."""

    def __init__(self, conn: Conn, pending: PendingWrites) -> None:
        self._conn = conn
        self._pending = pending

    async def record(self, response_id: uuid.UUID, case_id: uuid.UUID, unit_id: str,
                     action: str) -> bool:
        """True the first time a response id is seen."""
        await self._pending.flush()
        row = await self._conn.fetchval(
            "INSERT INTO unit_responses (response_id, case_id, unit_id, action) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
            response_id, case_id, unit_id, action)
        return bool(row)
