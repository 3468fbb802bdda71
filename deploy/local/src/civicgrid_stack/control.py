"""Act on a recorded stack from any shell: ``status`` and ``down``."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from civicgrid_stack.errors import StackError
from civicgrid_stack.paths import RunLayout
from civicgrid_stack.ports import Ports, port_accepts
from civicgrid_stack.postgres import PostgresCluster
from civicgrid_stack.procutil import terminate_group, wait_gone
from civicgrid_stack.state import StackState, read_state, record_alive, remove_state

SUPERVISOR_GRACE = 60.0


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _postgres_of(run_dir: Path, state: StackState | None) -> PostgresCluster:
    layout = RunLayout(run_dir)
    pg = (state or {}).get("postgres") or {}
    port = int(pg.get("port") or (state or {}).get("ports", {}).get("postgres")
               or Ports.from_env().postgres)
    return PostgresCluster(Path(pg.get("data_dir") or layout.pg_data), port, echo=_stderr)


def stop_recorded(run_dir: Path, echo: Callable[[str], None] = _stderr) -> list[str]:
    """Stop everything recorded in ``<run_dir>/stack.json``; idempotent.

    Asks the supervisor to stop (SIGTERM) and waits for it, then stops whatever is
    still alive (services, broker: SIGTERM then SIGKILL; PostgreSQL: ``pg_ctl stop``),
    verifies nothing is left and removes the state file. Returns what it stopped.
    """
    layout = RunLayout(run_dir)
    state = read_state(layout.state_file)
    stopped: list[str] = []
    if state is not None:
        sup = state.get("supervisor")
        if sup is not None and sup["pid"] != os.getpid() and record_alive(sup):
            echo(f"asking the stack supervisor (pid {sup['pid']}) to stop ...")
            os.kill(sup["pid"], signal.SIGTERM)
            if not wait_gone([sup["pid"]], SUPERVISOR_GRACE):
                echo(f"supervisor pid {sup['pid']} did not stop in time: killing it")
                terminate_group(sup["pid"], 1.0, sup.get("start_time"))
            stopped.append(f"supervisor (pid {sup['pid']})")
        procs = {f"service {n}": r for n, r in (state.get("services") or {}).items()}
        if state.get("broker"):
            procs["broker"] = state["broker"]
        for what, rec in procs.items():
            if record_alive(rec):
                echo(f"stopping {what} (pid {rec['pid']}) ...")
                terminate_group(int(rec["pid"]), 10.0, rec.get("start_time"))
                stopped.append(what)
    pg = _postgres_of(run_dir, state)
    if pg.is_running():
        echo(f"stopping PostgreSQL ({pg.data_dir}) ...")
        pg.stop()
        stopped.append("PostgreSQL")
    leftovers = [what for what, rec in _recorded(state).items() if record_alive(rec)]
    if pg.is_running():
        leftovers.append("PostgreSQL")
    if leftovers:
        raise StackError(
            f"still running after down: {', '.join(leftovers)}; "
            f"check 'ps' and the logs in {layout.log_dir}"
        )
    remove_state(layout.state_file)
    return stopped


def _recorded(state: StackState | None) -> dict[str, dict[str, object]]:
    if not state:
        return {}
    out: dict[str, dict[str, object]] = {}
    if state.get("supervisor"):
        out["supervisor"] = dict(state["supervisor"])
    if state.get("broker"):
        out["broker"] = state["broker"]
    for name, rec in (state.get("services") or {}).items():
        out[f"service {name}"] = rec
    return out


@dataclass(frozen=True)
class Row:
    component: str
    pid: int | None
    address: str
    health: str  # ready | running | not ready | down


def stack_status(run_dir: Path) -> tuple[StackState | None, list[Row]]:
    """The recorded state and one row per component, probed live."""
    state = read_state(RunLayout(run_dir).state_file)
    rows: list[Row] = []
    pg = _postgres_of(run_dir, state)
    pg_pid = pg.postmaster_pid()
    rows.append(Row("postgres", pg_pid, pg.dsn(), "ready" if pg_pid and
                    port_accepts(pg.port) else "down"))
    if state is None:
        return None, rows
    broker = state.get("broker") or {}
    if broker:
        host, _, port = str(broker["bootstrap"]).rpartition(":")
        alive = record_alive(broker)
        rows.append(Row("broker", broker["pid"], str(broker["bootstrap"]),
                        "ready" if alive and port_accepts(int(port), host) else "down"))
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        for name, rec in (state.get("services") or {}).items():
            health = "down"
            if record_alive(rec):
                try:
                    ok = client.get(f"{rec['url']}/ready").status_code == 200
                    health = "ready" if ok else "not ready"
                except httpx.HTTPError:
                    health = "running, /ready unreachable"
            rows.append(Row(name, rec["pid"], str(rec["url"]), health))
    return state, rows
