"""Process helpers: identify, signal and wait for processes and process groups.

Linux-first (uses ``/proc`` when present to tell a live process from a zombie and to
guard against pid reuse); degrades to plain ``os.kill(pid, 0)`` elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path


def proc_start_time(pid: int) -> int | None:
    """Kernel start time of ``pid`` in clock ticks since boot, or None if unknown.

    Recorded next to a pid in state files so that a later ``down`` never signals an
    unrelated process that happens to reuse the pid.
    """
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); starttime is field 22.
    return int(fields[19])


def _proc_state(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()[0]


def pid_alive(pid: int, start_time: int | None = None) -> bool:
    """True if ``pid`` is a live (non-zombie) process.

    When ``start_time`` is given (see :func:`proc_start_time`) the process must also
    have that start time, i.e. be the very process that was recorded.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    state = _proc_state(pid)
    if state is not None and state in ("Z", "X"):
        return False
    if start_time is not None:
        current = proc_start_time(pid)
        if current is not None and current != start_time:
            return False
    return True


def children_of(pid: int) -> list[int]:
    """All descendants of ``pid`` (Linux only; empty list elsewhere)."""
    parents: dict[int, list[int]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(raw[raw.rindex(")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group led by ``pid`` (falls back to the pid alone)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def group_alive(pgid: int) -> bool:
    """True if any process is left in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg(…, 0) also succeeds for zombies; check /proc when available.
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def is_zombie(pid: int) -> bool:
    """True if ``pid`` has exited but was not reaped by its parent yet."""
    return _proc_state(pid) in ("Z", "X")


def pid_exists(pid: int) -> bool:
    """True if ``pid`` is in the process table at all (zombies included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_gone(pids: Iterable[int], timeout: float, *, reaped: bool = False) -> bool:
    """Wait until none of ``pids`` is alive; True if that happened within ``timeout``.

    With ``reaped=True`` zombies count as present: wait until they left the table.
    """
    check = pid_exists if reaped else pid_alive
    pending = list(pids)
    deadline = time.monotonic() + timeout
    while True:
        pending = [p for p in pending if check(p)]
        if not pending:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def terminate_group(
    pid: int, timeout: float = 10.0, start_time: int | None = None
) -> bool:
    """SIGTERM the process group led by ``pid``, SIGKILL it after ``timeout`` seconds.

    Returns True if the group leader had to be SIGKILLed. Does nothing when the pid is
    gone or (given ``start_time``) now belongs to a different process.
    """
    if not pid_alive(pid, start_time):
        # The leader is gone but members of its group may linger. Linux never hands out
        # a pid still used as a process-group id, so when the pid is free, a group with
        # that id is still ours; when the pid exists (reused), leave it alone.
        if not pid_exists(pid) and group_alive(pid):
            signal_group(pid, signal.SIGKILL)
        return False
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid) and not group_alive(pid):
            return False
        time.sleep(0.05)
    signal_group(pid, signal.SIGKILL)
    wait_gone([pid], 5.0)
    return True


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file ('' if it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])
