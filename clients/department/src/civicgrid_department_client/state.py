"""The department's own state, in SQLite: its tasks and the events it has handled.

A department system must keep its own record: the platform redelivers events after
failures and restarts, and the inbox table (``handled``) is what makes that harmless.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    case_id      TEXT PRIMARY KEY,
    case_number  TEXT,
    matter_code  TEXT,
    state        TEXT NOT NULL,      -- received | signed_for | resolved | returned
    resolve_due  TEXT,
    updated_at   TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS handled (event_id TEXT PRIMARY KEY);
"""


@dataclass(frozen=True)
class Task:
    case_id: uuid.UUID
    case_number: str | None
    matter_code: str | None
    state: str
    resolve_due: str | None


class DepartmentState:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def first_time(self, event_id: uuid.UUID) -> bool:
        """Record an event as handled; False if it was handled before (a redelivery)."""
        try:
            self._db.execute("INSERT INTO handled (event_id) VALUES (?)", (str(event_id),))
        except sqlite3.IntegrityError:
            return False
        return True

    def upsert(self, task: Task) -> None:
        self._db.execute(
            """INSERT INTO tasks (case_id, case_number, matter_code, state, resolve_due)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (case_id) DO UPDATE SET state = excluded.state,
                   resolve_due = coalesce(excluded.resolve_due, tasks.resolve_due),
                   updated_at = datetime('now')""",
            (str(task.case_id), task.case_number, task.matter_code, task.state, task.resolve_due),
        )

    def set_state(self, case_id: uuid.UUID, state: str) -> None:
        self._db.execute("UPDATE tasks SET state = ?, updated_at = datetime('now') "
                         "WHERE case_id = ?", (state, str(case_id)))

    def commit(self) -> None:
        self._db.commit()

    def rollback(self) -> None:
        self._db.rollback()

    def tasks(self, state: str | None = None) -> list[Task]:
        sql = "SELECT case_id, case_number, matter_code, state, resolve_due FROM tasks"
        rows = (self._db.execute(sql + " WHERE state = ?", (state,)) if state
                else self._db.execute(sql)).fetchall()
        return [Task(uuid.UUID(r[0]), r[1], r[2], r[3], r[4]) for r in rows]
