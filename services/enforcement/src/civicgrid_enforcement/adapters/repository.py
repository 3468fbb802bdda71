"""Enforcement cases, their records, disclosures and inspections in PostgreSQL
(schema ``enforcement``), with raw SQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
from civicgrid_shared.db.pool import Conn

from civicgrid_enforcement.domain import chain
from civicgrid_enforcement.domain.case import (
    AWAITING_DECISION,
    CaseState,
    EnforcementCase,
    Review,
    Source,
)
from civicgrid_enforcement.domain.discretion import Decision, DecisionKind, PartyType, Procedure
from civicgrid_enforcement.domain.inspection import (
    Confirmation,
    InspectionState,
    JointInspection,
)
from civicgrid_enforcement.reference.catalog import Measure, Severity


def _iso(at: datetime) -> str:
    return at.isoformat()


def decision_to_json(d: Decision) -> dict[str, Any]:
    return {"kind": d.kind.value, "procedure": d.procedure.value,
            "party_type": d.party_type.value,
            "severity": d.severity.value if d.severity else None, "fine_yuan": d.fine_yuan,
            "measures": [m.value for m in d.measures], "first_offence": d.first_offence,
            "corrected": d.corrected}


def decision_from_json(raw: dict[str, Any]) -> Decision:
    return Decision(
        kind=DecisionKind(raw["kind"]), procedure=Procedure(raw["procedure"]),
        party_type=PartyType(raw["party_type"]),
        severity=Severity(raw["severity"]) if raw.get("severity") else None,
        fine_yuan=int(raw["fine_yuan"]), measures=tuple(Measure(m) for m in raw["measures"]),
        first_offence=bool(raw["first_offence"]), corrected=bool(raw["corrected"]),
    )


def _review_to_json(r: Review | None) -> str | None:
    if r is None:
        return None
    return json.dumps({
        "proposal": decision_to_json(r.proposal), "requested_by": r.requested_by,
        "requested_at": _iso(r.requested_at), "reviewer": r.reviewer, "approved": r.approved,
        "opinion": r.opinion,
        "reviewed_at": _iso(r.reviewed_at) if r.reviewed_at else None,
    })


def _review_from_json(raw: str | None) -> Review | None:
    if raw is None:
        return None
    r = json.loads(raw)
    return Review(
        proposal=decision_from_json(r["proposal"]), requested_by=r["requested_by"],
        requested_at=datetime.fromisoformat(r["requested_at"]), reviewer=r["reviewer"],
        approved=r["approved"], opinion=r["opinion"],
        reviewed_at=datetime.fromisoformat(r["reviewed_at"]) if r["reviewed_at"] else None,
    )


def _to_case(row: asyncpg.Record) -> EnforcementCase:
    return EnforcementCase(
        case_id=row["case_id"], source=Source(row["source"]),
        team_unit_id=row["team_unit_id"], township_code=row["township_code"],
        created_at=row["created_at"], grid_code=row["grid_code"],
        matter_code=row["matter_code"], violation_code=row["violation_code"],
        dispatch_case_id=row["dispatch_case_id"], inspection_id=row["inspection_id"],
        state=CaseState(row["state"]), case_number=row["case_number"],
        filed_at=row["filed_at"], decision_due=row["decision_due"],
        not_filed_reason=row["not_filed_reason"], review=_review_from_json(row["review"]),
        decision=decision_from_json(json.loads(row["decision"])) if row["decision"] else None,
        decided_at=row["decided_at"], closed_at=row["closed_at"],
    )


@dataclass(frozen=True)
class Party:
    party_type: PartyType
    name: str
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None

    def digest(self) -> str:
        """A reference for the chain: proves the party data unchanged, reveals nothing."""
        return chain.digest({"party_type": self.party_type.value, "name": self.name,
                             "id_number": self.id_number, "phone": self.phone,
                             "address": self.address})


@dataclass(frozen=True)
class CaseRow:
    """A case with its read-side extras."""

    case: EnforcementCase
    description: str | None
    decision_warned_at: datetime | None
    decision_overdue_at: datetime | None


class CaseRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def next_case_number(self, at: datetime) -> str:
        seq = await self._conn.fetchval("SELECT nextval('case_number_seq')")
        return f"ZF{at:%Y%m%d}{int(seq):06d}"

    async def add(self, case: EnforcementCase, description: str | None) -> bool:
        """Insert a lead; False when its dispatch case already has one (nothing written)."""
        inserted = await self._conn.fetchval(
            """
            INSERT INTO cases (case_id, source, team_unit_id, township_code, grid_code,
                matter_code, violation_code, dispatch_case_id, inspection_id, description,
                state, created_at)
            VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
            ON CONFLICT (dispatch_case_id) WHERE dispatch_case_id IS NOT NULL DO NOTHING
            RETURNING true
            """,
            case.case_id, case.source.value, case.team_unit_id, case.township_code,
            case.grid_code, case.matter_code, case.violation_code, case.dispatch_case_id,
            case.inspection_id, description, case.state.value, case.created_at,
        )
        return bool(inserted)

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False) -> CaseRow | None:
        sql = ("SELECT * FROM cases WHERE case_id = $1 FOR UPDATE" if for_update
               else "SELECT * FROM cases WHERE case_id = $1")
        row = await self._conn.fetchrow(sql, case_id)
        if row is None:
            return None
        return CaseRow(_to_case(row), row["description"], row["decision_warned_at"],
                       row["decision_overdue_at"])

    async def save(self, case: EnforcementCase) -> None:
        await self._conn.execute(
            """
            UPDATE cases SET state = $2, violation_code = $3, case_number = $4,
                filed_at = $5, decision_due = $6, not_filed_reason = $7,
                review = $8::jsonb, decision = $9::jsonb, decided_at = $10, closed_at = $11
            WHERE case_id = $1
            """,
            case.case_id, case.state.value, case.violation_code, case.case_number,
            case.filed_at, case.decision_due, case.not_filed_reason,
            _review_to_json(case.review),
            json.dumps(decision_to_json(case.decision)) if case.decision else None,
            case.decided_at, case.closed_at,
        )

    async def list_for_team(self, team_unit_id: str, *, state: str | None, overdue: bool,
                            now: datetime, limit: int, offset: int) -> list[CaseRow]:
        rows = await self._conn.fetch(
            """
            SELECT * FROM cases
            WHERE team_unit_id = $1
              AND ($2::text IS NULL OR state = $2)
              AND (NOT $3 OR (state = ANY($4::text[]) AND decision_due < $5))
            ORDER BY created_at DESC, case_id
            LIMIT $6 OFFSET $7
            """,
            team_unit_id, state, overdue, [s.value for s in AWAITING_DECISION], now,
            limit, offset,
        )
        return [CaseRow(_to_case(r), r["description"], r["decision_warned_at"],
                        r["decision_overdue_at"]) for r in rows]

    # -- parties --------------------------------------------------------------------
    async def set_party(self, case_id: uuid.UUID, party: Party) -> None:
        await self._conn.execute(
            """
            INSERT INTO case_parties (case_id, party_type, name, id_number, phone, address)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (case_id) DO UPDATE SET party_type = EXCLUDED.party_type,
                name = EXCLUDED.name, id_number = EXCLUDED.id_number,
                phone = EXCLUDED.phone, address = EXCLUDED.address
            """,
            case_id, party.party_type.value, party.name, party.id_number, party.phone,
            party.address,
        )

    async def party(self, case_id: uuid.UUID) -> Party | None:
        row = await self._conn.fetchrow("SELECT * FROM case_parties WHERE case_id = $1",
                                        case_id)
        if row is None:
            return None
        return Party(PartyType(row["party_type"]), row["name"], row["id_number"],
                     row["phone"], row["address"])

    # -- the 90-day limit -------------------------------------------------------------
    async def due_for_warning(self, warn_before: datetime, limit: int) -> list[EnforcementCase]:
        """Cases awaiting a decision, filed before ``warn_before``, not warned yet."""
        rows = await self._conn.fetch(
            """
            SELECT * FROM cases
            WHERE state = ANY($1::text[]) AND filed_at <= $2 AND decision_warned_at IS NULL
            ORDER BY filed_at LIMIT $3 FOR UPDATE SKIP LOCKED
            """,
            [s.value for s in AWAITING_DECISION], warn_before, limit,
        )
        return [_to_case(r) for r in rows]

    async def mark_warned(self, case_id: uuid.UUID, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE cases SET decision_warned_at = $2 WHERE case_id = $1", case_id, at)

    async def due_for_overdue(self, now: datetime, limit: int) -> list[EnforcementCase]:
        rows = await self._conn.fetch(
            """
            SELECT * FROM cases
            WHERE state = ANY($1::text[]) AND decision_due < $2
              AND decision_overdue_at IS NULL
            ORDER BY decision_due LIMIT $3 FOR UPDATE SKIP LOCKED
            """,
            [s.value for s in AWAITING_DECISION], now, limit,
        )
        return [_to_case(r) for r in rows]

    async def mark_overdue(self, case_id: uuid.UUID, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE cases SET decision_overdue_at = $2 WHERE case_id = $1", case_id, at)

    async def count_overdue(self, now: datetime) -> int:
        return int(await self._conn.fetchval(
            "SELECT count(*) FROM cases WHERE state = ANY($1::text[]) AND decision_due < $2",
            [s.value for s in AWAITING_DECISION], now))


class RecordRepository:
    """The append-only hash chain of each case (the table refuses UPDATE and DELETE)."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def last(self, case_id: uuid.UUID) -> chain.ChainRecord | None:
        row = await self._conn.fetchrow(
            "SELECT seq, prev_hash, hash, record FROM case_records WHERE case_id = $1 "
            "ORDER BY seq DESC LIMIT 1", case_id)
        return _to_record(row) if row else None

    async def append(self, case_id: uuid.UUID, kind: str, at: datetime, actor: str,
                     data: dict[str, Any]) -> chain.ChainRecord:
        """Append one record. The caller holds the case row lock (no forks)."""
        prev = await self.last(case_id)
        rec = chain.make_record(prev, kind, _iso(at), actor, data)
        await self._conn.execute(
            "INSERT INTO case_records (case_id, seq, kind, recorded_at, prev_hash, hash, "
            "record) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
            case_id, rec.seq, kind, at, rec.prev_hash, rec.hash, json.dumps(rec.record),
        )
        return rec

    async def all(self, case_id: uuid.UUID) -> list[chain.ChainRecord]:
        rows = await self._conn.fetch(
            "SELECT seq, prev_hash, hash, record FROM case_records WHERE case_id = $1 "
            "ORDER BY seq", case_id)
        return [_to_record(r) for r in rows]


def _to_record(row: asyncpg.Record) -> chain.ChainRecord:
    return chain.ChainRecord(row["seq"], row["prev_hash"], row["hash"],
                             json.loads(row["record"]))


@dataclass(frozen=True)
class PendingDisclosure:
    case_id: uuid.UUID
    team_unit_id: str
    due: datetime


class DisclosureRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def schedule(self, case_id: uuid.UUID, team_unit_id: str, decided_at: datetime,
                       due: datetime) -> None:
        await self._conn.execute(
            "INSERT INTO disclosures (case_id, team_unit_id, decided_at, due) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (case_id) DO NOTHING",
            case_id, team_unit_id, decided_at, due)

    async def get(self, case_id: uuid.UUID) -> asyncpg.Record | None:
        return await self._conn.fetchrow(
            "SELECT * FROM disclosures WHERE case_id = $1 FOR UPDATE", case_id)

    async def publish(self, case_id: uuid.UUID, disclosure_id: uuid.UUID,
                      content: dict[str, Any], at: datetime, on_time: bool) -> None:
        await self._conn.execute(
            "UPDATE disclosures SET disclosure_id = $2, content = $3::jsonb, "
            "disclosed_at = $4, on_time = $5 WHERE case_id = $1",
            case_id, disclosure_id, json.dumps(content), at, on_time)

    async def published(self, *, team_unit_id: str | None, since: date | None,
                        limit: int, offset: int) -> list[dict[str, Any]]:
        rows = await self._conn.fetch(
            """
            SELECT content FROM disclosures
            WHERE disclosed_at IS NOT NULL
              AND ($1::text IS NULL OR team_unit_id = $1)
              AND ($2::date IS NULL OR disclosed_at >= $2::date)
            ORDER BY disclosed_at DESC, case_id LIMIT $3 OFFSET $4
            """,
            team_unit_id, since, limit, offset)
        return [json.loads(r["content"]) for r in rows]

    async def overdue_unflagged(self, now: datetime, limit: int) -> list[PendingDisclosure]:
        rows = await self._conn.fetch(
            """
            SELECT case_id, team_unit_id, due FROM disclosures
            WHERE disclosed_at IS NULL AND overdue_flagged_at IS NULL AND due < $1
            ORDER BY due LIMIT $2 FOR UPDATE SKIP LOCKED
            """, now, limit)
        return [PendingDisclosure(r["case_id"], r["team_unit_id"], r["due"]) for r in rows]

    async def flag_overdue(self, case_id: uuid.UUID, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE disclosures SET overdue_flagged_at = $2 WHERE case_id = $1", case_id, at)

    async def count_overdue(self, now: datetime) -> int:
        return int(await self._conn.fetchval(
            "SELECT count(*) FROM disclosures WHERE disclosed_at IS NULL AND due < $1", now))


def _to_inspection(row: asyncpg.Record) -> JointInspection:
    checklists = {k: tuple(v) for k, v in json.loads(row["checklists"]).items()}
    confirmations = {
        k: Confirmation(k, c["unit_id"], c["officer_id"], datetime.fromisoformat(c["at"]))
        for k, c in json.loads(row["confirmations"]).items()
    }
    return JointInspection(
        inspection_id=row["inspection_id"], team_unit_id=row["team_unit_id"],
        township_code=row["township_code"], grid_code=row["grid_code"],
        business_ref=row["business_ref"], planned_for=row["planned_for"],
        checklists=checklists, created_at=row["created_at"],
        state=InspectionState(row["state"]), confirmations=confirmations,
        performed_at=row["performed_at"],
        violations_found=tuple(json.loads(row["violations_found"])),
    )


@dataclass(frozen=True)
class InspectionSummary:
    joint_visits: int
    departments_combined: int
    inspections_saved: int


class InspectionRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def add(self, insp: JointInspection) -> None:
        await self._conn.execute(
            """
            INSERT INTO inspections (inspection_id, team_unit_id, township_code, grid_code,
                business_ref, planned_for, checklists, state, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
            """,
            insp.inspection_id, insp.team_unit_id, insp.township_code, insp.grid_code,
            insp.business_ref, insp.planned_for,
            json.dumps({k: list(v) for k, v in insp.checklists.items()}), insp.state.value,
            insp.created_at)

    async def get(self, inspection_id: uuid.UUID, *, for_update: bool = False
                  ) -> JointInspection | None:
        sql = ("SELECT * FROM inspections WHERE inspection_id = $1 FOR UPDATE" if for_update
               else "SELECT * FROM inspections WHERE inspection_id = $1")
        row = await self._conn.fetchrow(sql, inspection_id)
        return _to_inspection(row) if row else None

    async def case_ids(self, inspection_id: uuid.UUID) -> list[uuid.UUID]:
        raw = await self._conn.fetchval(
            "SELECT case_ids FROM inspections WHERE inspection_id = $1", inspection_id)
        return [uuid.UUID(x) for x in json.loads(raw)] if raw else []

    async def save(self, insp: JointInspection, case_ids: Sequence[uuid.UUID] = ()) -> None:
        confirmations = {k: {"unit_id": c.unit_id, "officer_id": c.officer_id,
                             "at": _iso(c.at)} for k, c in insp.confirmations.items()}
        await self._conn.execute(
            """
            UPDATE inspections SET state = $2, confirmations = $3::jsonb, performed_at = $4,
                violations_found = $5::jsonb,
                case_ids = CASE WHEN $6::jsonb = '[]'::jsonb THEN case_ids ELSE $6::jsonb END
            WHERE inspection_id = $1
            """,
            insp.inspection_id, insp.state.value, json.dumps(confirmations),
            insp.performed_at, json.dumps(list(insp.violations_found)),
            json.dumps([str(c) for c in case_ids]))

    async def list_for_team(self, team_unit_id: str, limit: int, offset: int
                            ) -> list[JointInspection]:
        rows = await self._conn.fetch(
            "SELECT * FROM inspections WHERE team_unit_id = $1 "
            "ORDER BY created_at DESC LIMIT $2 OFFSET $3", team_unit_id, limit, offset)
        return [_to_inspection(r) for r in rows]

    async def list_for_department(self, department_kind: str, county_code: str,
                                  limit: int, offset: int) -> list[JointInspection]:
        rows = await self._conn.fetch(
            "SELECT * FROM inspections WHERE checklists ? $1 AND township_code LIKE $2 "
            "ORDER BY created_at DESC LIMIT $3 OFFSET $4",
            department_kind, county_code + "%", limit, offset)
        return [_to_inspection(r) for r in rows]

    async def summary(self, team_unit_id: str) -> InspectionSummary:
        row = await self._conn.fetchrow(
            """
            SELECT count(*) AS visits,
                   coalesce(sum((SELECT count(*) FROM jsonb_object_keys(checklists))), 0)
                       AS departments
            FROM inspections WHERE team_unit_id = $1 AND state = 'completed'
            """, team_unit_id)
        assert row is not None
        visits, departments = int(row["visits"]), int(row["departments"])
        return InspectionSummary(visits, departments, departments - visits)
