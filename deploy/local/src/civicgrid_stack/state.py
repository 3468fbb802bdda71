"""The state file ``<run dir>/stack.json``: what a running stack consists of.

Written by the process that supervises the stack (``run``, or the daemon behind
``up``) as components come up, so ``status`` and ``down`` work from any shell and can
clean up even after the supervisor died.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TypedDict

from civicgrid_stack.procutil import pid_alive, proc_start_time


class ProcRecord(TypedDict):
    pid: int
    start_time: int | None


class StackState(TypedDict, total=False):
    status: str  # starting | ready | failed | stopping
    error: str
    supervisor: ProcRecord
    run_dir: str
    log_dir: str
    ports: dict[str, int]
    postgres: dict[str, Any]
    broker: dict[str, Any]
    services: dict[str, dict[str, Any]]


def record(pid: int) -> ProcRecord:
    """A pid plus its kernel start time (guards against pid reuse)."""
    return {"pid": pid, "start_time": proc_start_time(pid)}


def record_alive(rec: ProcRecord | dict[str, Any] | None) -> bool:
    if not rec or not rec.get("pid"):
        return False
    start_time = rec.get("start_time")
    return bool(pid_alive(int(rec["pid"]), None if start_time is None else int(start_time)))


def read_state(path: Path) -> StackState | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None  # type: ignore[return-value]


def write_state(path: Path, state: StackState) -> None:
    """Atomically replace the state file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def remove_state(path: Path) -> None:
    path.unlink(missing_ok=True)
