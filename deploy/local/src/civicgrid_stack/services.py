"""One service process (``python -m <module>``) with its log file and readiness probe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from civicgrid_stack.errors import ServiceFailedError
from civicgrid_stack.procutil import group_alive, signal_group, tail

#: The four services of the platform: name -> importable module run with ``-m``.
SERVICE_MODULES: dict[str, str] = {
    "intake": "civicgrid_intake",
    "dispatch": "civicgrid_dispatch",
    "enforcement": "civicgrid_enforcement",
    "analytics": "civicgrid_analytics",
}


def service_modules(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """:data:`SERVICE_MODULES`, each overridable by ``CIVICGRID_<NAME>_MODULE``.

    (Lets a developer run a variant of one service, and tests run a stand-in.)
    """
    env = os.environ if environ is None else environ
    return {
        name: env.get(f"CIVICGRID_{name.upper()}_MODULE", "").strip() or module
        for name, module in SERVICE_MODULES.items()
    }


#: The simulated city (an optional extra process, not a service: no port, no /ready).
SIMULATOR_MODULE = "civicgrid_simulator"


def simulator_module(environ: Mapping[str, str] | None = None) -> str:
    """:data:`SIMULATOR_MODULE`, overridable by ``CIVICGRID_SIMULATOR_MODULE``."""
    env = os.environ if environ is None else environ
    return env.get("CIVICGRID_SIMULATOR_MODULE", "").strip() or SIMULATOR_MODULE


class ServiceProcess:
    """``sys.executable -m module [args]`` in its own process group, output appended to
    a log.

    ``env`` is merged over ``os.environ``. A service is expected to serve
    ``GET http://127.0.0.1:<port>/ready`` with 200 once it can do its work (the
    simulator, also run as a ServiceProcess, serves nothing and is never waited for).
    """

    def __init__(
        self,
        name: str,
        module: str,
        port: int,
        env: Mapping[str, str],
        log_path: Path,
        host: str = "127.0.0.1",
        args: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.module = module
        self.args = list(args)
        self.port = port
        self.env = dict(env)
        self.log_path = log_path
        self.host = host
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def returncode(self) -> int | None:
        """Exit code once the process has exited, else None."""
        return self._proc.poll() if self._proc is not None else None

    def start(self) -> None:
        """Spawn the process (a no-op while it runs)."""
        if self.is_running():
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting "
                      f"{sys.executable} -m {' '.join([self.module, *self.args])}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Poll ``/ready`` until 200; returns the seconds waited.

        Raises :class:`ServiceFailedError` (with the last 30 log lines) if the process
        exits or is not ready within ``timeout``.
        """
        proc = self._proc
        if proc is None:
            raise ServiceFailedError(f"{self.name} was not started")
        started = time.monotonic()
        deadline = started + timeout
        last = "no answer yet"
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                code = proc.poll()
                if code is not None:
                    raise ServiceFailedError(
                        f"{self.name} ({sys.executable} -m {self.module}) exited with code "
                        f"{code} before it was ready. Last lines of {self.log_path}:\n"
                        f"{tail(self.log_path, 30)}"
                    )
                try:
                    response = client.get(f"{self.base_url}/ready")
                    if response.status_code == 200:
                        return time.monotonic() - started
                    last = f"/ready answered {response.status_code}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}"
                if time.monotonic() >= deadline:
                    raise ServiceFailedError(
                        f"{self.name} not ready on {self.base_url}/ready after "
                        f"{timeout:.0f}s ({last}). Last lines of {self.log_path}:\n"
                        f"{tail(self.log_path, 30)}"
                    )
                time.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``timeout`` seconds."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if group_alive(proc.pid):  # grandchildren that outlived the leader
            signal_group(proc.pid, signal.SIGKILL)
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the whole process group (a crash, for fault tests)."""
        proc = self._proc
        if proc is None:
            return
        signal_group(proc.pid, signal.SIGKILL)
        proc.wait(5)
